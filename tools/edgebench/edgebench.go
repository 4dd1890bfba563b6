// Package edgebench measures the gateway against bare baselines in one run,
// with one load driver (an in-process fasthttp HostClient with N
// connections, each driven by its own goroutine, closed loop):
//
//	(a) bare     — a bare fasthttp handler answering a ~300-byte JSON body;
//	(b) cached   — GET /api/v1/products/{id} through the gateway, served
//	               from its cache;
//	(c) rpc      — an uncached public GET through the gateway to an echo
//	               service over RabbitMQ (internal/bus);
//	(d) bare-rpc — a bare amqp091-go RPC echo (tools/benchrpc) with
//	               N calls in flight;
//	(e) bus-rpc  — the same echo through internal/bus (client and server,
//	               default reply path): (c) without the HTTP hop and the
//	               gateway, so c/e is what HTTP and the gateway cost and e/d
//	               what the bus layer costs.
//
// Targets: b/a ≥ 0.6, c/d ≥ 0.8, p99 of (b) < 2 ms at 64 connections. In
// Run the driver runs in the same process as the servers, so every mode
// shares the two cores with its load generator alike. Run is what `make
// bench` calls; BenchmarkEdge wraps it.
//
// The wrk table (wrk.go: Serve, RunWrk) measures (a)–(d) again with one
// external load tool, wrk, against servers in a process of their own,
// (d) behind a bare fasthttp front; its ratios and p99 are the figures of
// record for the targets (BENCHMARKS.md, "Gateway").
package edgebench

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/opencommerce/opencommerce/edge"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/tools/benchrpc"
	"github.com/opencommerce/opencommerce/tools/loadgen"
)

// Modes, in report order.
const (
	ModeBare           = "a:bare-fasthttp"
	ModeCached         = "b:gateway-cached"
	ModeRPC            = "c:gateway-rpc"
	ModeBareRPC        = "d:bare-amqp-rpc"
	ModeBusRPC         = "e:bus-rpc"
	ModeRPCRateLimited = "c+:gateway-rpc-redis-ratelimit"
)

// Options configure Run.
type Options struct {
	// AMQPURL is the broker (a vhost of its own is best).
	AMQPURL string
	// RedisAddr, when set, adds a mode with the Redis rate limiter on.
	RedisAddr string
	// Conns are the connection counts (in-flight calls for bare-rpc).
	Conns []int
	// Duration of each measurement (split into Rounds interleaved slices).
	Duration time.Duration
	// LatencyLoad, when > 0, adds the latency table: (a) and (b) again, open
	// loop at this fraction of (a)'s closed-loop throughput at the same
	// connection count (measured in the same run), over at most that many
	// connections. Latency runs from each request's dispatch: this VM's
	// timers fire ~1 ms late, so counting from the schedule would measure
	// the driver's sleeps; its lag behind the schedule is reported apart.
	// A closed loop at saturation measures throughput; its p99 is the
	// machine's scheduling jitter with every connection queued (the bare
	// handler's own p99 there is 2–7 ms on 2 shared cores).
	LatencyLoad float64
	// Only, when set, keeps the modes whose letter (the part before ':',
	// e.g. "c" or "c+") is listed; the others are not started.
	Only []string
}

// Result is one measurement.
type Result struct {
	Mode     string
	Conns    int
	Requests int
	Errors   int
	PerSec   float64
	P50, P99 time.Duration
}

// Report is the outcome of Run.
type Report struct {
	Results []Result
	// Latency holds the fixed-rate measurements (Options.LatencyLoad).
	Latency []LatencyResult
}

// LatencyResult is one open-loop measurement at a fixed rate.
type LatencyResult struct {
	Mode          string
	Conns         int
	Rate          float64 // offered, requests/s
	Done          int     // answered
	Errors        int
	P50, P99, Max time.Duration
	// MaxLag is the driver's worst delay behind the schedule (it counts in
	// the latencies; a large one means the driver could not keep up).
	MaxLag time.Duration
}

// Body is the ~300-byte JSON body every mode answers.
var Body = []byte(`{"id":"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","slug":"stainless-steel-water-bottle","name":"Stainless steel water bottle","description":"Keeps drinks cold for 24 hours and hot for 12.","price":{"amount":2499,"currency":"USD"},"stock_status":"in_stock","rating":{"average":4.6,"count":128},"featured":false}`)

const productPath = "/api/v1/products/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"

// Rounds is how many interleaved slices each measurement is split into.
//
// Other work on this shared 2-core machine comes in bursts of a few
// seconds; with 3 slices of 2 s a burst landed on one mode and moved a
// ratio by ±30% between runs. Slices of about half a second (6 s per mode)
// spread the bursts over every mode.
const Rounds = 12

