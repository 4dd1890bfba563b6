package loadgen

import (
	"sort"
	"sync"
	"time"
)

// Recorder collects the outcome of every request, per endpoint (a route
// pattern such as "GET /products/{id}"): a latency histogram, successes,
// and failures by HTTP status (0 = no response: connection error or
// timeout). It also keeps an interval histogram for live progress. Safe for
// concurrent use.
type Recorder struct {
	mu       sync.Mutex
	eps      map[string]*endpointStats
	interval Histogram
	ivCount  uint64
	ivErrors uint64
	limited  map[string]uint64 // 429s waited out, per endpoint
}

type endpointStats struct {
	hist     Histogram
	ok       uint64
	byStatus map[int]uint64
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{eps: map[string]*endpointStats{}} }

// Success reports whether an HTTP status counts as a success (2xx).
func Success(status int) bool { return status >= 200 && status < 300 }

// Record counts one request of endpoint that ended with status after lat.
func (r *Recorder) Record(endpoint string, status int, lat time.Duration) {
	r.mu.Lock()
	e := r.eps[endpoint]
	if e == nil {
		e = &endpointStats{byStatus: map[int]uint64{}}
		r.eps[endpoint] = e
	}
	e.hist.RecordDuration(lat)
	r.interval.RecordDuration(lat)
	r.ivCount++
	if Success(status) {
		e.ok++
	} else {
		e.byStatus[status]++
		r.ivErrors++
	}
	r.mu.Unlock()
}

// RateLimited counts one 429 of endpoint that the client waited out and
// sent again (not a failure: the request was then recorded as answered).
func (r *Recorder) RateLimited(endpoint string) {
	r.mu.Lock()
	if r.limited == nil {
		r.limited = map[string]uint64{}
	}
	r.limited[endpoint]++
	r.mu.Unlock()
}

// RateLimitedWaits returns the 429s waited out, per endpoint.
func (r *Recorder) RateLimitedWaits() map[string]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]uint64, len(r.limited))
	for k, v := range r.limited {
		out[k] = v
	}
	return out
}

// Interval returns the requests, errors and latency histogram since the
// previous call, and starts a new interval.
func (r *Recorder) Interval() (count, errors uint64, h Histogram) {
	r.mu.Lock()
	defer r.mu.Unlock()
	count, errors, h = r.ivCount, r.ivErrors, r.interval
	r.ivCount, r.ivErrors = 0, 0
	r.interval.Reset()
	return count, errors, h
}

// EndpointSummary is the result of one endpoint (or of all together).
type EndpointSummary struct {
	Endpoint string         `json:"endpoint"`
	Requests uint64         `json:"requests"`
	Errors   uint64         `json:"errors"`
	PerSec   float64        `json:"per_sec"`
	ByStatus map[int]uint64 `json:"errors_by_status,omitempty"`
	Latency  Latency        `json:"latency"`
}

// Latency is a latency distribution summary.
type Latency struct {
	P50  time.Duration `json:"p50_ns"`
	P90  time.Duration `json:"p90_ns"`
	P99  time.Duration `json:"p99_ns"`
	P999 time.Duration `json:"p999_ns"`
	Max  time.Duration `json:"max_ns"`
	Mean time.Duration `json:"mean_ns"`
}

// LatencyOf summarises h.
func LatencyOf(h *Histogram) Latency {
	return Latency{
		P50: h.QuantileDuration(0.50), P90: h.QuantileDuration(0.90), P99: h.QuantileDuration(0.99),
		P999: h.QuantileDuration(0.999), Max: time.Duration(h.Max()), Mean: time.Duration(h.Mean()),
	}
}

// Summaries returns one summary per endpoint (sorted by name) and the
// overall one (every endpoint merged), with rates over elapsed.
func (r *Recorder) Summaries(elapsed time.Duration) (per []EndpointSummary, overall EndpointSummary) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all Histogram
	overall = EndpointSummary{Endpoint: "overall", ByStatus: map[int]uint64{}}
	names := make([]string, 0, len(r.eps))
	for n := range r.eps {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		e := r.eps[n]
		s := summary(n, &e.hist, e.ok, e.byStatus, elapsed)
		per = append(per, s)
		all.Merge(&e.hist)
		overall.Requests += s.Requests
		overall.Errors += s.Errors
		for st, c := range e.byStatus {
			overall.ByStatus[st] += c
		}
	}
	overall.Latency = LatencyOf(&all)
	if elapsed > 0 {
		overall.PerSec = float64(overall.Requests) / elapsed.Seconds()
	}
	return per, overall
}

func summary(name string, h *Histogram, ok uint64, byStatus map[int]uint64, elapsed time.Duration) EndpointSummary {
	s := EndpointSummary{Endpoint: name, Requests: h.Count(), Latency: LatencyOf(h), ByStatus: map[int]uint64{}}
	for st, c := range byStatus {
		s.ByStatus[st] = c
		s.Errors += c
	}
	_ = ok
	if elapsed > 0 {
		s.PerSec = float64(s.Requests) / elapsed.Seconds()
	}
	return s
}
