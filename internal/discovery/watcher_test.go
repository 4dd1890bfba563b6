package discovery_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencommerce/opencommerce/internal/discovery"
	"github.com/opencommerce/opencommerce/internal/telemetry/telemetrytest"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

func ids(insts []discovery.Instance) []string {
	out := make([]string, len(insts))
	for i, in := range insts {
		out[i] = in.ID
	}
	slices.Sort(out)
	return out
}

// watch starts a Consul watcher of services with test-sized tuning.
func watch(t *testing.T, h *harness, minInterval time.Duration, services ...string) (*discovery.Watcher, *counter, *prometheus.Registry) {
	t.Helper()
	client, cnt := h.client(t)
	reg := prometheus.NewRegistry()
	w := discovery.NewConsulWatcher(client, services, discovery.WatchOptions{
		Metrics:          reg,
		WaitTime:         30 * time.Second,
		MinQueryInterval: minInterval,
	})
	runWatcher(t, w.Run)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.WaitSynced(ctx); err != nil {
		t.Fatalf("watcher never synced: %v", err)
	}
	return w, cnt, reg
}

// TestWatcherFollowsSeveralInstances: with several instances of a service
// (Consul only; static mode has one per service) Pick visits each, and the
// healthy set follows each instance's check. What every mode does with one
// instance is TestWatcherModes's.
func TestWatcherFollowsSeveralInstances(t *testing.T) {
	t.Parallel()
	h := consulServer(t)
	client, _ := h.client(t)
	svc := uniqueService(t)
	a := h.startInstance(t, client, svc, map[string]string{discovery.MetaRPCQueue: discovery.RPCQueue(svc)})
	b := h.startInstance(t, client, svc, nil)
	w, _, reg := watch(t, h, 10*time.Millisecond, svc, "absent-"+svc)

	testenv.EventuallyWithin(t, h.settle, "both instances healthy", func() bool { return len(w.Healthy(svc)) == 2 })
	if got := telemetrytest.Value(t, reg, "oc_discovery_healthy_instances", map[string]string{"service": svc}); got != 2 {
		t.Errorf("oc_discovery_healthy_instances{service=%q} = %v, want 2", svc, got)
	}
	seen := map[string]bool{}
	for range 4 {
		in, ok := w.Pick(svc)
		if !ok {
			t.Fatal("Pick found no instance while two are healthy")
		}
		seen[in.ID] = true
		if in.Address != "127.0.0.1" || in.Port == 0 {
			t.Errorf("instance %s has address %q port %d", in.ID, in.Address, in.Port)
		}
	}
	if !seen[a.id] || !seen[b.id] {
		t.Errorf("round-robin Pick visited %v, want both %s and %s", seen, a.id, b.id)
	}
	if w.HasHealthy("absent-" + svc) {
		t.Error("a service nobody registered is healthy")
	}

	a.setPassing(t, false)
	testenv.EventuallyWithin(t, h.settle, "critical instance to disappear", func() bool {
		return slices.Equal(ids(w.Healthy(svc)), []string{b.id})
	})
	b.setPassing(t, false)
	testenv.EventuallyWithin(t, h.settle, "service to have no healthy instance", func() bool { return !w.HasHealthy(svc) })
	if _, ok := w.Pick(svc); ok {
		t.Error("Pick returned an instance of a service with none healthy")
	}
	a.setPassing(t, true)
	testenv.EventuallyWithin(t, h.settle, "recovered instance to come back", func() bool {
		return slices.Equal(ids(w.Healthy(svc)), []string{a.id})
	})
	if got := w.Healthy(svc)[0].Meta[discovery.MetaRPCQueue]; got != discovery.RPCQueue(svc) {
		t.Errorf("meta rpc_queue = %q, want %q", got, discovery.RPCQueue(svc))
	}
}

