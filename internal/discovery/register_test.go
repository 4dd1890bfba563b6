package discovery_test

import (
	"context"
	"net"
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
