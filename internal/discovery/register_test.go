package discovery_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/discovery"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

func TestRegisterWithHTTPCheck(t *testing.T) {
	t.Parallel()
	h := consulServer(t)
	client, _ := h.client(t)
	svc := uniqueService(t)
	ctx := context.Background()
	cfg := discovery.Defaults()
	cfg.AdvertiseAddr = "127.0.0.1"
	// A free port: nothing answers the check there.
	_, portStr, _ := net.SplitHostPort(testenv.FreeAddr(t))
	port, _ := strconv.Atoi(portStr)
	reg := cfg.NewRegistration(svc, port, port, map[string]string{discovery.MetaRPCQueue: discovery.RPCQueue(svc), discovery.MetaDataPort: "8090"})
	reg.ID = svc + "-1"
	dereg, err := discovery.Register(ctx, client, reg)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	t.Cleanup(func() { _ = dereg(context.Background()) })

	services, err := client.Agent().Services()
	if err != nil {
		t.Fatal(err)
	}
	s, ok := services[svc+"-1"]
	if !ok {
		t.Fatalf("registration missing from agent services")
	}
	if s.Service != svc || s.Address != "127.0.0.1" || s.Port != port || !slices.Contains(s.Tags, discovery.TagMetrics) ||
		s.Meta[discovery.MetaRPCQueue] != discovery.RPCQueue(svc) || s.Meta[discovery.MetaDataPort] != "8090" {
		t.Errorf("registered service %+v", s)
	}
	checks, err := client.Agent().Checks()
	if err != nil {
		t.Fatal(err)
	}
	var check *api.AgentCheck
	for _, c := range checks {
		if c.ServiceID == svc+"-1" {
			check = c
		}
	}
	if check == nil {
		t.Fatal("no check registered for the instance")
	}
	if want := "http://127.0.0.1:" + portStr + "/readyz"; check.Type != "http" || check.Definition.HTTP != want {
		t.Errorf("check type %q HTTP %q, want http on %s", check.Type, check.Definition.HTTP, want)
	}
	if check.Definition.IntervalDuration != cfg.CheckInterval || check.Definition.TimeoutDuration != cfg.CheckTimeout ||
		check.Definition.DeregisterCriticalServiceAfterDuration < time.Minute {
		t.Errorf("check definition %+v", check.Definition)
	}
	// Nothing listens there: the instance must not count as healthy,
	// and it starts critical rather than passing.
	if check.Status == api.HealthPassing {
		t.Errorf("a new instance starts %s; want critical until /readyz passes", check.Status)
	}
	passing, _, err := client.Health().Service(svc, "", true, nil)
	if err != nil || len(passing) != 0 {
		t.Errorf("passing instances = %d (%v), want 0", len(passing), err)
	}
	all, _, err := client.Health().Service(svc, "", false, nil)
	if err != nil || len(all) != 1 {
		t.Fatalf("all instances = %d (%v), want 1", len(all), err)
	}

	if err := dereg(ctx); err != nil {
		t.Fatalf("deregister: %v", err)
	}
	if err := dereg(ctx); err != nil {
		t.Errorf("second deregister: %v (want nil: already gone)", err)
	}
	all, _, _ = client.Health().Service(svc, "", false, nil)
	if len(all) != 0 {
		t.Errorf("%d instances after deregister", len(all))
	}
}

func TestRegisterRefusesBadInput(t *testing.T) {
	t.Parallel()
	h := consulServer(t)
	client, _ := h.client(t)
	good := discovery.Registration{Service: "x", Address: "127.0.0.1", Port: 1, AdminURL: "http://127.0.0.1:9090"}
	tests := []struct {
		name  string
		edit  func(r *discovery.Registration)
		field string
	}{
		{"no service", func(r *discovery.Registration) { r.Service = "" }, "service"},
		{"slash in service", func(r *discovery.Registration) { r.Service = "a/b" }, "service"},
		{"no address", func(r *discovery.Registration) { r.Address = "" }, "address"},
		{"no port", func(r *discovery.Registration) { r.Port = 0 }, "port"},
		{"port too big", func(r *discovery.Registration) { r.Port = 70000 }, "port"},
		{"relative admin url", func(r *discovery.Registration) { r.AdminURL = "127.0.0.1:9090" }, "admin_url"},
		{"deregister below minimum", func(r *discovery.Registration) { r.DeregisterAfter = 30 * time.Second }, "deregister_after"},
		{"timeout above interval", func(r *discovery.Registration) { r.CheckInterval = time.Second; r.CheckTimeout = 3 * time.Second }, "check_timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := good
			tc.edit(&r)
			_, err := discovery.Register(context.Background(), client, r)
			e, ok := err.(*contracts.Error)
			if !ok || e.Code != contracts.CodeInvalidArgument || e.Details["field"] != tc.field {
				t.Fatalf("Register = %v, want invalid_argument on %s", err, tc.field)
			}
		})
	}
}

