package e2e_test

import (
	"net/http"
	"testing"

	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/platform"
	"github.com/opencommerce/opencommerce/platform/platformtest"
)

// TestRedisHungProductReadsServeFromPostgreSQL: with Redis hung (the proxy
// in front of it holds every byte) signed-in product reads (a product, a
// catalogue list, a search) answer 200
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
	reads := []struct {
		what, path string
		has        func(response) bool // the answer shows p
	}{
		{"product", "/products/" + p.ID, func(r response) bool { return decode[product](t, r).ID == p.ID }},
		{"catalogue list", "/products" + query("category", cat.ID), func(r response) bool { return listed(decode[productList](t, r), p.ID) }},
		{"search", "/products" + query("q", "hung"), func(r response) bool { return listed(decode[productList](t, r), p.ID) }},
	}
	for _, rd := range reads {
		if r := me.must(http.StatusOK, "GET", rd.path, nil); !rd.has(r) { // cached now
			t.Fatalf("%s before the outage: %s does not show the product", rd.what, r)
		}
	}

	proxy.Freeze()
	served := 0
	for i := range 4 { // past the breaker's failures: timeouts first, then an open breaker
		for _, rd := range reads {
			r := me.do("GET", rd.path, nil)
			switch {
			case r.Status == http.StatusOK:
				if !rd.has(r) {
					t.Fatalf("%s %d with Redis hung: %s does not show the product", rd.what, i, r)
				}
				served++
			case r.Status == http.StatusServiceUnavailable && r.ErrCode() == "unavailable":
				if r.Header.Get("Retry-After") == "" {
					t.Fatalf("%s %d with Redis hung: 503 without Retry-After", rd.what, i)
				}
			default: // a 504 means the route's deadline passed while waiting for Redis
				t.Fatalf("%s %d with Redis hung: %s, want 200 (from PostgreSQL) or 503 unavailable", rd.what, i, r)
			}
		}
	}
	if served == 0 {
		t.Fatal("no read served from PostgreSQL while Redis was hung")
	}
	proxy.Restore()
	testenv.Eventually(t, "product reads succeeding once Redis answers again", func() bool {
		return me.do("GET", reads[0].path, nil).Status == http.StatusOK
	})
}

// listed reports whether l holds the product id.
func listed(l productList, id string) bool {
	for _, p := range l.Items {
		if p.ID == id {
			return true
		}
	}
	return false
}
