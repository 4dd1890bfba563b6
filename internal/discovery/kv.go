package discovery

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// KVOptions tune a KVWatcher. Zero values take the Config defaults.
type KVOptions[T any] struct {
	Log              *slog.Logger
	Metrics          prometheus.Registerer
	WaitTime         time.Duration
	MinQueryInterval time.Duration
	// OnChange, if set, is called on the watch goroutine after a new value
	// was applied (including a return to the default when the key is
	// deleted). It must return quickly.
	OnChange func(T)
}

// KVWatcher keeps a typed value decoded from one Consul KV key, live.
//
// The key is watched with blocking queries (same index rules and rate
// limit as the instance Watcher). Each new raw value goes through parse,
// which must also validate: a value parse refuses is logged, counted
// (oc_discovery_kv_updates_total{result="refused"}) and ignored, and the
// previous value stays in force. A missing key means the default. A failed
// query keeps the current value and retries with backoff.
//
// Get is lock-free and safe for concurrent use.
type KVWatcher[T any] struct {
	client *api.Client
	key    string
	def    T
	parse  func([]byte) (T, error)
	opt    KVOptions[T]
	log    *slog.Logger
	m      *metrics

	cur     atomic.Pointer[T]
	synced  chan struct{}
	running atomic.Bool
}

// NewKVWatcher returns a watcher of key. def is the value while the key is
// absent (and before the first answer). A nil client means there is no
// Consul (static mode): Get always returns def. Call Run.
func NewKVWatcher[T any](client *api.Client, key string, def T, parse func([]byte) (T, error), opt KVOptions[T]) *KVWatcher[T] {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.WaitTime <= 0 {
		opt.WaitTime = DefaultWaitTime
	}
	if opt.MinQueryInterval <= 0 {
		opt.MinQueryInterval = DefaultMinQueryInterval
	}
	w := &KVWatcher[T]{
		client: client, key: key, def: def, parse: parse, opt: opt,
		log:    opt.Log.With("component", "discovery", "key", key),
		m:      newMetrics(opt.Metrics),
		synced: make(chan struct{}),
	}
	w.cur.Store(&def)
	if client == nil {
		close(w.synced)
	}
	return w
}

// Get returns the value in force. Values are shared between callers:
// treat maps and slices inside as read-only.
func (w *KVWatcher[T]) Get() T { return *w.cur.Load() }

// WaitSynced waits for the first answer from Consul (immediately true in
// static mode), or for ctx to end.
func (w *KVWatcher[T]) WaitSynced(ctx context.Context) error {
	select {
	case <-w.synced:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run watches until ctx ends and then returns nil. It may be called once.
func (w *KVWatcher[T]) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("discovery: KVWatcher.Run called twice")
	}
	if w.client == nil {
		<-ctx.Done()
		return nil
	}
	lim := rate.NewLimiter(rate.Every(w.opt.MinQueryInterval), 2)
	bo := backoff{min: 200 * time.Millisecond, max: 30 * time.Second}
	kv := w.client.KV()
	var (
		index   uint64
		lastRaw []byte // the last raw value seen (applied or refused)
		present bool
		first   = true
	)
	for {
		if err := lim.Wait(ctx); err != nil {
			return nil
		}
		qctx, cancel := context.WithTimeout(ctx, queryTimeout(w.opt.WaitTime))
		q := (&api.QueryOptions{WaitIndex: index, WaitTime: w.opt.WaitTime, AllowStale: true}).WithContext(qctx)
		pair, meta, err := kv.Get(w.key, q)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			w.m.errors.WithLabelValues(w.key).Inc()
			d := bo.next()
			w.log.Warn("consul kv query failed; keeping current config", "err", err, "retry_in", d)
			if !sleep(ctx, d) {
				return nil
			}
			continue
		}
		bo.reset()
		index = nextIndex(index, meta.LastIndex)
		switch {
		case pair == nil:
			if present || first {
				present, lastRaw = false, nil
				if !first {
					w.log.Info("live config key deleted; using defaults")
					w.m.kvUpdates.WithLabelValues(w.key, "deleted").Inc()
				}
				w.store(w.def)
			}
		case present && bytes.Equal(pair.Value, lastRaw):
			// Woken without a change to this key.
		default:
			present, lastRaw = true, bytes.Clone(pair.Value)
			v, err := w.parse(pair.Value)
			if err != nil {
				w.m.kvUpdates.WithLabelValues(w.key, "refused").Inc()
				w.log.Error("live config refused; keeping the config in force", "err", err, "modify_index", pair.ModifyIndex)
				break
			}
			w.m.kvUpdates.WithLabelValues(w.key, "applied").Inc()
			w.log.Info("live config applied", "modify_index", pair.ModifyIndex)
			w.store(v)
		}
		if first {
			first = false
			close(w.synced)
		}
	}
}

func (w *KVWatcher[T]) store(v T) {
	w.cur.Store(&v)
	if w.opt.OnChange != nil {
		w.opt.OnChange(v)
	}
}
