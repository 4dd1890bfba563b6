package edge

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencommerce/opencommerce/internal/telemetry"
)

type metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	inflight  prometheus.Gauge
	cacheHit  prometheus.Counter
	cacheMiss prometheus.Counter
	rejected  *prometheus.CounterVec
	unmatched [600]atomic.Pointer[prometheus.Counter]
	// unmatchedDur times requests no route served (404, 405, preflight).
	unmatchedDur prometheus.Observer
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: telemetry.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oc_http_requests_total", Help: "HTTP requests served by the gateway, by route pattern, method and status.",
		}, []string{"route", "method", "code"})),
		duration: telemetry.Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "oc_http_request_duration_seconds", Help: "Time to serve an HTTP request, by route pattern and method.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"})),
		inflight: telemetry.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "oc_http_requests_in_flight", Help: "HTTP requests being served by the gateway.",
		})),
		rejected: telemetry.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oc_ratelimit_rejected_total", Help: "Requests refused by the rate limiter, by class.",
		}, []string{"class"})),
	}
	m.unmatchedDur = m.duration.WithLabelValues("unmatched", "")
	cacheReq := telemetry.CacheRequests(reg)
	m.cacheHit = cacheReq.WithLabelValues("gateway", "hit")
	m.cacheMiss = cacheReq.WithLabelValues("gateway", "miss")
	return m
}

// observe records one request of rt with status code; it does not allocate
// once the (route, code) series exists.
func (rt *route) observe(code int, d time.Duration) {
	rt.dur.Observe(d.Seconds())
	if code < 100 || code >= 600 {
		code = 500
	}
	if c := rt.codes[code].Load(); c != nil {
		(*c).Inc()
		return
	}
	c := rt.g.m.requests.WithLabelValues(rt.label, rt.Method, strconv.Itoa(code))
	rt.codes[code].Store(&c)
	c.Inc()
}

// observeUnmatched records a request that matched no route (404, 405, CORS
// preflight, bad requests before routing) under the route label
// "unmatched".
func (m *metrics) observeUnmatched(code int, d time.Duration) {
	m.unmatchedDur.Observe(d.Seconds())
	if code < 100 || code >= 600 {
		code = 500
	}
	if c := m.unmatched[code].Load(); c != nil {
		(*c).Inc()
		return
	}
	c := m.requests.WithLabelValues("unmatched", "", strconv.Itoa(code))
	m.unmatched[code].Store(&c)
	c.Inc()
}
