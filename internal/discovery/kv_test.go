package discovery_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencommerce/opencommerce/internal/discovery"
	"github.com/opencommerce/opencommerce/internal/telemetry/telemetrytest"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// putKV writes through the real client, as an operator's `consul kv put`.
func putKV(t *testing.T, c *api.Client, key, value string) {
	t.Helper()
	if _, err := c.KV().Put(&api.KVPair{Key: key, Value: []byte(value)}, nil); err != nil {
		t.Fatalf("kv put: %v", err)
	}
}

func watchGatewayConfig(t *testing.T, h *harness) (*discovery.KVWatcher[discovery.GatewayConfig], *api.Client, string, *prometheus.Registry, *atomic.Int64) {
	t.Helper()
	client, _ := h.client(t)
	key := "opencommerce-test/" + testenv.Name("gw") + "/gateway/config"
	t.Cleanup(func() { _, _ = client.KV().Delete(key, nil) })
	var applied atomic.Int64
	reg := prometheus.NewRegistry()
	w := discovery.NewGatewayConfigWatcher(client, key, discovery.KVOptions[discovery.GatewayConfig]{
		Metrics:          reg,
		WaitTime:         30 * time.Second,
		MinQueryInterval: 10 * time.Millisecond,
		OnChange: func(discovery.GatewayConfig) {
			applied.Add(1)
		},
	})
	runWatcher(t, w.Run)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.WaitSynced(ctx); err != nil {
		t.Fatalf("config watcher never synced: %v", err)
	}
	return w, client, key, reg, &applied
}

func TestGatewayConfigLive(t *testing.T) {
	t.Parallel()
	h := consulServer(t)
	w, client, key, reg, _ := watchGatewayConfig(t, h)

	if got, want := w.Get().Limit(discovery.ClassLogin), discovery.DefaultGatewayConfig().Limit(discovery.ClassLogin); got != want {
		t.Fatalf("without the key login limit = %+v, want default %+v", got, want)
	}

	putKV(t, client, key, `{"rate_limits":{"login":{"rate":2,"burst":3}},"cors_origins":["https://Shop.Example.com"],"maintenance":true}`)
	testenv.EventuallyWithin(t, h.settle, "config to apply", func() bool { return w.Get().Maintenance })
	g := w.Get()
	if got := g.Limit(discovery.ClassLogin); got != (discovery.RateLimit{Rate: 2, Burst: 3}) {
		t.Errorf("login limit = %+v, want {2 3}", got)
	}
	if got, want := g.Limit(discovery.ClassSearch), discovery.DefaultGatewayConfig().Limit(discovery.ClassSearch); got != want {
		t.Errorf("search limit = %+v, want the default %+v (classes not in the value keep theirs)", got, want)
	}
	if !g.AllowsOrigin("https://shop.example.com") || g.AllowsOrigin("https://evil.example.com") {
		t.Errorf("origins %v: want exactly https://shop.example.com allowed", g.CORSOrigins)
	}

	invalid := []string{
		`{"rate_limits":{"login":{"rate":0,"burst":3}}}`,
		`{"maintenance":"yes"}`,
		`not json`,
	}
	for _, v := range invalid {
		before := telemetrytest.Value(t, reg, "oc_discovery_kv_updates_total", map[string]string{"result": "refused"})
		putKV(t, client, key, v)
		testenv.EventuallyWithin(t, h.settle, "refusal of "+v, func() bool {
			return telemetrytest.Value(t, reg, "oc_discovery_kv_updates_total", map[string]string{"result": "refused"}) > before
		})
		if got := w.Get(); !got.Maintenance || got.Limit(discovery.ClassLogin).Rate != 2 {
			t.Fatalf("after invalid value %s the config changed to %+v; the old one must stay", v, got)
		}
	}

	putKV(t, client, key, `{"maintenance":false}`)
	testenv.EventuallyWithin(t, h.settle, "valid value after a refused one", func() bool { return !w.Get().Maintenance })
	if got := w.Get().Limit(discovery.ClassLogin); got == (discovery.RateLimit{Rate: 2, Burst: 3}) {
		t.Errorf("login limit still %+v after a value without it; want the default", got)
	}

	putKV(t, client, key, `{"maintenance":true}`)
	testenv.EventuallyWithin(t, h.settle, "maintenance on", func() bool { return w.Get().Maintenance })
	if _, err := client.KV().Delete(key, nil); err != nil {
		t.Fatal(err)
	}
	testenv.EventuallyWithin(t, h.settle, "defaults after delete", func() bool { return !w.Get().Maintenance })
	if got := w.Get(); got.CORSOrigins != nil || got.RateLimits != nil {
		t.Errorf("after delete %+v, want no overrides", got)
	}
}

