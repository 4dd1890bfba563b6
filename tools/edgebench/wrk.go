package edgebench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opencommerce/opencommerce/tools/benchrpc"
)

// The wrk table measures the four modes of the issue with one load tool,
// the way a deployment sees them: the servers in a process of their own,
// the load from another (wrk, one thread), each with a core to itself (the
// server process at GOMAXPROCS=1, which the caller sets when it starts it).
// In Run everything shares one Go runtime on two cores; there the Go
// scheduler and the OS preempting its threads add milliseconds of tail to
// the bare handler and the gateway alike (BENCHMARKS.md, "The p99 target").
//
// wrk speaks HTTP only, so the bare RPC echo (d) gets the thinnest HTTP
// front there is: a bare fasthttp handler that makes one bare amqp091-go
// call (tools/benchrpc's baseline) and writes the reply's body.
// (c) and (d) then differ by exactly what the gateway and internal/bus add
// over bare fasthttp and bare amqp091-go.

// ModeBareRPCHTTP is (d) in the wrk table.
const ModeBareRPCHTTP = "d:bare-fasthttp-amqp-rpc"

// WrkTarget is one HTTP target of the wrk table.
type WrkTarget struct {
	Mode string `json:"mode"`
	URL  string `json:"url"`
}

// Servers are the HTTP targets of the wrk table, in report order.
type Servers struct {
	Targets  []WrkTarget `json:"targets"`
	close    []func()
	rpcCalls map[string]func() int64
}

// RPCCalls returns how many RPC calls the in-process target of mode made
// (-1 when it does not count them): (b) answering from its cache makes
// about one per connection at the start and none after.
func (s *Servers) RPCCalls(mode string) int64 {
	if f := s.rpcCalls[mode]; f != nil {
		return f()
	}
	return -1
}

// Close stops the servers.
func (s *Servers) Close() {
	for _, f := range s.close {
		f()
	}
}

// Serve starts (a) and (b) on free loopback ports, and (c) and (d) on
// amqpURL's broker when it is set.
func Serve(ctx context.Context, amqpURL string) (*Servers, error) {
	s := &Servers{rpcCalls: map[string]func() int64{}}
	add := func(t *target, err error) error {
		if err != nil {
			s.Close()
			return err
		}
		if t.rpcCalls != nil {
			s.rpcCalls[t.mode] = t.rpcCalls
		}
		s.Targets = append(s.Targets, WrkTarget{Mode: t.mode, URL: "http://" + t.http + t.path})
		s.close = append(s.close, t.close)
		return nil
	}
	if err := add(bareHTTP("127.0.0.1:0")); err != nil {
		return nil, err
	}
	if err := add(cachedGateway(ctx, "127.0.0.1:0")); err != nil {
		return nil, err
	}
	if amqpURL == "" {
		return s, nil
	}
	if err := add(rpcGateway(ctx, amqpURL, "", ModeRPC)); err != nil {
		return nil, err
	}
	if err := add(bareRPCFront(ctx, amqpURL)); err != nil {
		return nil, err
	}
	return s, nil
}

// bareRPCFront is (d) of the wrk table: bare fasthttp in front of the bare
// amqp091-go echo.
func bareRPCFront(ctx context.Context, amqpURL string) (*target, error) {
	bt, err := benchrpc.Setup(ctx, amqpURL, benchrpc.ModeBare)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		bt.Close()
		return nil, err
	}
	s := &fasthttp.Server{Handler: func(rc *fasthttp.RequestCtx) {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		body, err := bt.Echo(cctx, benchrpc.Payload)
		cancel()
		if err != nil {
			rc.Error(`{"error":{"code":"unavailable","message":"echo failed"}}`, fasthttp.StatusBadGateway)
			return
		}
		rc.Response.Header.SetContentType("application/json")
		rc.Response.SetBody(body)
	}, NoDefaultServerHeader: true}
	go func() { _ = s.Serve(ln) }()
	return &target{mode: ModeBareRPCHTTP, http: ln.Addr().String(), path: "/echo", close: func() {
		_ = s.Shutdown()
		_ = ln.Close()
		bt.Close()
	}}, nil
}

// ReadyLine is what a serving process prints once its servers listen.
func (s *Servers) ReadyLine() string {
	b, _ := json.Marshal(s)
	return "ready " + string(b)
}

// ParseReady reads a ReadyLine.
func ParseReady(line string) (*Servers, error) {
	js, ok := strings.CutPrefix(strings.TrimSpace(line), "ready ")
	var s Servers
	if !ok {
		return nil, fmt.Errorf("server process said %q, not ready", line)
	}
	if err := json.Unmarshal([]byte(js), &s); err != nil || len(s.Targets) == 0 {
		return nil, fmt.Errorf("server process: bad ready line %q: %v", line, err)
	}
	return &s, nil
}

// WrkResult is one mode's outcome in the wrk table.
type WrkResult struct {
	Mode     string
	Conns    int
	Requests int
	Errors   int
	PerSec   float64
	// P50 and P99 are exact over every round (the rounds' latency
	// histograms merged); WorstP99 is the largest p99 of a single round.
	P50, P99, WorstP99 time.Duration
}

