package discovery_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/opencommerce/opencommerce/internal/discovery"
	"github.com/opencommerce/opencommerce/internal/telemetry/telemetrytest"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// The gateway reads a Watcher the same way whichever mode fills it: Consul
// (health checks) or static (consumers on the broker). TestWatcherModes
// runs one set of behavioural cases against both, as watermill runs one
// suite against every Pub/Sub; what only one mode can do (several
// instances of a service, Consul's blocking-query rules, a hung broker)
// keeps its own tests.

// suiteDataURL is where both modes put the file service's data port:
// Consul from the instance's address and meta data_port, static mode from
// its configuration.
const suiteDataURL = "http://127.0.0.1:8090"

// modeBackend runs instances in one mode.
type modeBackend interface {
	// start runs one instance of service, healthy, and returns its health
	// switch.
	start(t *testing.T, service string) (setHealthy func(bool))
}

// watcherMode is one way a Watcher learns of instances.
type watcherMode struct {
	name string
	// open prepares the mode for the test and returns its backend, the
	// options the watcher needs, and the watcher constructor.
	open func(t *testing.T) (b modeBackend, opt discovery.WatchOptions, newWatcher func([]string, discovery.WatchOptions) *discovery.Watcher, settle time.Duration)
}

func watcherModes() []watcherMode {
	return []watcherMode{
		{name: "consul", open: func(t *testing.T) (modeBackend, discovery.WatchOptions, func([]string, discovery.WatchOptions) *discovery.Watcher, time.Duration) {
			h := consulServer(t)
			client, _ := h.client(t)
			// A prefix of its own, so a real agent shared with other tests
			// holds nothing of this test's under the plain names.
			b := &consulBackend{h: h, prefix: uniqueService(t) + "-"}
			opt := discovery.WatchOptions{WaitTime: 30 * time.Second, MinQueryInterval: 10 * time.Millisecond, ServicePrefix: b.prefix}
			return b, opt, func(s []string, o discovery.WatchOptions) *discovery.Watcher {
				return discovery.NewConsulWatcher(client, s, o)
			}, h.settle
		}},
		{name: "static", open: func(t *testing.T) (modeBackend, discovery.WatchOptions, func([]string, discovery.WatchOptions) *discovery.Watcher, time.Duration) {
			url := testenv.AMQP(t) // a vhost of its own
			insp := discovery.NewAMQPInspector(url)
			t.Cleanup(func() { _ = insp.Close() })
			b := &staticBackend{ch: amqpChannel(t, url)}
			opt := discovery.WatchOptions{StaticPollInterval: 20 * time.Millisecond, FileDataURL: suiteDataURL}
			return b, opt, func(s []string, o discovery.WatchOptions) *discovery.Watcher {
				return discovery.NewStaticWatcher(insp, s, o)
			}, 10 * time.Second
		}},
	}
}

// consulBackend registers instances with Consul (the fake or a real
// agent); health is the check's status.
type consulBackend struct {
	h      *harness
	prefix string
}

func (b *consulBackend) start(t *testing.T, service string) func(bool) {
	t.Helper()
	meta := map[string]string{discovery.MetaRPCQueue: discovery.RPCQueue(service)}
	if service == discovery.FileService {
		meta[discovery.MetaDataPort] = "8090"
	}
	client, _ := b.h.client(t)
	in := b.h.startInstance(t, client, b.prefix+service, meta)
	return func(ok bool) { in.setPassing(t, ok) }
}

// staticBackend runs instances as consumers of the service's RPC queue;
// health is whether the consumer is there.
type staticBackend struct {
	mu sync.Mutex
	ch *amqp.Channel
}

func (b *staticBackend) start(t *testing.T, service string) func(bool) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	q := discovery.RPCQueue(service)
	if _, err := b.ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	tag := "consumer-" + service
	consume := func() {
		if _, err := b.ch.Consume(q, tag, false, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	consume()
	return func(ok bool) {
		t.Helper()
		b.mu.Lock()
		defer b.mu.Unlock()
		if ok {
			consume()
		} else if err := b.ch.Cancel(tag, false); err != nil {
			t.Fatal(err)
		}
	}
}

// lastSets records the last set OnChange reported per service.
type lastSets struct {
	mu   sync.Mutex
	sets map[string][]discovery.Instance
}

func (l *lastSets) hook(service string, healthy []discovery.Instance) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sets == nil {
		l.sets = map[string][]discovery.Instance{}
	}
	l.sets[service] = healthy
}

func (l *lastSets) get(service string) (insts []discovery.Instance, called bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	insts, called = l.sets[service]
	return insts, called
}

