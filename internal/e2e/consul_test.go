package e2e_test

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/internal/discovery/consultest"
	"github.com/opencommerce/opencommerce/internal/platform"
	"github.com/opencommerce/opencommerce/internal/platform/platformtest"
)

// Issue 3 through the whole platform in Consul mode: every module
// registers itself in (a server speaking) Consul's API, the gateway routes
// only to services whose checks pass, an instance going critical turns its
// routes to 503 with Retry-After and coming back restores them, and the
// live config in KV applies at once (an invalid value is refused and the
// config in force kept).
func TestConsulDiscoveryAndLiveConfig(t *testing.T) {
	consul := consultest.New(t)
	env := platformtest.Start(t, platformtest.Options{WideRateLimits: true, Tweak: func(c *platform.Config) {
		c.Consul.Addr = consul.Addr
		c.Consul.Register = true
		c.Consul.MinQueryInterval = 10 * time.Millisecond
	}})
	c := newClient(t, env)
	_, adminPort, _ := net.SplitHostPort(env.Config.Admin.Addr)
	_, dataPort, _ := net.SplitHostPort(env.Config.Services.File.DataAddr)
	id := func(svc string) string {
		port := adminPort
		if svc == "file" {
			port = dataPort
		}
		return fmt.Sprintf("%s-127.0.0.1-%s", svc, port)
	}
	for _, svc := range []string{"user", "product", "order", "notification", "file"} {
		reg, checks, ok := consul.Registered(id(svc))
		if !ok {
			t.Fatalf("%s did not register as %s", svc, id(svc))
		}
		if len(checks) != 1 || !strings.HasSuffix(checks[0].Definition.HTTP, "/readyz") || !slices.Contains(reg.Tags, "metrics") {
			t.Fatalf("%s registration: tags %v checks %+v", svc, reg.Tags, checks)
		}
	}
	if _, _, ok := consul.Registered(id("file")); !ok {
		t.Fatal("file service not registered on its data port")
	}

	// Registered checks start critical: nothing is routed yet.
	r := c.do("GET", "/categories", nil)
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("before any check passed: %s (Retry-After %q)", r, r.Header.Get("Retry-After"))
	}
	for _, svc := range []string{"user", "product", "order", "notification", "file"} {
		if err := consul.SetCheck(id(svc), "passing"); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "catalogue routed once product passes", func() bool { return c.do("GET", "/categories", nil).Status == http.StatusOK })

	if err := consul.SetCheck(id("product"), "critical"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "product routes 503 once product is critical", func() bool {
		r := c.do("GET", "/products?q=lamp", nil)
		return r.Status == http.StatusServiceUnavailable && r.Header.Get("Retry-After") != ""
	})
	if r := c.do("GET", "/users/me", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("other services keep serving: %s", r)
	}
	if err := consul.SetCheck(id("product"), "passing"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "product routes back", func() bool { return c.do("GET", "/products?q=lamp", nil).Status == http.StatusOK })

	// Live config from KV.
	const key = "opencommerce/gateway/config"
	consul.SetKV(key, []byte(`{"maintenance": true}`))
	waitUntil(t, "maintenance on", func() bool { return c.do("GET", "/categories", nil).Status == http.StatusServiceUnavailable })
	consul.SetKV(key, []byte(`{"maintenance": false, "rate_limits": {"search": {"rate": 0, "burst": 1}}}`)) // invalid: rate 0
	time.Sleep(300 * time.Millisecond)                                                                      // give the watch time to see (and refuse) it
	if r := c.do("GET", "/categories", nil); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("an invalid KV value was applied: %s", r)
	}
	consul.SetKV(key, []byte(`{"maintenance": false, "rate_limits": {"search": {"rate": 0.01, "burst": 2}}}`))
	waitUntil(t, "maintenance off", func() bool { return c.do("GET", "/categories", nil).Status == http.StatusOK })
	limited := false
	for i := 0; i < 5 && !limited; i++ {
		limited = c.do("GET", fmt.Sprintf("/products?q=lamp%d", i), nil).Status == http.StatusTooManyRequests
	}
	if !limited {
		t.Fatal("the search rate limit from KV (burst 2) did not apply")
	}
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
