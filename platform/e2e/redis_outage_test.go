package e2e_test

import (
	"net/http"
	"testing"

	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/platform"
	"github.com/opencommerce/opencommerce/platform/platformtest"
)

// TestRedisHungProductReadsServeFromPostgreSQL: with Redis hung (the proxy
// in front of it holds every byte) a signed-in product read answers 200
// from PostgreSQL (the product document cache is not a source of truth)
// or at worst a 503 unavailable with Retry-After, never the route's 504:
// Redis commands are bounded by timeouts well under the route's
// (redis.read-timeout, …) and, after redis.breaker-failures of them, the
// breaker fails them at once. Once Redis is back the read succeeds again.
func TestRedisHungProductReadsServeFromPostgreSQL(t *testing.T) {
	t.Parallel()
	addr, _ := testenv.Redis(t)
	proxy := testenv.NewProxy(t, addr)
	env := platformtest.Start(t, platformtest.Options{Targets: "gateway,user,product", WideRateLimits: true, Tweak: func(c *platform.Config) {
		c.Redis.URL = "redis://" + proxy.Addr() + "/0"
	}})
	t.Cleanup(proxy.Restore) // before the platform stops
	c := newClient(t, env)
	admin := c.as(adminSession(c).Access)
	cat := newCategory(admin, "Outage lamps", "")
	seller := c.as(signUp(c, "redis-outage-seller@example.com", "seller").Access)
	p := newProduct(seller, "Hung lamp", cat.ID, 1999, 5)
	me := c.as(signUp(c, "redis-outage@example.com", "").Access)
	path := "/products/" + p.ID
	me.must(http.StatusOK, "GET", path, nil) // cached now

	proxy.Freeze()
	served := 0
	for i := range 8 { // past the breaker's failures: timeouts first, then an open breaker
		r := me.do("GET", path, nil)
		switch {
		case r.Status == http.StatusOK:
			var got product
			r.JSON(t, &got)
			if got.ID != p.ID {
				t.Fatalf("read %d with Redis hung: product %q, want %q", i, got.ID, p.ID)
			}
			served++
		case r.Status == http.StatusServiceUnavailable && r.ErrCode() == "unavailable":
			if r.Header.Get("Retry-After") == "" {
				t.Fatalf("read %d with Redis hung: 503 without Retry-After", i)
			}
		default: // a 504 means the route's deadline passed while waiting for Redis
			t.Fatalf("read %d with Redis hung: %s, want 200 (from PostgreSQL) or 503 unavailable", i, r)
		}
	}
	if served == 0 {
		t.Fatal("no product read served from PostgreSQL while Redis was hung")
	}
	proxy.Restore()
	testenv.Eventually(t, "product reads succeeding once Redis answers again", func() bool {
		return me.do("GET", path, nil).Status == http.StatusOK
	})
}