// wrkScript makes wrk print, when done, its latency histogram (distinct
// values in µs with their counts; wrk 4.1's latency(i)) and one summary
// line. Non-2xx answers count as errors (wrk's status errors).
const wrkScript = `done = function(summary, latency, requests)
  for i = 1, #latency do
    local v, c = latency(i)
    io.write(string.format("OCWRKH %d %d\n", v, c))
  end
  local e = summary.errors
  io.write(string.format("OCWRK %d %d %d\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout))
end
`

// histogram counts latencies by value in µs.
type histogram map[int64]int64

func (h histogram) quantile(q float64) time.Duration {
	vals := make([]int64, 0, len(h))
	var total int64
	for v, c := range h {
		vals = append(vals, v)
		total += c
	}
	if total == 0 {
		return 0
	}
	slices.Sort(vals)
	rank := int64(math.Ceil(q * float64(total)))
	var seen int64
	for _, v := range vals {
		if seen += h[v]; seen >= rank {
			return time.Duration(v) * time.Microsecond
		}
	}
	return time.Duration(vals[len(vals)-1]) * time.Microsecond
}

// wrkRound is one wrk run's report.
type wrkRound struct {
	reqs, errs, us int64
	hist           histogram
}

func parseWrk(out []byte) (wrkRound, error) {
	r := wrkRound{hist: histogram{}}
	found := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var v, c int64
		if _, err := fmt.Sscanf(sc.Text(), "OCWRKH %d %d", &v, &c); err == nil {
			r.hist[v] += c
		} else if _, err := fmt.Sscanf(sc.Text(), "OCWRK %d %d %d", &r.reqs, &r.us, &r.errs); err == nil {
			found = true
		}
	}
	if !found || len(r.hist) == 0 {
		return r, errors.New("wrk: no report in its output: " + string(out))
	}
	return r, nil
}

// RunWrk drives the servers with wrk (one thread) at each connection
// count, the modes alternating in rounds of one second for dur each.
func RunWrk(ctx context.Context, wrk string, srv *Servers, conns []int, dur time.Duration) ([]WrkResult, error) {
	dir, err := os.MkdirTemp("", "edgebench-wrk")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "report.lua")
	if err := os.WriteFile(script, []byte(wrkScript), 0o600); err != nil {
		return nil, err
	}
	type acc struct {
		reqs, errs, us int64
		hist           histogram
		worst          time.Duration
	}
	var res []WrkResult
	rounds := max(1, int(dur/time.Second))
	for _, n := range conns {
		accs := make([]acc, len(srv.Targets))
		for range rounds {
			for i, t := range srv.Targets {
				out, err := exec.CommandContext(ctx, wrk, "-t1", fmt.Sprintf("-c%d", n), "-d1s", "-s", script, t.URL).CombinedOutput()
				if err != nil {
					return nil, fmt.Errorf("wrk: %w: %s", err, out)
				}
				r, err := parseWrk(out)
				if err != nil {
					return nil, err
				}
				a := &accs[i]
				if a.hist == nil {
					a.hist = histogram{}
				}
				a.reqs += r.reqs
				a.errs += r.errs
				a.us += r.us
				for v, c := range r.hist {
					a.hist[v] += c
				}
				a.worst = max(a.worst, r.hist.quantile(0.99))
			}
		}
		for i, t := range srv.Targets {
			a := accs[i]
			r := WrkResult{Mode: t.Mode, Conns: n, Requests: int(a.reqs), Errors: int(a.errs),
				P50: a.hist.quantile(0.5), P99: a.hist.quantile(0.99), WorstP99: a.worst}
			if a.us > 0 {
				r.PerSec = float64(a.reqs) / (float64(a.us) / 1e6)
			}
			res = append(res, r)
		}
	}
	return res, nil
}

// WrkTable renders the wrk results with the ratios at each
// connection count.
func WrkTable(res []WrkResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Servers in their own process (GOMAXPROCS=1), load from wrk -t1 (1 s rounds, modes alternating):\n\n")
	fmt.Fprintf(&b, "| mode | conns | req/s | p50 | p99 | p99 (worst round) | errors |\n|---|---|---|---|---|---|---|\n")
	var conns []int
	for _, r := range res {
		fmt.Fprintf(&b, "| %s | %d | %.0f | %s | %s | %s | %d |\n", r.Mode, r.Conns, r.PerSec, r.P50, r.P99, r.WorstP99, r.Errors)
		if !slices.Contains(conns, r.Conns) {
			conns = append(conns, r.Conns)
		}
	}
	find := func(mode string, n int) WrkResult {
		for _, r := range res {
			if r.Mode == mode && r.Conns == n {
				return r
			}
		}
		return WrkResult{}
	}
	for _, n := range conns {
		a, bb, c, d := find(ModeBare, n), find(ModeCached, n), find(ModeRPC, n), find(ModeBareRPCHTTP, n)
		fmt.Fprintf(&b, "\nat %d:", n)
		if a.PerSec > 0 {
			fmt.Fprintf(&b, " b/a = %.2f (target ≥ 0.6),", bb.PerSec/a.PerSec)
		}
		if d.PerSec > 0 {
			fmt.Fprintf(&b, " c/d = %.2f (target ≥ 0.8),", c.PerSec/d.PerSec)
		}
		fmt.Fprintf(&b, " p99(b) = %s, worst round %s (target < 2ms)", bb.P99, bb.WorstP99)
	}
	b.WriteByte('\n')
	return b.String()
}