// An unchanged value (a blocking query woken by an unrelated write) must
// not re-apply the config.
func TestGatewayConfigUnchangedValueNotReapplied(t *testing.T) {
	t.Parallel()
	h := consulServer(t)
	w, client, key, _, applied := watchGatewayConfig(t, h)
	putKV(t, client, key, `{"maintenance":true}`)
	testenv.EventuallyWithin(t, h.settle, "apply", func() bool { return w.Get().Maintenance })
	n := applied.Load()
	putKV(t, client, key, `{"maintenance":true}`) // same bytes, new ModifyIndex
	putKV(t, client, key+"-other", `x`)
	t.Cleanup(func() { _, _ = client.KV().Delete(key+"-other", nil) })
	putKV(t, client, key, `{"maintenance":false}`)
	testenv.EventuallyWithin(t, h.settle, "apply", func() bool { return !w.Get().Maintenance })
	if got := applied.Load() - n; got != 1 {
		t.Errorf("%d applies for one real change; an identical value must not re-apply", got)
	}
}

func TestGatewayConfigErrorsKeepConfig(t *testing.T) {
	t.Parallel()
	h := consulServer(t)
	fake := h.requireFake(t)
	w, client, key, reg, _ := watchGatewayConfig(t, h)
	putKV(t, client, key, `{"maintenance":true}`)
	testenv.EventuallyWithin(t, h.settle, "apply", func() bool { return w.Get().Maintenance })
	fake.SetFailing(true)
	t.Cleanup(func() { fake.SetFailing(false) })
	testenv.EventuallyWithin(t, h.settle, "failed queries", func() bool {
		return telemetrytest.Value(t, reg, "oc_discovery_errors_total", map[string]string{"watch": key}) >= 1
	})
	if !w.Get().Maintenance {
		t.Fatal("config lost while Consul failed")
	}
	fake.SetFailing(false)
	fake.SetKV(key, []byte(`{"maintenance":false}`))
	testenv.EventuallyWithin(t, 45*time.Second, "recovery", func() bool { return !w.Get().Maintenance })
}

func TestGatewayConfigStaticMode(t *testing.T) {
	t.Parallel()
	w := discovery.NewGatewayConfigWatcher(nil, discovery.DefaultConfigKey, discovery.KVOptions[discovery.GatewayConfig]{})
	if err := w.WaitSynced(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := w.Get().Limit(discovery.ClassUpload), discovery.DefaultGatewayConfig().Limit(discovery.ClassUpload); got != want {
		t.Errorf("static mode upload limit %+v, want default %+v", got, want)
	}
}

func TestGatewayConfigIndexGoesBackwards(t *testing.T) {
	t.Parallel()
	h := consulServer(t)
	fake := h.requireFake(t)
	w, client, key, _, _ := watchGatewayConfig(t, h)
	for i := range 20 { // push the index up
		putKV(t, client, key+"-pad", strconv.Itoa(i))
	}
	t.Cleanup(func() { _, _ = client.KV().Delete(key+"-pad", nil) })
	putKV(t, client, key, `{"maintenance":true}`)
	testenv.EventuallyWithin(t, h.settle, "apply", func() bool { return w.Get().Maintenance })
	testenv.EventuallyWithin(t, h.settle, "watcher to block", func() bool { return fake.Blocked("/v1/kv/"+key) == 1 })
	fake.ResetIndex()
	testenv.EventuallyWithin(t, h.settle, "watcher to block again after the reset", func() bool { return fake.Blocked("/v1/kv/"+key) == 1 })
	fake.SetKV(key, []byte(`{"maintenance":false}`))
	testenv.EventuallyWithin(t, h.settle, "change after the reset", func() bool { return !w.Get().Maintenance })
}
