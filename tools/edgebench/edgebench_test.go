package edgebench_test

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/tools/edgebench"
)

// BenchmarkEdge runs the four-way comparison once (b.N is ignored: the
// driver measures for a fixed time) and reports the ratios as metrics.
// go test ./tools/edgebench -run '^$' -bench Edge -benchtime 1x
func BenchmarkEdge(b *testing.B) {
	url := testenv.AMQP(b)
	redisAddr, _ := testenv.Redis(b)
	dur := 6 * time.Second
	if v := os.Getenv("OC_BENCH_DURATION"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			dur = d
		}
	}
	for range b.N {
		rep, err := edgebench.Run(context.Background(), edgebench.Options{AMQPURL: url, RedisAddr: redisAddr,
			Conns: []int{64}, Duration: dur})
		if err != nil {
			b.Fatal(err)
		}
		b.Log("\n" + rep.Table())
		ba, cd, p99 := rep.Ratio(64)
		b.ReportMetric(ba, "cached/bare")
		b.ReportMetric(cd, "rpc/bare-rpc")
		b.ReportMetric(float64(p99.Microseconds()), "cached-p99-µs")
	}
}

// TestRunSmoke checks the driver works end to end, briefly.
func TestRunSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	url := testenv.AMQP(t)
	rep, err := edgebench.Run(context.Background(), edgebench.Options{AMQPURL: url, Conns: []int{4}, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.Requests == 0 || r.Errors > 0 {
			t.Fatalf("%s: %d requests, %d errors", r.Mode, r.Requests, r.Errors)
		}
	}
}

// TestWrkTable drives the out-of-process servers' code with wrk for a
// moment: all four modes answer, without errors (wrk counts non-2xx
// answers as errors), with sane percentiles, and the ready line a serving
// process prints carries every target.
func TestWrkTable(t *testing.T) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		testenv.Unavailable(t, "wrk", err)
	}
	srv, err := edgebench.Serve(context.Background(), testenv.AMQP(t))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	parsed, err := edgebench.ParseReady(srv.ReadyLine())
	if err != nil {
		t.Fatal(err)
	}
	res, err := edgebench.RunWrk(context.Background(), wrk, parsed, []int{8}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var modes []string
	for _, r := range res {
		modes = append(modes, r.Mode)
	}
	if want := []string{edgebench.ModeBare, edgebench.ModeCached, edgebench.ModeRPC, edgebench.ModeBareRPCHTTP}; !slices.Equal(modes, want) {
		t.Fatalf("modes %v, want %v", modes, want)
	}
	for _, r := range res {
		if r.Requests == 0 || r.Errors != 0 || r.PerSec <= 0 || r.P50 <= 0 || r.P99 < r.P50 || r.WorstP99 < r.P99 {
			t.Fatalf("%s: %+v", r.Mode, r)
		}
	}
	if calls := srv.RPCCalls(edgebench.ModeCached); calls < 1 || calls > 8 {
		t.Fatalf("(b) made %d RPC calls for %d requests: not served from the gateway's cache", calls, res[1].Requests)
	}
	if tab := edgebench.WrkTable(res); !strings.Contains(tab, "c/d = ") || !strings.Contains(tab, "b/a = ") {
		t.Fatalf("table lacks the ratios:\n%s", tab)
	}
}
