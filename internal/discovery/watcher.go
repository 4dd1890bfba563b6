package discovery

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Well-known tags and meta keys of a registration.
const (
	// TagMetrics marks an instance Prometheus scrapes (consul_sd keeps
	// instances whose tags match ".*,metrics,.*").
	TagMetrics = "metrics"
	// MetaRPCQueue names the instance's RPC queue ("rpc.product").
	MetaRPCQueue = "rpc_queue"
	// MetaDataPort is the port of the file service's data (upload/download)
	// listener on the instance's address.
	MetaDataPort = "data_port"
)

// RPCQueue is the RPC queue of a service: "rpc.<service>".
func RPCQueue(service string) string { return "rpc." + service }

// Instance is one healthy instance of a service. Values handed out by a
// Watcher are shared: treat them, their Tags and their Meta as read-only.
type Instance struct {
	ID      string
	Service string
	Node    string
	// Address is the service address, or the node's when the service
	// registered none (Consul's rule). Empty in static mode.
	Address string
	Port    int
	Tags    []string
	Meta    map[string]string
	// DataURL is the base URL of the instance's data port
	// ("http://10.0.0.7:8090") built from Meta[MetaDataPort], or in static
	// mode the configured URL; empty when the instance has none.
	DataURL string
}

func (i *Instance) equal(o *Instance) bool {
	return i.ID == o.ID && i.Node == o.Node && i.Address == o.Address && i.Port == o.Port &&
		i.DataURL == o.DataURL && slices.Equal(i.Tags, o.Tags) && maps.Equal(i.Meta, o.Meta)
}

// WatchOptions tune a Watcher. Zero values take the Config defaults.
type WatchOptions struct {
	Log     *slog.Logger
	Metrics prometheus.Registerer
	// WaitTime is the longest wait of one blocking query.
	WaitTime time.Duration
	// MinQueryInterval is the steady rate of a service's loop under churn
	// (token bucket with burst 2, as Consul's docs advise).
	MinQueryInterval time.Duration
	// StaticPollInterval is the static mode's queue inspection period.
	StaticPollInterval time.Duration
	// StaticInspectTimeout bounds one queue inspection in static mode
	// (default DefaultStaticInspectTimeout). An inspection that times out
	// counts as a failed one: the service keeps its last answer.
	StaticInspectTimeout time.Duration
	// ServicePrefix is put before each service name in Consul queries
	// (Config.ServicePrefix); Instance.Service keeps the plain name.
	ServicePrefix string
	// FileDataURL is the file service's data URL in static mode.
	FileDataURL string
	// OnChange, if set, is called after the healthy set of a service
	// changed (and once after its first answer), with the new set. It
	// runs on the watch goroutine of that service: calls for different
	// services may run concurrently; it must return quickly and must not
	// modify healthy.
	OnChange func(service string, healthy []Instance)
	// OnConfig, if set, is called (by Open's config watcher) after a new
	// live gateway config was applied; it must return quickly.
	OnConfig func(GatewayConfig)
}

// FileService is the service whose instances carry a data port.
const FileService = "file"

// Watcher keeps the healthy instances of a fixed set of services, from
// Consul (blocking queries on /v1/health/service/<name>?passing) or, in
// static mode, from the broker (a service is healthy while its RPC queue
// has consumers).
//
// Reads (Healthy, HasHealthy, Pick) are lock-free and safe for concurrent
// use from any goroutine; they return the last good answer: a failed query
// keeps the previous set and retries with backoff. Before the first answer
// a service has no instances; WaitSynced waits for it.
type Watcher struct {
	services map[string]*serviceState // fixed at construction: read without locks
	names    []string
	opt      WatchOptions
	log      *slog.Logger
	m        *metrics
	consul   *api.Client
	insp     QueueInspector
	running  atomic.Bool
}

type serviceState struct {
	name     string
	view     atomic.Pointer[[]Instance]
	rr       atomic.Uint64
	synced   chan struct{}
	syncOnce sync.Once
}

// NewConsulWatcher returns a Watcher of services through Consul. Call Run.
func NewConsulWatcher(client *api.Client, services []string, opt WatchOptions) *Watcher {
	w := newWatcher(services, opt)
	w.consul = client
	return w
}

// NewStaticWatcher returns a Watcher of services through the broker: a
// service is healthy while RPCQueue(service) has at least one consumer.
// Call Run.
func NewStaticWatcher(insp QueueInspector, services []string, opt WatchOptions) *Watcher {
	w := newWatcher(services, opt)
	w.insp = insp
	return w
}