// modeEnv is one case's running watcher with its backend.
type modeEnv struct {
	b       modeBackend
	w       *discovery.Watcher
	reg     *prometheus.Registry
	changes *lastSets
	settle  time.Duration
}

func (e *modeEnv) healthyGauge(t *testing.T, service string) float64 {
	t.Helper()
	return telemetrytest.Value(t, e.reg, "oc_discovery_healthy_instances", map[string]string{"service": service})
}

var modeCases = []struct {
	name string
	run  func(t *testing.T, e *modeEnv)
}{
	{"synced with nothing running: no healthy instance", func(t *testing.T, e *modeEnv) {
		for _, s := range []string{"product", discovery.FileService} {
			if e.w.HasHealthy(s) || len(e.w.Healthy(s)) != 0 {
				t.Errorf("%s healthy with nothing running", s)
			}
			if _, ok := e.w.Pick(s); ok {
				t.Errorf("Pick(%s) found an instance with nothing running", s)
			}
		}
		if e.w.HasHealthy("never-watched") {
			t.Error("a service the watcher does not watch is healthy")
		}
	}},
	{"an instance is followed as its health changes", func(t *testing.T, e *modeEnv) {
		setHealthy := e.b.start(t, "product")
		testenv.EventuallyWithin(t, e.settle, "product healthy once its instance runs", func() bool { return e.w.HasHealthy("product") })
		in, ok := e.w.Pick("product")
		if !ok || in.Service != "product" || in.ID == "" || in.Meta[discovery.MetaRPCQueue] != "rpc.product" || in.DataURL != "" {
			t.Errorf("Pick(product) = %+v, %v; want an instance of product with meta rpc_queue and no data URL", in, ok)
		}
		if got := e.healthyGauge(t, "product"); got != 1 {
			t.Errorf("oc_discovery_healthy_instances{service=product} = %v, want 1", got)
		}
		if e.w.HasHealthy(discovery.FileService) {
			t.Error("file healthy while only product runs")
		}

		setHealthy(false)
		testenv.EventuallyWithin(t, e.settle, "product unhealthy once its instance is", func() bool { return !e.w.HasHealthy("product") })
		if _, ok := e.w.Pick("product"); ok {
			t.Error("Pick returned an instance of a service with none healthy")
		}
		if got := e.healthyGauge(t, "product"); got != 0 {
			t.Errorf("oc_discovery_healthy_instances{service=product} = %v after it went down, want 0", got)
		}

		setHealthy(true)
		testenv.EventuallyWithin(t, e.settle, "product healthy again once it recovers", func() bool { return e.w.HasHealthy("product") })
	}},
	{"the file service's instance carries its data URL", func(t *testing.T, e *modeEnv) {
		e.b.start(t, discovery.FileService)
		testenv.EventuallyWithin(t, e.settle, "file healthy", func() bool { return e.w.HasHealthy(discovery.FileService) })
		if in, _ := e.w.Pick(discovery.FileService); in.DataURL != suiteDataURL {
			t.Errorf("file DataURL = %q, want %s", in.DataURL, suiteDataURL)
		}
	}},
	{"OnChange reports each new healthy set", func(t *testing.T, e *modeEnv) {
		if insts, called := e.changes.get("product"); !called || len(insts) != 0 {
			t.Errorf("after the first answer OnChange(product) was called %v with %v; want called with an empty set", called, insts)
		}
		setHealthy := e.b.start(t, "product")
		testenv.EventuallyWithin(t, e.settle, "OnChange with product's instance", func() bool {
			insts, _ := e.changes.get("product")
			return len(insts) == 1 && insts[0].Service == "product"
		})
		setHealthy(false)
		testenv.EventuallyWithin(t, e.settle, "OnChange with product's empty set", func() bool {
			insts, _ := e.changes.get("product")
			return len(insts) == 0
		})
	}},
}

// TestWatcherModes runs every case against both modes.
func TestWatcherModes(t *testing.T) {
	t.Parallel()
	for _, m := range watcherModes() {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range modeCases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					b, opt, newWatcher, settle := m.open(t)
					e := &modeEnv{b: b, reg: prometheus.NewRegistry(), changes: &lastSets{}, settle: settle}
					opt.Metrics, opt.OnChange = e.reg, e.changes.hook
					e.w = newWatcher([]string{"product", discovery.FileService}, opt)
					runWatcher(t, e.w.Run)
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					if err := e.w.WaitSynced(ctx); err != nil {
						t.Fatalf("watcher never synced: %v", err)
					}
					tc.run(t, e)
				})
			}
		})
	}
}