type target struct {
	mode  string
	http  string // host:port for HTTP modes
	path  string
	rpc   benchrpc.Caller
	close func()
	// rpcCalls, when set, counts the RPC calls behind the HTTP target.
	rpcCalls func() int64
}

// Run starts every target, measures each at each connection count, and
// returns the results. It needs RabbitMQ for (c) and (d).
func Run(ctx context.Context, opt Options) (Report, error) {
	if opt.Duration <= 0 {
		opt.Duration = 3 * time.Second
	}
	if len(opt.Conns) == 0 {
		opt.Conns = []int{64}
	}
	var targets []*target
	defer func() {
		for _, t := range targets {
			t.close()
		}
	}()
	add := func(t *target, err error) error {
		if err != nil {
			return err
		}
		if !opt.keeps(t.mode) {
			t.close()
			return nil
		}
		targets = append(targets, t)
		return nil
	}
	if err := add(bareHTTP("127.0.0.1:0")); err != nil {
		return Report{}, err
	}
	if err := add(cachedGateway(ctx, "127.0.0.1:0")); err != nil {
		return Report{}, err
	}
	if err := add(rpcGateway(ctx, opt.AMQPURL, "", ModeRPC)); err != nil {
		return Report{}, err
	}
	if opt.RedisAddr != "" {
		if err := add(rpcGateway(ctx, opt.AMQPURL, opt.RedisAddr, ModeRPCRateLimited)); err != nil {
			return Report{}, err
		}
	}
	rpcTarget := func(mode, kind string) (*target, error) {
		bt, err := benchrpc.Setup(ctx, opt.AMQPURL, kind)
		if err != nil {
			return nil, err
		}
		return &target{mode: mode, rpc: bt.Call, close: bt.Close}, nil
	}
	if err := add(rpcTarget(ModeBareRPC, benchrpc.ModeBare)); err != nil {
		return Report{}, err
	}
	// The gateway's client uses the default reply path, the reply queue.
	if err := add(rpcTarget(ModeBusRPC, benchrpc.ModeBusQueue)); err != nil {
		return Report{}, err
	}

	clients := map[string]*fasthttp.HostClient{}
	for _, t := range targets {
		if t.http != "" {
			clients[t.mode] = &fasthttp.HostClient{Addr: t.http, MaxConns: 1024, ReadTimeout: 10 * time.Second,
				WriteTimeout: 10 * time.Second, MaxIdleConnDuration: time.Minute}
		}
		measure(ctx, t, clients[t.mode], 16, 300*time.Millisecond) // warm up
	}
	var rep Report
	for _, n := range opt.Conns {
		accs := make([]acc, len(targets))
		for range Rounds {
			for i, t := range targets {
				lat, errs, el := measure(ctx, t, clients[t.mode], n, opt.Duration/Rounds)
				accs[i].lat = append(accs[i].lat, lat...)
				accs[i].errs += errs
				accs[i].elapsed += el
			}
		}
		for i, a := range accs {
			r := summarize(a)
			r.Mode, r.Conns = targets[i].mode, n
			rep.Results = append(rep.Results, r)
		}
		if opt.LatencyLoad > 0 {
			rep.Latency = append(rep.Latency, latencyAt(ctx, targets, rep.find(ModeBare, n).PerSec*opt.LatencyLoad, n, opt.Duration)...)
		}
	}
	return rep, nil
}

// latencyAt measures (a) and (b) open loop at rate over at most n
// connections, interleaved in Rounds slices like the throughput table.
func latencyAt(ctx context.Context, targets []*target, rate float64, n int, dur time.Duration) []LatencyResult {
	var sel []*target
	for _, t := range targets {
		if t.mode == ModeBare || t.mode == ModeCached {
			sel = append(sel, t)
		}
	}
	if rate <= 0 || len(sel) == 0 {
		return nil
	}
	type accum struct {
		h      loadgen.Histogram
		errs   int
		lag    time.Duration
		issued int64
	}
	accs := make([]accum, len(sel))
	clients := make([]*fasthttp.HostClient, len(sel))
	for i, t := range sel {
		clients[i] = &fasthttp.HostClient{Addr: t.http, MaxConns: n, MaxConnWaitTimeout: 5 * time.Second,
			ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, MaxIdleConnDuration: time.Minute}
		defer clients[i].CloseIdleConnections()
	}
	for range Rounds {
		for i, t := range sel {
			a := &accs[i]
			var mu sync.Mutex
			url := "http://" + t.http + t.path
			st := loadgen.RunOpenLoop(ctx, rate, dur/Rounds, 4*n, func(context.Context, time.Time) {
				start := time.Now()
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				req.SetRequestURI(url)
				err := clients[i].Do(req, resp)
				ok := err == nil && resp.StatusCode() == 200
				lat := time.Since(start)
				fasthttp.ReleaseRequest(req)
				fasthttp.ReleaseResponse(resp)
				mu.Lock()
				if ok {
					a.h.RecordDuration(lat)
				} else {
					a.errs++
				}
				mu.Unlock()
			})
			a.lag = max(a.lag, st.MaxLag)
			a.issued += st.Issued
		}
	}
	out := make([]LatencyResult, len(sel))
	for i, t := range sel {
		a := &accs[i]
		out[i] = LatencyResult{Mode: t.mode, Conns: n, Rate: rate, Done: int(a.h.Count()), Errors: a.errs,
			P50: a.h.QuantileDuration(0.5), P99: a.h.QuantileDuration(0.99), Max: time.Duration(a.h.Max()), MaxLag: a.lag}
	}
	return out
}