func newWatcher(services []string, opt WatchOptions) *Watcher {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.WaitTime <= 0 {
		opt.WaitTime = DefaultWaitTime
	}
	if opt.MinQueryInterval <= 0 {
		opt.MinQueryInterval = DefaultMinQueryInterval
	}
	if opt.StaticPollInterval <= 0 {
		opt.StaticPollInterval = DefaultStaticPollInterval
	}
	if opt.StaticInspectTimeout <= 0 {
		opt.StaticInspectTimeout = DefaultStaticInspectTimeout
	}
	if opt.FileDataURL == "" {
		opt.FileDataURL = DefaultFileDataURL
	}
	w := &Watcher{
		services: make(map[string]*serviceState, len(services)),
		opt:      opt,
		log:      opt.Log.With("component", "discovery"),
		m:        newMetrics(opt.Metrics),
	}
	for _, s := range services {
		if _, dup := w.services[s]; dup || s == "" {
			continue
		}
		w.services[s] = &serviceState{name: s, synced: make(chan struct{})}
		w.names = append(w.names, s)
		w.m.healthy.WithLabelValues(s).Set(0)
	}
	return w
}

// Services lists the watched services in the order given.
func (w *Watcher) Services() []string { return slices.Clone(w.names) }

// Healthy returns the healthy instances of service, sorted by ID; nil for
// none or for a service not watched. The slice is shared: do not modify.
func (w *Watcher) Healthy(service string) []Instance {
	s := w.services[service]
	if s == nil {
		return nil
	}
	if v := s.view.Load(); v != nil {
		return *v
	}
	return nil
}

// HasHealthy reports whether service has at least one healthy instance.
// The gateway answers 503 at once when it has none.
func (w *Watcher) HasHealthy(service string) bool { return len(w.Healthy(service)) > 0 }

// Pick returns the next healthy instance of service in round-robin order,
// or false when there is none.
func (w *Watcher) Pick(service string) (Instance, bool) {
	s := w.services[service]
	if s == nil {
		return Instance{}, false
	}
	v := s.view.Load()
	if v == nil || len(*v) == 0 {
		return Instance{}, false
	}
	insts := *v
	return insts[(s.rr.Add(1)-1)%uint64(len(insts))], true
}

