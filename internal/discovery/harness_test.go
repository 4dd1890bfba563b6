package discovery_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/opencommerce/opencommerce/internal/discovery"
	"github.com/opencommerce/opencommerce/internal/discovery/consultest"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// harness is the Consul a test talks to: the in-process fake, or a real
// agent when CONSUL_HTTP_ADDR is set (then fake-only controls skip).
type harness struct {
	fake *consultest.Server // nil with a real agent
	addr string
	// settle bounds how long a change may take to reach a watcher: the
	// fake answers at once; a real agent runs the HTTP check every second.
	settle time.Duration
}

func consulServer(t *testing.T) *harness {
	t.Helper()
	if addr := os.Getenv("CONSUL_HTTP_ADDR"); addr != "" {
		return &harness{addr: addr, settle: 15 * time.Second}
	}
	f := consultest.New(t)
	return &harness{fake: f, addr: f.Addr, settle: 5 * time.Second}
}

// requireFake skips tests that need the fake's fault controls.
func (h *harness) requireFake(t *testing.T) *consultest.Server {
	t.Helper()
	if h.fake == nil {
		t.Skip("needs the consultest fault controls; running against a real agent")
	}
	return h.fake
}

// counter counts requests by path through a client's transport, and keeps
// the index parameter each sent ("" for none) in order.
type counter struct {
	base    http.RoundTripper
	mu      sync.Mutex
	n       map[string]int
	indexes map[string][]string
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n[r.URL.Path]++
	c.indexes[r.URL.Path] = append(c.indexes[r.URL.Path], r.URL.Query().Get("index"))
	c.mu.Unlock()
	return c.base.RoundTrip(r)
}

// sentIndexes returns the index parameters of the requests on path from
// the from-th on (0-based, in the order they were sent).
func (c *counter) sentIndexes(path string, from int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if from >= len(c.indexes[path]) {
		return nil
	}
	return slices.Clone(c.indexes[path][from:])
}

func (c *counter) count(pathPrefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for p, v := range c.n {
		if strings.HasPrefix(p, pathPrefix) {
			n += v
		}
	}
	return n
}

// client returns a real consul/api client whose requests are counted.
func (h *harness) client(t *testing.T) (*api.Client, *counter) {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	c := &counter{base: tr, n: map[string]int{}, indexes: map[string][]string{}}
	cl, err := discovery.NewClient(h.addr, os.Getenv("CONSUL_HTTP_TOKEN"), c)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return cl, c
}

// instance is a registered test instance with a /readyz we control.
type instance struct {
	id    string
	port  int
	ready atomic.Bool
	h     *harness
}

// startInstance registers an instance of service through discovery.Register
// (deregistered when the test ends) and makes it passing.
func (h *harness) startInstance(t *testing.T, client *api.Client, service string, meta map[string]string) *instance {
	t.Helper()
	in := &instance{h: h}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" && in.ready.Load() {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	in.port = srv.Listener.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dereg, err := discovery.Register(ctx, client, discovery.Registration{
		Service:       service,
		Address:       "127.0.0.1",
		Port:          in.port,
		AdminURL:      srv.URL,
		Meta:          meta,
		CheckInterval: time.Second,
		CheckTimeout:  time.Second,
	})
	if err != nil {
		t.Fatalf("register %s: %v", service, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := dereg(ctx); err != nil {
			t.Errorf("deregister: %v", err)
		}
	})
	in.id = service + "-127.0.0.1-" + strconv.Itoa(in.port)
	in.setPassing(t, true)
	return in
}

// setPassing makes the instance's check pass or fail: through the fake's
// SetCheck, or through its /readyz which a real agent polls.
func (in *instance) setPassing(t *testing.T, ok bool) {
	t.Helper()
	in.ready.Store(ok)
	if in.h.fake != nil {
		status := api.HealthCritical
		if ok {
			status = api.HealthPassing
		}
		if err := in.h.fake.SetCheck(in.id, status); err != nil {
			t.Fatalf("set check: %v", err)
		}
	}
}

// runWatcher runs w until the test ends.
func runWatcher(t *testing.T, run func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func uniqueService(t *testing.T) string {
	t.Helper()
	return strings.ReplaceAll(testenv.Name("svc"), "_", "-")
}
