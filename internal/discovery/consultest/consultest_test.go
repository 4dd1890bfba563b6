package consultest_test

import (
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/opencommerce/opencommerce/internal/discovery/consultest"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

func TestKVBlockingQuery(t *testing.T) {
	t.Parallel()
	s := consultest.New(t)
	kv := s.Client(t).KV()

	pair, meta, err := kv.Get("a/b", nil)
	if err != nil || pair != nil || meta.LastIndex == 0 {
		t.Fatalf("missing key: %v %v index %d; want nil pair with an index", pair, err, meta.LastIndex)
	}
	// Nothing changes: the query waits its full wait and returns the same index.
	_, meta2, err := kv.Get("a/b", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 50 * time.Millisecond})
	if err != nil || meta2.LastIndex != meta.LastIndex {
		t.Fatalf("idle blocking query: index %d (%v), want %d", meta2.LastIndex, err, meta.LastIndex)
	}

	done := make(chan *api.KVPair, 1)
	go func() {
		p, _, err := kv.Get("a/b", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 30 * time.Second})
		if err != nil {
			t.Error(err)
		}
		done <- p
	}()
	testenv.Eventually(t, "the KV query to block", func() bool { return s.Blocked("/v1/kv/a/b") > 0 })
	s.SetKV("a/b", []byte("hello"))
	select {
	case p := <-done:
		if p == nil || string(p.Value) != "hello" || p.ModifyIndex <= meta.LastIndex {
			t.Fatalf("woken query returned %+v", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocking query not woken by a write")
	}

	ok, _, err := kv.CAS(&api.KVPair{Key: "a/b", Value: []byte("x"), ModifyIndex: 1}, nil)
	if err != nil || ok {
		t.Fatalf("CAS with a stale index: %v %v, want false", ok, err)
	}
	p, _, _ := kv.Get("a/b", nil)
	ok, _, err = kv.CAS(&api.KVPair{Key: "a/b", Value: []byte("y"), ModifyIndex: p.ModifyIndex}, nil)
	if err != nil || !ok {
		t.Fatalf("CAS with the current index: %v %v, want true", ok, err)
	}
	pairs, _, err := kv.List("a/", nil)
	if err != nil || len(pairs) != 1 || string(pairs[0].Value) != "y" {
		t.Fatalf("list: %v %v", pairs, err)
	}
	if _, err := kv.Delete("a/b", nil); err != nil {
		t.Fatal(err)
	}
	if p, _, _ := kv.Get("a/b", nil); p != nil {
		t.Fatal("key still there after delete")
	}
}

func TestHealthPassingFilter(t *testing.T) {
	t.Parallel()
	s := consultest.New(t)
	c := s.Client(t)
	for _, id := range []string{"w1", "w2"} {
		err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{
			ID: id, Name: "web", Port: 80, Address: "10.0.0.1", Tags: []string{"metrics"},
			Check: &api.AgentServiceCheck{HTTP: "http://10.0.0.1:9090/readyz", Interval: "5s"},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetCheck("w1", api.HealthPassing); err != nil {
		t.Fatal(err)
	}
	passing, meta, err := c.Health().Service("web", "", true, nil)
	if err != nil || len(passing) != 1 || passing[0].Service.ID != "w1" || meta.LastIndex == 0 || !meta.KnownLeader {
		t.Fatalf("passing = %+v, %v, meta %+v", passing, err, meta)
	}
	all, _, _ := c.Health().Service("web", "metrics", false, nil)
	if len(all) != 2 {
		t.Fatalf("all = %d entries, want 2", len(all))
	}
	if n := len(all[0].Checks); n != 2 || all[0].Checks.AggregatedStatus() == "" {
		t.Errorf("checks %d (node serfHealth + service check expected)", n)
	}
	if err := s.SetCheck("nope", api.HealthPassing); err == nil {
		t.Error("SetCheck on an unknown service succeeded")
	}
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "bad", Check: &api.AgentServiceCheck{HTTP: "http://x/readyz"}}); err == nil {
		t.Error("HTTP check without interval accepted")
	}
	if err := c.Agent().ServiceDeregister("nope"); err == nil {
		t.Error("deregistering an unknown ID succeeded")
	}
}

// Tests against a real agent make an instance critical through a TTL check
// of its own; the fake serves the same endpoints.
func TestTTLCheckOfAService(t *testing.T) {
	t.Parallel()
	s := consultest.New(t)
	c := s.Client(t)
	agent := c.Agent()
	if err := agent.ServiceRegister(&api.AgentServiceRegistration{
		ID: "w1", Name: "web", Port: 80, Address: "10.0.0.1",
		Check: &api.AgentServiceCheck{HTTP: "http://10.0.0.1:9090/readyz", Interval: "5s"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCheck("w1", api.HealthPassing); err != nil {
		t.Fatal(err)
	}
	passing := func() int {
		t.Helper()
		entries, _, err := c.Health().Service("web", "", true, nil)
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}
	if err := agent.CheckRegister(&api.AgentCheckRegistration{
		ID: "w1-ttl", Name: "test switch", ServiceID: "w1",
		AgentServiceCheck: api.AgentServiceCheck{TTL: "10m", Status: api.HealthPassing},
	}); err != nil {
		t.Fatalf("register TTL check: %v", err)
	}
	checks, err := agent.Checks()
	if err != nil || checks["w1-ttl"] == nil || checks["w1-ttl"].Type != "ttl" || checks["w1-ttl"].ServiceID != "w1" ||
		checks["w1-ttl"].Name != "test switch" || checks["w1-ttl"].Status != api.HealthPassing {
		t.Fatalf("agent checks after registering w1-ttl: %+v (%v)", checks["w1-ttl"], err)
	}
	if n := passing(); n != 1 {
		t.Fatalf("%d passing instances with both checks passing, want 1", n)
	}

	// A parked blocking query wakes when the TTL check fails.
	_, meta, _ := c.Health().Service("web", "", true, nil)
	done := make(chan int, 1)
	go func() {
		entries, _, err := c.Health().Service("web", "", true, &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 30 * time.Second})
		if err != nil {
			t.Error(err)
		}
		done <- len(entries)
	}()
	testenv.Eventually(t, "the health query to block", func() bool { return s.Blocked("/v1/health/service/web") > 0 })
	if err := agent.FailTTL("w1-ttl", "down for a test"); err != nil {
		t.Fatalf("fail TTL: %v", err)
	}
	select {
	case n := <-done:
		if n != 0 {
			t.Fatalf("woken query: %d passing instances, want 0", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocking query not woken by a failing TTL check")
	}
	if err := agent.PassTTL("w1-ttl", ""); err != nil || passing() != 1 {
		t.Fatalf("after pass: %d passing (%v), want 1", passing(), err)
	}
	if err := agent.UpdateTTL("w1-ttl", "", api.HealthCritical); err != nil || passing() != 0 {
		t.Fatalf("after update to critical: %d passing (%v), want 0", passing(), err)
	}
	if err := agent.FailTTL("service:w1", ""); err == nil {
		t.Error("FailTTL on an HTTP check succeeded")
	}
	if err := agent.CheckRegister(&api.AgentCheckRegistration{Name: "x", ServiceID: "nope", AgentServiceCheck: api.AgentServiceCheck{TTL: "1m"}}); err == nil {
		t.Error("a check of an unknown service was registered")
	}
	if err := agent.CheckDeregister("w1-ttl"); err != nil || passing() != 1 {
		t.Fatalf("after deregistering the failing check: %d passing (%v), want 1", passing(), err)
	}
	if err := agent.CheckDeregister("w1-ttl"); err == nil {
		t.Error("deregistering an unknown check succeeded")
	}
}
