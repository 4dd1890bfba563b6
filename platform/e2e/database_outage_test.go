package e2e_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/platform"
	"github.com/opencommerce/opencommerce/platform/platformtest"
)

// TestDatabaseOutageAnswersUnavailable: with PostgreSQL unreachable (the
// proxy in front of it cut: connections dropped and refused) a signed-in
// GET /users/me answers 503 unavailable with Retry-After, not 500; with
// PostgreSQL hung (the proxy holds every byte) it answers the same 503
// before the route's deadline (not 504), because waiting for a pooled
// connection is bounded (pg.acquire-timeout) well under the route timeout.
// Once PostgreSQL is back the same request succeeds again.
func TestDatabaseOutageAnswersUnavailable(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(testenv.PGURL)
	if err != nil {
		t.Fatal(err)
	}
	_ = testenv.PG(t) // skips (or fails under CI) without PostgreSQL
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	env := platformtest.Start(t, platformtest.Options{Targets: "gateway,user", WideRateLimits: true, Tweak: func(c *platform.Config) {
		c.PG.URL = u.String()
	}})
	t.Cleanup(proxy.Restore) // before the platform stops: its relay must reach the database
	c := newClient(t, env)
	me := c.as(signUp(c, "outage@example.com", "").Access)
	me.must(http.StatusOK, "GET", "/users/me", nil)

	unavailable := func(what string) {
		t.Helper()
		r := me.do("GET", "/users/me", nil)
		if r.Status != http.StatusServiceUnavailable || r.ErrCode() != "unavailable" {
			t.Fatalf("%s: GET /users/me answered %s, want 503 unavailable", what, r)
		}
		if r.Header.Get("Retry-After") == "" {
			t.Fatalf("%s: 503 without Retry-After", what)
		}
	}

	proxy.Cut()
	unavailable("PostgreSQL unreachable")
	proxy.Restore()
	testenv.Eventually(t, "GET /users/me succeeding once PostgreSQL is reachable", func() bool {
		return me.do("GET", "/users/me", nil).Status == http.StatusOK
	})

	proxy.Freeze()
	// pgxpool checks a pooled connection idle for over a second before
	// handing it out (a ping, inside the bounded acquire); let the
	// connections the last request used reach that age, as every pooled
	// connection has a second into a real outage. Without it the request
	// could be sent on a connection that looks alive and wait for its
	// route deadline (per-query timeouts are a separate matter).
	time.Sleep(1100 * time.Millisecond)
	unavailable("PostgreSQL hung") // a 504 would mean the route's deadline passed first
	proxy.Restore()
	testenv.Eventually(t, "GET /users/me succeeding once PostgreSQL answers again", func() bool {
		return me.do("GET", "/users/me", nil).Status == http.StatusOK
	})
}