func (o Options) keeps(mode string) bool {
	if len(o.Only) == 0 {
		return true
	}
	letter, _, _ := strings.Cut(mode, ":")
	return slices.Contains(o.Only, letter)
}

type acc struct {
	lat     []time.Duration
	errs    int
	elapsed time.Duration
}

func summarize(a acc) Result {
	slices.Sort(a.lat)
	r := Result{Requests: len(a.lat), Errors: a.errs}
	if len(a.lat) > 0 {
		r.P50 = a.lat[len(a.lat)/2]
		r.P99 = a.lat[len(a.lat)*99/100]
	}
	if a.elapsed > 0 {
		r.PerSec = float64(r.Requests) / a.elapsed.Seconds()
	}
	return r
}

// measure keeps n requests in flight on t for dur (closed loop) and
// returns the latencies of the successful ones.
func measure(ctx context.Context, t *target, hc *fasthttp.HostClient, n int, dur time.Duration) ([]time.Duration, int, time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	var mu sync.Mutex
	var all []time.Duration
	var errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 4096)
			var req *fasthttp.Request
			var resp *fasthttp.Response
			if hc != nil {
				req, resp = fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				defer fasthttp.ReleaseRequest(req)
				defer fasthttp.ReleaseResponse(resp)
				req.SetRequestURI("http://" + t.http + t.path)
				req.Header.SetMethod("GET")
			}
			for ctx.Err() == nil {
				t0 := time.Now()
				var err error
				if hc != nil {
					err = hc.Do(req, resp)
					if err == nil && resp.StatusCode() != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode())
					}
				} else {
					cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
					err = t.rpc(cctx)
					ccancel()
				}
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
					}
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all, int(errs.Load()), time.Since(start)
}

func bareHTTP(addr string) (*target, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("application/json")
		ctx.Response.SetBodyRaw(Body)
	}, NoDefaultServerHeader: true}
	go func() { _ = s.Serve(ln) }()
	return &target{mode: ModeBare, http: ln.Addr().String(), path: productPath, close: func() { _ = s.Shutdown(); _ = ln.Close() }}, nil
}

// fixedRPC answers every call with Body and counts the calls (so a test
// can tell (b) was served from the cache).
type fixedRPC struct{ calls atomic.Int64 }

func (f *fixedRPC) Call(context.Context, string, string, []byte, bus.CallOptions) (bus.Reply, error) {
	f.calls.Add(1)
	return bus.Reply{Status: "ok", Body: Body}, nil
}

func gatewayConfig() edge.Config {
	cfg := edge.Defaults()
	cfg.Addr = "127.0.0.1:0"
	// One client IP drives all the load: limits off, except in the mode that
	// measures the limiter.
	cfg.RateDefault, cfg.RateSearch = "off", "off"
	return cfg
}

func cachedGateway(ctx context.Context, addr string) (*target, error) {
	cfg := gatewayConfig()
	cfg.Addr = addr
	rpc := &fixedRPC{}
	g, err := edge.New(cfg, edge.Deps{RPC: rpc})
	if err != nil {
		return nil, err
	}
	if err := g.Start(ctx); err != nil {
		return nil, err
	}
	return &target{mode: ModeCached, http: g.Addr(), path: productPath, rpcCalls: rpc.calls.Load,
		close: func() { _ = g.Shutdown(context.Background()) }}, nil
}

