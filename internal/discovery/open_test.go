package discovery_test

import (
	"context"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/internal/discovery"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

func TestOpen(t *testing.T) {
	t.Parallel()
	h := consulServer(t)
	amqpURL := testenv.AMQP(t)
	svc := uniqueService(t) // a real agent may know "product"
	for _, tc := range []struct {
		name string
		addr string
	}{{"static", ""}, {"consul", h.addr}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := discovery.Defaults()
			cfg.Addr = tc.addr
			cfg.ConfigKey = "opencommerce-test/" + testenv.Name("open") + "/config"
			d, err := discovery.Open(cfg, amqpURL, []string{svc}, discovery.WatchOptions{StaticPollInterval: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = d.Close() })
			runWatcher(t, d.Run)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := d.WaitSynced(ctx); err != nil {
				t.Fatalf("WaitSynced: %v", err)
			}
			if d.Instances.HasHealthy(svc) {
				t.Error("service healthy with nothing running")
			}
			if d.Config.Get().Maintenance {
				t.Error("default config in maintenance")
			}
		})
	}
	bad := discovery.Defaults()
	bad.DeregisterAfter = time.Second
	if _, err := discovery.Open(bad, amqpURL, nil, discovery.WatchOptions{}); err == nil {
		t.Error("Open accepted an invalid config")
	}
}
