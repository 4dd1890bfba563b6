package account

import (
	"context"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
)

// maxPasswordChangeFailures bounds the wrong current passwords of one
// signed-in user per LoginWindow.
const maxPasswordChangeFailures = 5

// maxIPLen bounds the client IP kept in counter keys and known places (an
// IPv6 address with a zone fits; the gateway sends no more).
const maxIPLen = 64

// attempt is one sign-in attempt as the throttle sees it.
type attempt struct {
	email string
	ip    string // may be empty (a caller that sent none)
	known bool   // ip signed in to email recently
}

func (a attempt) pairKey() string { return "pair:" + a.ip + "|" + a.email }
func (a attempt) ipKey() string   { return "ip:" + a.ip }
func (a attempt) acctKey() string { return "acct:" + a.email }

// failureKeys are the counters a failure of this attempt adds to: always
// its pair; its IP when it has one; the account when the IP is not known
// to it (a known IP's failures are its own business, not the account's).
func (a attempt) failureKeys() []string {
	keys := []string{a.pairKey()}
	if a.ip != "" {
		keys = append(keys, a.ipKey())
	}
	if !a.known {
		keys = append(keys, a.acctKey())
	}
	return keys
}

// loginThrottle refuses an attempt that must wait (resource_exhausted
// with retry_after) and returns it otherwise. The pair of (account, IP) is
// slowed after LoginFreeFailures failures; an IP not known to the account
// also waits out the window past LoginIPFailures failures of the IP or
// LoginAccountFailures failures of the account from unknown IPs. A known
// IP is throttled by its pair only: no one elsewhere can lock its owner
// out. The answer is the same whether the account exists or not.
func (c *Core) loginThrottle(ctx context.Context, email, ip string, now time.Time) (attempt, error) {
	if len(ip) > maxIPLen {
		ip = ip[:maxIPLen]
	}
	a := attempt{email: email, ip: ip}
	known, err := c.store.KnownLogin(ctx, email, ip, now)
	if err != nil {
		return attempt{}, err
	}
	a.known = known
	if err := c.checkDelay(ctx, a.pairKey(), now); err != nil {
		return attempt{}, err
	}
	if a.known {
		return a, nil
	}
	if ip != "" {
		if err := c.checkLimit(ctx, a.ipKey(), c.cfg.LoginIPFailures, now); err != nil {
			return attempt{}, err
		}
	}
	if err := c.checkLimit(ctx, a.acctKey(), c.cfg.LoginAccountFailures, now); err != nil {
		return attempt{}, err
	}
	return a, nil
}

// loginSucceeded forgets the pair's failures and makes the IP known to the
// account for LoginKnownFor. The IP's and the account's counters stay:
// one success does not excuse another IP's or another account's failures.
func (c *Core) loginSucceeded(ctx context.Context, a attempt, now time.Time) {
	if err := c.store.ClearLoginFailures(ctx, a.pairKey()); err != nil {
		c.log.Warn("clear login failures", "err", err)
	}
	if err := c.store.RememberLogin(ctx, a.email, a.ip, now.Add(c.cfg.LoginKnownFor)); err != nil {
		c.log.Warn("remember sign-in place", "err", err)
	}
}

// pairDelay is the wait after the n-th failure of a pair: none up to
// LoginFreeFailures, then LoginDelay doubling with each failure, at most
// LoginMaxDelay.
func (c *Core) pairDelay(n int) time.Duration {
	if n < c.cfg.LoginFreeFailures {
		return 0
	}
	d := c.cfg.LoginDelay
	for i := c.cfg.LoginFreeFailures; i < n && d < c.cfg.LoginMaxDelay; i++ {
		d *= 2
	}
	return min(d, c.cfg.LoginMaxDelay)
}

// checkDelay refuses an attempt of the pair key before its wait since its
// latest failure is over (or its window, which forgets the failures).
func (c *Core) checkDelay(ctx context.Context, key string, now time.Time) error {
	f, err := c.store.LoginFailures(ctx, key, c.cfg.LoginWindow, now)
	if err != nil {
		return err
	}
	d := c.pairDelay(f.Count)
	if d == 0 {
		return nil
	}
	until := f.Last.Add(d)
	if end := f.Since.Add(c.cfg.LoginWindow); end.Before(until) {
		until = end
	}
	if !now.Before(until) {
		return nil
	}
	return tooManyFailures(until.Sub(now))
}

// checkLimit refuses an attempt while key has limit failures or more in
// its window.
func (c *Core) checkLimit(ctx context.Context, key string, limit int, now time.Time) error {
	f, err := c.store.LoginFailures(ctx, key, c.cfg.LoginWindow, now)
	if err != nil {
		return err
	}
	if f.Count < limit {
		return nil
	}
	return tooManyFailures(f.Since.Add(c.cfg.LoginWindow).Sub(now))
}

// tooManyFailures is the throttle's answer, with the wait rounded up to
// whole seconds (at least 1): the gateway turns it into 429 with
// Retry-After.
func tooManyFailures(wait time.Duration) error {
	retry := int64((wait + time.Second - 1) / time.Second)
	if retry < 1 {
		retry = 1
	}
	return contracts.Errorf(contracts.CodeResourceExhausted, "too many failed sign-in attempts; try again in %d seconds", retry).
		WithDetail("retry_after", retry)
}