// -consul.register off (Nomad registers the service) must register
// nothing, or every instance appears twice; on, the instance registers
// with its HTTP check on the admin port's /readyz.
func TestRegisterIfEnabled(t *testing.T) {
	t.Parallel()
	h := consulServer(t)
	client, cnt := h.client(t)
	ctx := context.Background()
	port := func() int {
		_, p, _ := net.SplitHostPort(testenv.FreeAddr(t))
		n, _ := strconv.Atoi(p)
		return n
	}
	mainPort, adminPort := port(), port()
	registered := func(t *testing.T, id string) (*api.AgentService, *api.AgentCheck) {
		t.Helper()
		services, err := client.Agent().Services()
		if err != nil {
			t.Fatal(err)
		}
		checks, err := client.Agent().Checks()
		if err != nil {
			t.Fatal(err)
		}
		var check *api.AgentCheck
		for _, c := range checks {
			if c.ServiceID == id {
				check = c
			}
		}
		return services[id], check
	}

	t.Run("off", func(t *testing.T) {
		svc := uniqueService(t)
		cfg := discovery.Defaults()
		cfg.Addr = h.addr
		reg := cfg.NewRegistration(svc, mainPort, adminPort, nil)
		reg.ID = svc + "-1"
		dereg, err := discovery.RegisterIfEnabled(ctx, cfg, client, reg)
		if err != nil {
			t.Fatalf("RegisterIfEnabled with the flag off: %v", err)
		}
		if n := cnt.count("/v1/agent/service/register"); n != 0 {
			t.Errorf("%d register requests with -consul.register off, want 0", n)
		}
		if s, _ := registered(t, reg.ID); s != nil {
			t.Errorf("registered with -consul.register off: %+v", s)
		}
		if err := dereg(ctx); err != nil {
			t.Errorf("deregister after nothing was registered: %v", err)
		}
		// A process under Nomad may have no use for a client at all.
		if _, err := discovery.RegisterIfEnabled(ctx, cfg, nil, reg); err != nil {
			t.Errorf("RegisterIfEnabled with the flag off and no client: %v", err)
		}
	})

	t.Run("on", func(t *testing.T) {
		svc := uniqueService(t)
		cfg := discovery.Defaults()
		cfg.Addr = h.addr
		cfg.Register = true
		cfg.AdvertiseAddr = "127.0.0.1"
		reg := cfg.NewRegistration(svc, mainPort, adminPort, map[string]string{discovery.MetaRPCQueue: discovery.RPCQueue(svc)})
		reg.ID = svc + "-1"
		dereg, err := discovery.RegisterIfEnabled(ctx, cfg, client, reg)
		if err != nil {
			t.Fatalf("RegisterIfEnabled: %v", err)
		}
		t.Cleanup(func() { _ = dereg(context.Background()) })
		s, check := registered(t, reg.ID)
		if s == nil || s.Service != svc || s.Port != mainPort || s.Meta[discovery.MetaRPCQueue] != discovery.RPCQueue(svc) {
			t.Fatalf("registered service %+v", s)
		}
		if want := "http://127.0.0.1:" + strconv.Itoa(adminPort) + "/readyz"; check == nil || check.Type != "http" || check.Definition.HTTP != want {
			t.Fatalf("check %+v; want an HTTP check on %s (the admin port)", check, want)
		}
		if err := dereg(ctx); err != nil {
			t.Fatal(err)
		}
		if s, _ := registered(t, reg.ID); s != nil {
			t.Errorf("still registered after deregister: %+v", s)
		}
		if _, err := discovery.RegisterIfEnabled(ctx, cfg, nil, reg); err == nil {
			t.Error("RegisterIfEnabled with the flag on and no client returned no error")
		}
	})
}

// With -consul.service-prefix several environments share one Consul: the
// instance registers and is watched under the prefixed name, and callers
// keep using the plain one.
func TestServicePrefix(t *testing.T) {
	t.Parallel()
	h := consulServer(t)
	client, _ := h.client(t)
	svc := uniqueService(t)
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(admin.Close)
	adminPort := admin.Listener.Addr().(*net.TCPAddr).Port

	cfg := discovery.Defaults()
	cfg.Addr = h.addr
	cfg.Token = os.Getenv("CONSUL_HTTP_TOKEN")
	cfg.Register = true
	cfg.ServicePrefix = "env1-"
	cfg.CheckInterval, cfg.CheckTimeout = time.Second, time.Second
	cfg.ConfigKey = "opencommerce-test/" + testenv.Name("prefix") + "/config"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	reg := cfg.NewRegistration(svc, adminPort, adminPort, nil)
	if reg.Service != "env1-"+svc {
		t.Fatalf("registration name %q, want env1-%s", reg.Service, svc)
	}
	reg.ID = reg.Service + "-1"
	dereg, err := discovery.RegisterIfEnabled(context.Background(), cfg, client, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dereg(context.Background()) })
	if h.fake != nil {
		if err := h.fake.SetCheck(reg.ID, api.HealthPassing); err != nil {
			t.Fatal(err)
		}
	}

	d, err := discovery.Open(cfg, "amqp://unused", []string{svc}, discovery.WatchOptions{MinQueryInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runWatcher(t, d.Run)
	testenv.EventuallyWithin(t, h.settle, "the prefixed instance to be healthy under the plain name", func() bool { return d.Instances.HasHealthy(svc) })
	if in, _ := d.Instances.Pick(svc); in.Service != svc || in.ID != reg.ID {
		t.Errorf("instance %+v; want Service %q (the plain name), ID %q", in, svc, reg.ID)
	}

	// Without the prefix, another environment's watcher does not see it.
	plain, _, _ := watch(t, h, 10*time.Millisecond, svc)
	if plain.HasHealthy(svc) {
		t.Error("a watcher without the prefix sees the prefixed instance")
	}
}