func rpcGateway(ctx context.Context, amqpURL, redisAddr, mode string) (*target, error) {
	log := slog.New(slog.DiscardHandler)
	sc, err := bus.Dial(ctx, bus.Config{URL: amqpURL, Name: "edgebench-server"}, log, nil)
	if err != nil {
		return nil, err
	}
	cc, err := bus.Dial(ctx, bus.Config{URL: amqpURL, Name: "edgebench-gateway"}, log, nil)
	if err != nil {
		_ = sc.Close()
		return nil, err
	}
	srv := bus.NewServer(sc, bus.ServerConfig{Service: "product", Prefetch: benchrpc.Prefetch}, log, nil)
	srv.Handle("product.reviews.list", func(context.Context, *bus.Request) (any, error) { return Body, nil })
	if err := srv.Start(ctx); err != nil {
		_ = sc.Close()
		_ = cc.Close()
		return nil, err
	}
	cl, err := bus.NewClient(cc, bus.ClientConfig{}, log, nil)
	if err != nil {
		return nil, err
	}
	cfg := gatewayConfig()
	deps := edge.Deps{RPC: cl}
	var rdb *redis.Client
	if redisAddr != "" {
		rdb = redis.NewClient(&redis.Options{Addr: redisAddr, PoolSize: 128, ContextTimeoutEnabled: true})
		deps.Redis, deps.RedisPrefix = rdb, "edgebench:"+fmt.Sprint(time.Now().UnixNano())+":"
		cfg.RateDefault = "1000000/1s"
	}
	g, err := edge.New(cfg, deps)
	if err != nil {
		return nil, err
	}
	if err := g.Start(ctx); err != nil {
		return nil, err
	}
	return &target{mode: mode, http: g.Addr(), path: productPath + "/reviews", close: func() {
		_ = g.Shutdown(context.Background())
		_ = srv.Shutdown(context.Background())
		_ = cl.Close()
		_ = sc.Close()
		_ = cc.Close()
		if rdb != nil {
			_ = rdb.Close()
		}
	}}, nil
}

// Table renders the report with the target ratios.
func (r Report) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| mode | conns | req/s | p50 | p99 | errors |\n|---|---|---|---|---|---|\n")
	for _, x := range r.Results {
		fmt.Fprintf(&b, "| %s | %d | %.0f | %s | %s | %d |\n", x.Mode, x.Conns, x.PerSec,
			x.P50.Round(time.Microsecond), x.P99.Round(time.Microsecond), x.Errors)
	}
	conns := map[int]bool{}
	for _, x := range r.Results {
		conns[x.Conns] = true
	}
	keys := make([]int, 0, len(conns))
	for n := range conns {
		keys = append(keys, n)
	}
	slices.Sort(keys)
	for _, n := range keys {
		a, bb, c, d := r.find(ModeBare, n), r.find(ModeCached, n), r.find(ModeRPC, n), r.find(ModeBareRPC, n)
		if a.PerSec > 0 && d.PerSec > 0 {
			fmt.Fprintf(&b, "\nat %d: b/a = %.2f (target ≥ 0.6), c/d = %.2f (target ≥ 0.8), p99(b) = %s (target < 2ms)",
				n, bb.PerSec/a.PerSec, c.PerSec/d.PerSec, bb.P99.Round(time.Microsecond))
		}
		if e := r.find(ModeBusRPC, n); e.PerSec > 0 && d.PerSec > 0 {
			fmt.Fprintf(&b, "; c/e = %.2f (HTTP hop + gateway), e/d = %.2f (bus layer)", c.PerSec/e.PerSec, e.PerSec/d.PerSec)
		}
	}
	b.WriteByte('\n')
	if len(r.Latency) > 0 {
		fmt.Fprintf(&b, "\nFixed rate, open loop (latency from each request's dispatch; the driver's lag behind its schedule apart):\n\n| mode | conns | offered req/s | answered | p50 | p99 | max | driver max lag | errors |\n|---|---|---|---|---|---|---|---|---|\n")
		for _, x := range r.Latency {
			fmt.Fprintf(&b, "| %s | %d | %.0f | %d | %s | %s | %s | %s | %d |\n", x.Mode, x.Conns, x.Rate, x.Done,
				x.P50.Round(time.Microsecond), x.P99.Round(time.Microsecond), x.Max.Round(time.Microsecond), x.MaxLag.Round(time.Microsecond), x.Errors)
		}
	}
	return b.String()
}

func (r Report) find(mode string, n int) Result {
	for _, x := range r.Results {
		if x.Mode == mode && x.Conns == n {
			return x
		}
	}
	return Result{}
}

// Ratio returns (b/a, c/d, p99 of b) at n connections.
func (r Report) Ratio(n int) (cachedVsBare, rpcVsBare float64, cachedP99 time.Duration) {
	a, b, c, d := r.find(ModeBare, n), r.find(ModeCached, n), r.find(ModeRPC, n), r.find(ModeBareRPC, n)
	if a.PerSec > 0 {
		cachedVsBare = b.PerSec / a.PerSec
	}
	if d.PerSec > 0 {
		rpcVsBare = c.PerSec / d.PerSec
	}
	return cachedVsBare, rpcVsBare, b.P99
}
