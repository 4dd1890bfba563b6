package discovery_test

import (
	"context"
	"testing"

	"github.com/opencommerce/opencommerce/internal/discovery"
	"github.com/opencommerce/opencommerce/internal/discovery/consultest"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// syncedWatcher returns a watcher over the fake with three healthy
// instances of "product".
func syncedWatcher(tb testing.TB) *discovery.Watcher {
	tb.Helper()
	fake := consultest.New(tb)
	client := fake.Client(tb)
	for _, port := range []int{9001, 9002, 9003} {
		r := discovery.Registration{Service: "product", Address: "10.0.0.1", Port: port, AdminURL: "http://10.0.0.1:9090"}
		if _, err := discovery.Register(context.Background(), client, r); err != nil {
			tb.Fatal(err)
		}
	}
	for _, id := range []string{"product-10.0.0.1-9001", "product-10.0.0.1-9002", "product-10.0.0.1-9003"} {
		if err := fake.SetCheck(id, "passing"); err != nil {
			tb.Fatal(err)
		}
	}
	w := discovery.NewConsulWatcher(client, []string{"product"}, discovery.WatchOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	tb.Cleanup(func() { cancel(); <-done })
	testenv.Eventually(tb, "the watcher to see the three instances", func() bool { return len(w.Healthy("product")) == 3 })
	return w
}

func TestReadsDoNotAllocate(t *testing.T) {
	w := syncedWatcher(t)
	allocs := testing.AllocsPerRun(1000, func() {
		if !w.HasHealthy("product") || w.HasHealthy("nope") {
			t.Fatal("wrong answer")
		}
		if _, ok := w.Pick("product"); !ok {
			t.Fatal("no pick")
		}
		_ = w.Healthy("product")
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per read; the gateway's hot path needs 0", allocs)
	}
}

func BenchmarkPick(b *testing.B) {
	w := syncedWatcher(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok := w.Pick("product"); !ok {
				b.Fatal("no pick")
			}
		}
	})
}

func BenchmarkHasHealthy(b *testing.B) {
	w := syncedWatcher(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !w.HasHealthy("product") {
				b.Fatal("not healthy")
			}
		}
	})
}
