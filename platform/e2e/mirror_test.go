package e2e_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/platform"
	"github.com/opencommerce/opencommerce/platform/platformtest"
)

// The gateway's cache purges come from the event mirror, which the gateway
// target runs itself: a process without the notification service still
// shows a product change to anonymous readers. The cache TTL is an hour,
// so only a purge can make the change visible.
func TestCachePurgeWithoutNotificationTarget(t *testing.T) {
	env := platformtest.Start(t, platformtest.Options{Targets: "gateway,user,product", WideRateLimits: true, Tweak: func(c *platform.Config) {
		c.Services.Gateway.CacheTTL = time.Hour
	}})
	c := newClient(t, env)
	adm := c.as(adminSession(c).Access)
	seller := c.as(signUp(c, "mirror-seller@example.com", "seller").Access)
	cat := newCategory(adm, "Mirrored Goods", "")
	p := newProduct(seller, "Mirrored Jug", cat.ID, 2000, 5)
	anon := newClient(t, env)

	hits := gatewayCacheHits(t, env)
	for range 2 {
		anon.must(http.StatusOK, "GET", "/products/"+p.ID, nil)
	}
	if gatewayCacheHits(t, env) <= hits {
		t.Fatal("the second anonymous GET was not a gateway cache hit: the cache is off and this test proves nothing")
	}
	seller.must(http.StatusOK, "PATCH", "/products/"+p.ID, map[string]any{"name": "Purged Jug"})
	testenv.Eventually(t, "anonymous GET /products/{id} shows the PATCH (purged through the mirror)", func() bool {
		return decode[product](t, anon.must(http.StatusOK, "GET", "/products/"+p.ID, nil)).Name == "Purged Jug"
	})
}