// After a snapshot restore the index goes backwards. A client that keeps
// blocking on its old, higher index would miss every change until the
// index catches up. Consul's docs ("Reset the index if it goes backwards")
// say to reset to 0, restarting the loop: the next query is a plain read,
// and the one after it blocks on the index that read returned (at least 1).
func TestWatcherIndexGoesBackwards(t *testing.T) {
	t.Parallel()
	h := consulServer(t)
	fake := h.requireFake(t)
	client, _ := h.client(t)
	svc := uniqueService(t)
	a := h.startInstance(t, client, svc, nil)
	b := h.startInstance(t, client, svc, nil)
	// Push the index well above where a reset puts it.
	for range 20 {
		a.setPassing(t, true)
	}
	const interval = 50 * time.Millisecond
	w, cnt, _ := watch(t, h, interval, svc)
	testenv.EventuallyWithin(t, h.settle, "both healthy", func() bool { return len(w.Healthy(svc)) == 2 })

	// Consul abandons queries in flight on a restore; a query sent after
	// it with the old index just blocks until wait ends (see
	// agent/blockingquery). Act while the watcher is parked.
	path := "/v1/health/service/" + svc
	testenv.EventuallyWithin(t, h.settle, "watcher to block", func() bool { return fake.Blocked(path) == 1 })
	parked := cnt.sentIndexes(path, 0)
	if old, _ := strconv.ParseUint(parked[len(parked)-1], 10, 64); old <= 2 {
		t.Fatalf("parked query index %d; the test needs one well above a restored index", old)
	}
	before := cnt.count(path) // the parked query is counted already
	fake.ResetIndex()
	testenv.EventuallyWithin(t, h.settle, "watcher to block again after the reset", func() bool {
		return len(cnt.sentIndexes(path, before)) >= 1 && fake.Blocked(path) == 1
	})
	sent := cnt.sentIndexes(path, before)
	if sent[0] != "" {
		t.Fatalf("queries after the index went backwards sent index=%v; want none first (reset to 0: a plain read)", sent)
	}
	if len(sent) < 2 {
		t.Fatalf("queries after the index went backwards: %v; want the plain read and then a blocking query", sent)
	}
	if idx, err := strconv.ParseUint(sent[1], 10, 64); err != nil || idx < 1 {
		t.Errorf("query after the restart read sent index=%q; want the index that read returned (at least 1)", sent[1])
	}
	time.Sleep(500 * time.Millisecond)
	// Reset wakes the blocked query, one plain read restarts the loop, and
	// then it blocks again: a handful of queries, not a busy loop.
	if queries := cnt.count(path) - before; queries > 5 {
		t.Errorf("%d health queries in 500ms after the index went backwards (sent indexes %v); the loop should block again", queries, cnt.sentIndexes(path, before))
	}
	a.setPassing(t, false)
	testenv.EventuallyWithin(t, h.settle, "change after the reset to be seen", func() bool {
		return slices.Equal(ids(w.Healthy(svc)), []string{b.id})
	})
}

// X-Consul-Index 0 (a Consul bug the docs warn about) makes every query
// return at once; the token bucket keeps the loop at its steady rate.
func TestWatcherRateLimitsBusyLoop(t *testing.T) {
	t.Parallel()
	h := consulServer(t)
	fake := h.requireFake(t)
	client, _ := h.client(t)
	svc := uniqueService(t)
	a := h.startInstance(t, client, svc, nil)
	const interval = 100 * time.Millisecond
	w, cnt, _ := watch(t, h, interval, svc)
	testenv.EventuallyWithin(t, h.settle, "healthy", func() bool { return w.HasHealthy(svc) })

	fake.ReportZeroIndex(true)
	a.setPassing(t, true) // a write, so the parked query answers with the bad index
	before := cnt.count("/v1/health/service/" + svc)
	const window = time.Second
	time.Sleep(window)
	queries := cnt.count("/v1/health/service/"+svc) - before
	// Burst 2 plus one per interval, with slack for scheduling.
	if limit := int(window/interval) + 2 + 3; queries > limit {
		t.Errorf("%d queries in %s with a 0 index; the rate limit allows about %d", queries, window, limit)
	}
	if queries < 3 {
		t.Errorf("only %d queries in %s: the loop stalled instead of polling", queries, window)
	}
	a.setPassing(t, false)
	testenv.EventuallyWithin(t, h.settle, "change seen while polling", func() bool { return !w.HasHealthy(svc) })
}

func TestWatcherKeepsLastGoodAnswerOnErrors(t *testing.T) {
	t.Parallel()
	h := consulServer(t)
	fake := h.requireFake(t)
	client, _ := h.client(t)
	svc := uniqueService(t)
	a := h.startInstance(t, client, svc, nil)
	b := h.startInstance(t, client, svc, nil)
	w, cnt, reg := watch(t, h, 10*time.Millisecond, svc)
	testenv.EventuallyWithin(t, h.settle, "both healthy", func() bool { return len(w.Healthy(svc)) == 2 })

	fake.SetFailing(true)
	t.Cleanup(func() { fake.SetFailing(false) }) // before the deregistrations
	before := cnt.count("/v1/health/service/" + svc)
	testenv.EventuallyWithin(t, h.settle, "failed queries", func() bool {
		return telemetrytest.Value(t, reg, "oc_discovery_errors_total", map[string]string{"watch": svc}) >= 2
	})
	want := []string{a.id, b.id}
	slices.Sort(want)
	if got := ids(w.Healthy(svc)); !slices.Equal(got, want) {
		t.Fatalf("after errors Healthy = %v, want the last good answer %v", got, want)
	}
	// Backoff, not a busy loop: a few retries at most in this short window.
	if n := cnt.count("/v1/health/service/"+svc) - before; n > 10 {
		t.Errorf("%d queries while Consul failed; want backoff", n)
	}
	fake.SetFailing(false)
	a.setPassing(t, false)
	testenv.EventuallyWithin(t, 2*h.settle+30*time.Second, "recovery after errors", func() bool {
		return slices.Equal(ids(w.Healthy(svc)), []string{b.id})
	})
}

func TestWatcherRunTwice(t *testing.T) {
	t.Parallel()
	h := consulServer(t)
	client, _ := h.client(t)
	w := discovery.NewConsulWatcher(client, []string{"x"}, discovery.WatchOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Run(ctx); err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
	if err := w.Run(ctx); err == nil {
		t.Error("second Run returned nil; want an error")
	}
}