// WaitSynced waits until every service has had one answer (which may be
// "no instances") and OnChange has been called with it, or ctx ends.
func (w *Watcher) WaitSynced(ctx context.Context) error {
	for _, n := range w.names {
		select {
		case <-w.services[n].synced:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Run watches until ctx ends and then returns nil. It may be called once.
func (w *Watcher) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("discovery: Watcher.Run called twice")
	}
	var wg sync.WaitGroup
	if w.consul != nil {
		for _, n := range w.names {
			wg.Go(func() { w.runConsul(ctx, w.services[n]) })
		}
	} else if w.insp != nil {
		wg.Go(func() { w.runStatic(ctx) })
	}
	wg.Wait()
	return nil
}

// apply publishes a new healthy set if it differs from the current one.
func (w *Watcher) apply(s *serviceState, insts []Instance) {
	slices.SortFunc(insts, func(a, b Instance) int { return strings.Compare(a.ID, b.ID) })
	first := false
	s.syncOnce.Do(func() { first = true })
	if old := s.view.Load(); old != nil && slices.EqualFunc(*old, insts, func(a, b Instance) bool { return a.equal(&b) }) && !first {
		return
	}
	if len(insts) == 0 {
		insts = nil
	}
	s.view.Store(&insts)
	w.m.healthy.WithLabelValues(s.name).Set(float64(len(insts)))
	w.log.Debug("healthy instances changed", "service", s.name, "count", len(insts))
	if w.opt.OnChange != nil {
		w.opt.OnChange(s.name, insts)
	}
	// Synced after OnChange: once WaitSynced returns, OnChange has been
	// told every service's first set.
	if first {
		close(s.synced)
	}
}

// nextIndex returns the index of the next query given the one the last
// query sent (prev) and the X-Consul-Index its response returned (got),
// following "Implementation Details" in Consul's blocking-query docs:
//
//   - "Reset the index if it goes backwards": got < prev (snapshot restore,
//     a KV list losing its newest key, an upgrade) resets to 0, "effectively
//     restarting the blocking loop": the next query is a plain read, as the
//     first one was, and blocks nowhere.
//   - "Sanity check index is greater than zero": "after the initial request
//     (or a reset as above)" the index a response returns is used as at
//     least 1, so the next query really blocks instead of busy-looping on
//     a buggy 0.
//
// So 0 is sent only for the first query and once right after a reset; the
// response to that read (whose index is not behind the 0 it sent) brings
// the loop back to blocking on an index of at least 1.
func nextIndex(prev, got uint64) uint64 {
	if got < prev {
		return 0
	}
	if got < 1 {
		return 1
	}
	return got
}

// backoff is a capped exponential backoff with full jitter.
type backoff struct {
	min, max time.Duration
	n        int
}

func (b *backoff) next() time.Duration {
	d := b.min << min(b.n, 16)
	if d > b.max || d <= 0 {
		d = b.max
	}
	b.n++
	return d/2 + rand.N(d/2+1)
}

func (b *backoff) reset() { b.n = 0 }

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// queryTimeout bounds one blocking query: Consul may hold it for wait plus
// up to wait/16 of jitter; beyond that the connection is presumed dead.
func queryTimeout(wait time.Duration) time.Duration { return wait + wait/16 + 10*time.Second }

func (w *Watcher) runConsul(ctx context.Context, s *serviceState) {
	lim := rate.NewLimiter(rate.Every(w.opt.MinQueryInterval), 2)
	bo := backoff{min: 200 * time.Millisecond, max: 30 * time.Second}
	health := w.consul.Health()
	var index uint64
	for {
		if err := lim.Wait(ctx); err != nil {
			return
		}
		qctx, cancel := context.WithTimeout(ctx, queryTimeout(w.opt.WaitTime))
		// AllowStale: any server may answer, so reads spread over the
		// cluster and keep working during a leader election; an index
		// that goes backwards on a server switch is handled below.
		q := (&api.QueryOptions{WaitIndex: index, WaitTime: w.opt.WaitTime, AllowStale: true}).WithContext(qctx)
		entries, meta, err := health.Service(w.opt.ServicePrefix+s.name, "", true, q)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			w.m.errors.WithLabelValues(s.name).Inc()
			d := bo.next()
			w.log.Warn("consul health query failed; keeping last answer", "service", s.name, "err", err, "retry_in", d)
			if !sleep(ctx, d) {
				return
			}
			continue
		}
		bo.reset()
		prev := index
		index = nextIndex(index, meta.LastIndex)
		if index == 0 {
			w.log.Info("consul index went backwards; restarting watch", "service", s.name, "prev", prev, "got", meta.LastIndex)
		}
		insts := make([]Instance, 0, len(entries))
		for _, e := range entries {
			if e == nil || e.Service == nil {
				continue
			}
			insts = append(insts, instanceFromEntry(s.name, e))
		}
		w.apply(s, insts)
	}
}

func instanceFromEntry(service string, e *api.ServiceEntry) Instance {
	in := Instance{
		ID:      e.Service.ID,
		Service: service,
		Address: e.Service.Address,
		Port:    e.Service.Port,
		Tags:    e.Service.Tags,
		Meta:    e.Service.Meta,
	}
	if e.Node != nil {
		in.Node = e.Node.Node
		if in.Address == "" {
			in.Address = e.Node.Address
		}
	}
	if p, ok := in.Meta[MetaDataPort]; ok && in.Address != "" {
		if n, err := strconv.Atoi(p); err == nil && n > 0 && n < 65536 {
			in.DataURL = "http://" + net.JoinHostPort(in.Address, p)
		}
	}
	return in
}

func (w *Watcher) runStatic(ctx context.Context) {
	t := time.NewTicker(w.opt.StaticPollInterval)
	defer t.Stop()
	failing := make(map[string]bool, len(w.names)) // log transitions, not every poll
	for {
		for _, n := range w.names {
			s := w.services[n]
			// Bounded, so one hung broker call cannot hold up the other
			// services' inspections (AMQPInspector aborts its connection
			// when the deadline passes).
			qctx, cancel := context.WithTimeout(ctx, w.opt.StaticInspectTimeout)
			consumers, err := w.insp.Consumers(qctx, RPCQueue(n))
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				w.m.errors.WithLabelValues(n).Inc()
				if !failing[n] {
					w.log.Warn("queue inspection failed; keeping last answer", "service", n, "err", err)
				}
				failing[n] = true
				continue
			}
			if failing[n] {
				w.log.Info("queue inspection works again", "service", n)
				failing[n] = false
			}
			var insts []Instance
			if consumers > 0 {
				in := Instance{
					ID:      "static-" + n,
					Service: n,
					Meta:    map[string]string{MetaRPCQueue: RPCQueue(n)},
				}
				if n == FileService {
					in.DataURL = w.opt.FileDataURL
				}
				insts = []Instance{in}
			}
			w.apply(s, insts)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}
