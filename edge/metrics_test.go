package edge_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencommerce/opencommerce/edge"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/telemetry/telemetrytest"
)

// TestMetrics: RED metrics are labelled with the route pattern, never the
// raw path; requests matching no route count as "unmatched"; cache hits
// and misses, rate-limit rejections and requests in flight are counted.
func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	blocked, release := make(chan struct{}, 1), make(chan struct{})
	_, base, rpc, _ := setup(t, func(_ *edge.Config, d *edge.Deps) { d.Metrics = reg })
	rpc.reply = func(_ context.Context, c call) (bus.Reply, error) {
		if c.Env.Params.Get("cursor") == "block" {
			blocked <- struct{}{}
			<-release
		}
		return bus.Reply{Status: "ok", Body: []byte(`{"ok":true}`)}, nil
	}
	ids := []string{productID, "0190a1b2-c3d4-7e5f-8a9b-000000000002"}
	for _, id := range ids {
		for range 2 {
			if r := do(t, "GET", base+"/api/v1/products/"+id, ""); r.Status != 200 {
				t.Fatalf("GET product: %d %s", r.Status, r.Body)
			}
		}
	}
	do(t, "GET", base+"/api/v1/no-such-route/"+productID, "")

	const pattern = "/api/v1/products/{id}"
	if got := telemetrytest.Value(t, reg, "oc_http_requests_total", map[string]string{"route": pattern, "method": "GET", "code": "200"}); got != 4 {
		t.Errorf("requests_total{route=%q,code=200} = %v, want 4", pattern, got)
	}
	if got := telemetrytest.Value(t, reg, "oc_http_request_duration_seconds", map[string]string{"route": pattern, "method": "GET"}); got != 4 {
		t.Errorf("duration observations for %q = %v, want 4", pattern, got)
	}
	if got := telemetrytest.Value(t, reg, "oc_http_requests_total", map[string]string{"route": "unmatched", "code": "404"}); got != 1 {
		t.Errorf("unmatched 404s = %v, want 1", got)
	}
	if got := telemetrytest.Value(t, reg, "oc_http_request_duration_seconds", map[string]string{"route": "unmatched"}); got != 1 {
		t.Errorf("unmatched duration observations = %v, want 1", got)
	}
	routes := telemetrytest.LabelValues(t, reg, "oc_http_requests_total", "route")
	for _, r := range routes {
		if strings.Contains(r, productID) || strings.Contains(r, "no-such-route") {
			t.Errorf("a raw path became a route label: %q (all: %v)", r, routes)
		}
	}
	if !slices.Contains(routes, pattern) {
		t.Errorf("route labels %v lack %q", routes, pattern)
	}
	if hit, miss := telemetrytest.Value(t, reg, "oc_cache_requests_total", map[string]string{"cache": "gateway", "result": "hit"}),
		telemetrytest.Value(t, reg, "oc_cache_requests_total", map[string]string{"cache": "gateway", "result": "miss"}); hit != 2 || miss != 2 {
		t.Errorf("cache hits/misses = %v/%v, want 2/2", hit, miss)
	}

	// In flight: one request held in the service.
	reviews := base + "/api/v1/products/" + productID + "/reviews"
	done := make(chan response, 1)
	go func() { done <- do(t, "GET", reviews+"?cursor=block", "") }()
	select {
	case <-blocked:
	case r := <-done:
		t.Fatalf("held request answered at once: %d %s", r.Status, r.Body)
	}
	if got := telemetrytest.Value(t, reg, "oc_http_requests_in_flight", nil); got != 1 {
		t.Errorf("in flight while one request waits = %v, want 1", got)
	}
	close(release)
	if r := <-done; r.Status != 200 {
		t.Fatalf("held request: %d %s", r.Status, r.Body)
	}
	if got := telemetrytest.Value(t, reg, "oc_http_requests_in_flight", nil); got != 0 {
		t.Errorf("in flight after it finished = %v, want 0", got)
	}

	// Rate limit: a gateway whose default class allows 2 a minute.
	reg2 := prometheus.NewRegistry()
	_, base2, _, _ := setup(t, func(c *edge.Config, d *edge.Deps) {
		d.Metrics = reg2
		c.RateDefault = "2/1m:2"
	})
	reviews2 := base2 + "/api/v1/products/" + productID + "/reviews"
	var codes []int
	for range 4 {
		codes = append(codes, do(t, "GET", reviews2, "").Status)
	}
	if !slices.Equal(codes, []int{200, 200, 429, 429}) {
		t.Fatalf("statuses %v, want [200 200 429 429]", codes)
	}
	if got := telemetrytest.Value(t, reg2, "oc_ratelimit_rejected_total", map[string]string{"class": "default"}); got != 2 {
		t.Errorf("rejections = %v, want 2", got)
	}
	if got := telemetrytest.Value(t, reg2, "oc_http_requests_total", map[string]string{"route": pattern + "/reviews", "code": "429"}); got != 2 {
		t.Errorf("429s counted under the route = %v, want 2", got)
	}
}
