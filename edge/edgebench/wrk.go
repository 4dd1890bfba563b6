package edgebench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The wrk table measures (a) and (b) the way a deployment sees them: the
// servers in a process of their own, the load from another (wrk, one
// thread), each with a core to itself (the server process at GOMAXPROCS=1,
// which the caller sets when it starts it). In Run everything shares one Go
// runtime on two cores; there the Go scheduler and the OS preempting its
// threads add milliseconds of tail to the bare handler and the gateway
// alike (BENCHMARKS.md, "The p99 target").

// Servers are the HTTP targets of the wrk table.
type Servers struct {
	Bare, Cached string // host:port
	close        []func()
}

// Close stops the servers.
func (s *Servers) Close() {
	for _, f := range s.close {
		f()
	}
}

// Serve starts (a) and (b) on free loopback ports.
func Serve(ctx context.Context) (*Servers, error) {
	a, err := bareHTTP("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b, err := cachedGateway(ctx, "127.0.0.1:0")
	if err != nil {
		a.close()
		return nil, err
	}
	return &Servers{Bare: a.http, Cached: b.http, close: []func(){a.close, b.close}}, nil
}

// WrkResult is one mode's outcome in the wrk table.
type WrkResult struct {
	Mode     string
	Conns    int
	Requests int
	Errors   int
	PerSec   float64
	// P50 and P99 are the medians over the rounds of each round's value;
	// WorstP99 is the largest round p99.
	P50, P99, WorstP99 time.Duration
}

// wrkScript makes wrk print one machine-readable line when done.
const wrkScript = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("OCWRK %d %d %d %d %d\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50), latency:percentile(99)))
end
`

// RunWrk drives the servers with wrk (one thread, conns connections), the
// modes alternating in rounds of one second for dur each.
func RunWrk(ctx context.Context, wrk string, srv *Servers, conns int, dur time.Duration) ([]WrkResult, error) {
	dir, err := os.MkdirTemp("", "edgebench-wrk")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "report.lua")
	if err := os.WriteFile(script, []byte(wrkScript), 0o600); err != nil {
		return nil, err
	}
	modes := []struct{ name, addr string }{{ModeBare, srv.Bare}, {ModeCached, srv.Cached}}
	type acc struct {
		reqs, errs int
		us         int64
		p50, p99   []time.Duration
	}
	accs := make([]acc, len(modes))
	rounds := max(1, int(dur/time.Second))
	for range rounds {
		for i, m := range modes {
			out, err := exec.CommandContext(ctx, wrk, "-t1", fmt.Sprintf("-c%d", conns), "-d1s", "-s", script,
				"http://"+m.addr+productPath).CombinedOutput()
			if err != nil {
				return nil, fmt.Errorf("wrk: %w: %s", err, out)
			}
			var reqs, us, errs, p50, p99 int64
			found := false
			sc := bufio.NewScanner(strings.NewReader(string(out)))
			for sc.Scan() {
				if _, err := fmt.Sscanf(sc.Text(), "OCWRK %d %d %d %d %d", &reqs, &us, &errs, &p50, &p99); err == nil {
					found = true
				}
			}
			if !found {
				return nil, errors.New("wrk: no report line in its output: " + string(out))
			}
			a := &accs[i]
			a.reqs += int(reqs)
			a.errs += int(errs)
			a.us += us
			a.p50 = append(a.p50, time.Duration(p50)*time.Microsecond)
			a.p99 = append(a.p99, time.Duration(p99)*time.Microsecond)
		}
	}
	res := make([]WrkResult, len(modes))
	for i, m := range modes {
		a := accs[i]
		slices.Sort(a.p50)
		slices.Sort(a.p99)
		r := WrkResult{Mode: m.name, Conns: conns, Requests: a.reqs, Errors: a.errs,
			P50: a.p50[len(a.p50)/2], P99: a.p99[len(a.p99)/2], WorstP99: a.p99[len(a.p99)-1]}
		if a.us > 0 {
			r.PerSec = float64(a.reqs) / (float64(a.us) / 1e6)
		}
		res[i] = r
	}
	return res, nil
}

// WrkTable renders the wrk results.
func WrkTable(res []WrkResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Servers in their own process (GOMAXPROCS=1), load from wrk -t1 (1 s rounds, modes alternating):\n\n")
	fmt.Fprintf(&b, "| mode | conns | req/s | p50 (median round) | p99 (median round) | p99 (worst round) | errors |\n|---|---|---|---|---|---|---|\n")
	for _, r := range res {
		fmt.Fprintf(&b, "| %s | %d | %.0f | %s | %s | %s | %d |\n", r.Mode, r.Conns, r.PerSec, r.P50, r.P99, r.WorstP99, r.Errors)
	}
	if len(res) == 2 && res[0].PerSec > 0 {
		fmt.Fprintf(&b, "\nb/a = %.2f, p99(b) = %s (median round; target < 2ms)\n", res[1].PerSec/res[0].PerSec, res[1].P99)
	}
	return b.String()
}
