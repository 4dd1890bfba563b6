package bus

import (
	"maps"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/telemetry"
)

var rpcBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

type connMetrics struct {
	connected  prometheus.Gauge
	reconnects prometheus.Counter
	blocked    prometheus.Gauge
}

func newConnMetrics(reg prometheus.Registerer, name string) connMetrics {
	connected := telemetry.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "oc_bus_connected", Help: "1 while the AMQP connection is open.",
	}, []string{"conn"}))
	reconnects := telemetry.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oc_bus_reconnects_total", Help: "AMQP reconnections after a lost connection.",
	}, []string{"conn"}))
	blocked := telemetry.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "oc_bus_blocked", Help: "1 while the broker blocks publishing (memory or disk alarm).",
	}, []string{"conn"}))
	return connMetrics{
		connected:  connected.WithLabelValues(name),
		reconnects: reconnects.WithLabelValues(name),
		blocked:    blocked.WithLabelValues(name),
	}
}

type clientMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	late     prometheus.Counter
	inFlight prometheus.Gauge
	returns  prometheus.Counter
	series   seriesCache
}

func newClientMetrics(reg prometheus.Registerer) *clientMetrics {
	req := telemetry.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oc_rpc_client_requests_total", Help: "RPC calls made, by outcome code (ok or an error code).",
	}, []string{"service", "method", "code"}))
	return &clientMetrics{
		requests: req,
		duration: telemetry.Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "oc_rpc_client_duration_seconds", Help: "RPC call latency seen by the caller.", Buckets: rpcBuckets,
		}, []string{"service", "method"})),
		late: telemetry.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oc_rpc_client_late_replies_total", Help: "Replies that arrived after their caller gave up.",
		})),
		inFlight: telemetry.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "oc_rpc_client_in_flight", Help: "RPC calls waiting for a reply.",
		})),
		returns: telemetry.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oc_bus_returns_total", Help: "Mandatory publishes returned by the broker (no queue bound).",
		})),
	}
}

type serverMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	expired  prometheus.Counter
}

func newServerMetrics(reg prometheus.Registerer, service string) *serverMetrics {
	expired := telemetry.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oc_rpc_server_expired_total", Help: "Requests skipped because their deadline had passed.",
	}, []string{"service"}))
	return &serverMetrics{
		requests: telemetry.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oc_rpc_server_requests_total", Help: "RPC requests served, by reply code.",
		}, []string{"service", "method", "code"})),
		duration: telemetry.Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "oc_rpc_server_duration_seconds", Help: "RPC handler latency.", Buckets: rpcBuckets,
		}, []string{"service", "method"})),
		expired: expired.WithLabelValues(service),
	}
}

type eventMetrics struct {
	published    *prometheus.CounterVec
	consumed     *prometheus.CounterVec
	deadLettered *prometheus.CounterVec
}

func newEventMetrics(reg prometheus.Registerer) *eventMetrics {
	return &eventMetrics{
		published: telemetry.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oc_events_published_total", Help: "Events published and confirmed by the broker.",
		}, []string{"type"})),
		consumed: telemetry.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oc_events_consumed_total", Help: "Events handled, by result (ok, retry, dead_lettered).",
		}, []string{"service", "type", "result"})),
		deadLettered: telemetry.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oc_events_dead_lettered_total", Help: "Events moved to the dead-letter queue.",
		}, []string{"service"})),
	}
}

// rpcSeries holds the series of one (service, method) that every call
// touches, so the hot path does not hash label values: the duration
// histogram and the counter of successes. Other outcome codes are rare and
// go through WithLabelValues.
type rpcSeries struct {
	ok  prometheus.Counter
	dur prometheus.Observer
}

type seriesKey struct{ service, method string }

// seriesCache maps (service, method) to its rpcSeries: a copy-on-write
// map read without locks; a miss builds the series under mu.
type seriesCache struct {
	m  atomic.Pointer[map[seriesKey]*rpcSeries]
	mu sync.Mutex
}

func (c *seriesCache) get(requests *prometheus.CounterVec, duration *prometheus.HistogramVec, service, method string) *rpcSeries {
	k := seriesKey{service, method}
	if m := c.m.Load(); m != nil {
		if s := (*m)[k]; s != nil {
			return s
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	if old != nil {
		if s := (*old)[k]; s != nil {
			return s
		}
	}
	s := &rpcSeries{
		ok:  requests.WithLabelValues(service, method, contracts.StatusOK),
		dur: duration.WithLabelValues(service, method),
	}
	m := make(map[seriesKey]*rpcSeries, 1)
	if old != nil {
		m = maps.Clone(*old)
	}
	m[k] = s
	c.m.Store(&m)
	return s
}
