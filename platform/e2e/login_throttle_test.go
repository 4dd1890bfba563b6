package e2e_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/platform"
	"github.com/opencommerce/opencommerce/platform/platformtest"
)

// Sign-in throttling through the gateway (README "Sign-in throttling"):
// failures from one IP slow that IP down on that account (429 with
// Retry-After) without locking the account's owner out of the IP they
// signed in from before, the admin included; an IP spraying many accounts
// meets the per-IP limit. The gateway trusts 127.0.0.1 as a proxy so each
// request names its client IP in X-Forwarded-For, and its own rate classes
// are wide so every 429 here is the user service's.
func TestLoginThrottleSlowsAttackerNotOwner(t *testing.T) {
	t.Parallel()
	env := platformtest.Start(t, platformtest.Options{WideRateLimits: true, Tweak: func(c *platform.Config) {
		c.Services.Gateway.TrustedProxies = []string{"127.0.0.1/32", "::1/128"}
		// A slowed pair waits minutes, so the next attempt always falls
		// inside the wait however slow the machine is.
		c.Services.User.LoginFreeFailures = 3
		c.Services.User.LoginDelay = 10 * time.Minute
		c.Services.User.LoginMaxDelay = 10 * time.Minute
		c.Services.User.LoginIPFailures = 6
	}})
	from := func(ip string) []string { return []string{"X-Forwarded-For", ip} }
	// throttled checks a 429 whose Retry-After is at most the wait: the
	// pair's delay (10 minutes) or the per-IP window (15 minutes).
	throttled := func(t *testing.T, r response, most time.Duration) {
		t.Helper()
		wantError(t, r, http.StatusTooManyRequests, "resource_exhausted")
		n, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || n < 1 || n > int(most.Seconds()) {
			t.Errorf("429 without a Retry-After of 1..%v s (%q): %s", most.Seconds(), r.Header.Get("Retry-After"), r)
		}
	}
	login := func(c *client, email, password, ip string) response {
		return c.do("POST", "/auth/login", map[string]string{"email": email, "password": password}, from(ip)...)
	}

	t.Run("an attacker's failures do not lock the admin out", func(t *testing.T) {
		c := newClient(t, env)
		const home, attacker = "198.51.100.7", "203.0.113.66"
		signIn(c, platformtest.AdminEmail, platformtest.AdminPassword, from(home)...)
		for i := range 3 {
			wantError(t, login(c, platformtest.AdminEmail, "Guess-"+strconv.Itoa(i)+"x", attacker), http.StatusUnauthorized, "unauthenticated")
		}
		for i := range 4 {
			throttled(t, login(c, platformtest.AdminEmail, "Guess-"+strconv.Itoa(10+i)+"x", attacker), 10*time.Minute)
		}
		// The slowed attacker cannot test even the right password…
		throttled(t, login(c, platformtest.AdminEmail, platformtest.AdminPassword, attacker), 10*time.Minute)
		// …while the admin signs in from home as usual.
		s := signIn(c, platformtest.AdminEmail, platformtest.AdminPassword, from(home)...)
		if s.Role != "admin" {
			t.Fatalf("admin session = %+v", s)
		}
	})

	t.Run("an IP spraying many accounts meets the per-IP limit", func(t *testing.T) {
		c := newClient(t, env)
		const sprayer = "203.0.113.99"
		bystander := signUp(c, "spray-bystander@example.com", "", from("198.51.100.40")...)
		for i := range 6 {
			wantError(t, login(c, "sprayed"+strconv.Itoa(i)+"@example.com", "Guess-Passw0rd", sprayer), http.StatusUnauthorized, "unauthenticated")
		}
		throttled(t, login(c, "sprayed-next@example.com", "Guess-Passw0rd", sprayer), 15*time.Minute)
		throttled(t, login(c, bystander.Email, testPassword, sprayer), 15*time.Minute)
		// Another IP is not affected.
		signIn(c, bystander.Email, testPassword, from("198.51.100.41")...)
	})
}
