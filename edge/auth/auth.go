// Package auth verifies access tokens at the edge. Tokens are checked
// locally (services/user/token: Ed25519 JWTs, EdDSA only) against the user
// service's public key set, which is fetched through a Fetcher (the gateway
// passes one calling user.jwks), cached, refreshed periodically, and
// refetched when a token names an unknown key id — at most once per
// RefetchInterval, with concurrent misses sharing one fetch, so forged key
// ids cannot make the gateway hammer the user service.
//
// Verified tokens are remembered (bounded, until their expiry) so a
// signed-in client's repeated requests cost a map lookup, not an Ed25519
// verification and two JSON decodes.
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/services/user/token"
)

// Fetcher returns the current JWKS document (contracts.JWKS as JSON).
type Fetcher func(ctx context.Context) ([]byte, error)

// Config tunes a Verifier.
type Config struct {
	// RefetchInterval is the least time between two fetches caused by
	// unknown key ids.
	RefetchInterval time.Duration
	// RefreshInterval is the period of the background refresh (Run).
	RefreshInterval time.Duration
	// Leeway tolerates clock skew on exp/iat.
	Leeway time.Duration
	// MaxRemembered bounds the verified-token memo (0: 10000).
	MaxRemembered int
}

type keyState struct {
	set token.KeySet
	raw []byte // the JWKS document, served at /.well-known/jwks.json
}

type memo struct {
	actor   contracts.Actor
	expires int64 // unix seconds (token exp)
}

// Verifier verifies access tokens. Safe for concurrent use.
type Verifier struct {
	fetch       Fetcher
	cfg         Config
	log         *slog.Logger
	keys        atomic.Pointer[keyState]
	sf          singleflight.Group
	lastRefetch atomic.Int64 // unix nanos of the last miss-triggered fetch
	now         func() time.Time

	mu   sync.RWMutex
	seen map[string]memo
}

// New returns a Verifier over fetch. No fetch happens until Refresh, Run or
// the first token.
func New(fetch Fetcher, cfg Config, log *slog.Logger) *Verifier {
	if cfg.RefetchInterval <= 0 {
		cfg.RefetchInterval = 10 * time.Second
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = 5 * time.Minute
	}
	if cfg.MaxRemembered <= 0 {
		cfg.MaxRemembered = 10_000
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Verifier{fetch: fetch, cfg: cfg, log: log, now: time.Now, seen: map[string]memo{}}
}

// SetClock replaces the clock; for tests.
func (v *Verifier) SetClock(now func() time.Time) { v.now = now }

// Errors of Verify, as they reach the client.
var (
	errMissing = contracts.Unauthenticated("missing bearer token")
	errInvalid = contracts.Unauthenticated("invalid or expired access token")
)

// Refresh fetches the key set now (shared with concurrent callers).
func (v *Verifier) Refresh(ctx context.Context) error {
	_, err, _ := v.sf.Do("jwks", func() (any, error) {
		raw, err := v.fetch(ctx)
		if err != nil {
			return nil, err
		}
		var doc contracts.JWKS
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, err
		}
		set, err := token.ParseJWKS(doc)
		if err != nil {
			return nil, err
		}
		// Serve a canonical document (only the keys we accept).
		pub := contracts.JWKS{Keys: make([]contracts.JWK, 0, len(set))}
		for _, k := range doc.Keys {
			if _, ok := set[k.Kid]; ok {
				pub.Keys = append(pub.Keys, k)
			}
		}
		out, err := json.Marshal(pub)
		if err != nil {
			return nil, err
		}
		old := v.keys.Swap(&keyState{set: set, raw: out})
		if old != nil && !sameKeys(old.set, set) {
			v.forget() // a removed key must stop being accepted at once
		}
		return nil, nil
	})
	return err
}

func sameKeys(a, b token.KeySet) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

func (v *Verifier) forget() {
	v.mu.Lock()
	clear(v.seen)
	v.mu.Unlock()
}

// Run refreshes the key set every RefreshInterval until ctx ends. Errors
// are logged; the last good key set stays in use.
func (v *Verifier) Run(ctx context.Context) {
	t := time.NewTicker(v.cfg.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if err := v.Refresh(rctx); err != nil {
				v.log.Warn("jwks refresh failed; keeping the last key set", "err", err)
			}
			cancel()
		}
	}
}

// JWKS returns the cached key set document, fetching it if none is cached.
func (v *Verifier) JWKS(ctx context.Context) ([]byte, error) {
	if ks := v.keys.Load(); ks != nil {
		return ks.raw, nil
	}
	if err := v.Refresh(ctx); err != nil {
		return nil, contracts.Errorf(contracts.CodeUnavailable, "key set unavailable")
	}
	return v.keys.Load().raw, nil
}

// Verify checks a bearer token and returns its actor, or an
// unauthenticated *contracts.Error. An empty token is "missing".
func (v *Verifier) Verify(ctx context.Context, tok string) (contracts.Actor, error) {
	if tok == "" {
		return contracts.Actor{}, errMissing
	}
	now := v.now()
	v.mu.RLock()
	m, ok := v.seen[tok]
	v.mu.RUnlock()
	if ok && now.Unix() < m.expires+int64(v.cfg.Leeway/time.Second) {
		return m.actor, nil
	}
	ks := v.keys.Load()
	if ks == nil {
		if err := v.Refresh(ctx); err != nil {
			v.log.Warn("jwks fetch failed", "err", err)
			return contracts.Actor{}, contracts.Errorf(contracts.CodeUnavailable, "cannot verify tokens right now")
		}
		v.lastRefetch.Store(now.UnixNano())
		ks = v.keys.Load()
	}
	opt := token.Options{Now: now, Leeway: v.cfg.Leeway}
	c, err := token.Verify(tok, ks.set, opt)
	if errors.Is(err, token.ErrUnknownKey) && v.mayRefetch(now) {
		if rerr := v.Refresh(ctx); rerr != nil {
			v.log.Warn("jwks refetch for unknown kid failed", "err", rerr)
		} else {
			c, err = token.Verify(tok, v.keys.Load().set, opt)
		}
	}
	if err != nil {
		return contracts.Actor{}, errInvalid
	}
	a := c.Actor()
	v.remember(tok, memo{actor: a, expires: c.Expires})
	return a, nil
}

// mayRefetch reports whether a miss may trigger a fetch now (at most one
// per RefetchInterval).
func (v *Verifier) mayRefetch(now time.Time) bool {
	last := v.lastRefetch.Load()
	if now.UnixNano()-last < int64(v.cfg.RefetchInterval) {
		return false
	}
	return v.lastRefetch.CompareAndSwap(last, now.UnixNano())
}

func (v *Verifier) remember(tok string, m memo) {
	v.mu.Lock()
	if len(v.seen) >= v.cfg.MaxRemembered {
		now := v.now().Unix()
		for k, e := range v.seen {
			if e.expires <= now {
				delete(v.seen, k)
			}
		}
		if len(v.seen) >= v.cfg.MaxRemembered {
			clear(v.seen)
		}
	}
	v.seen[tok] = m
	v.mu.Unlock()
}
