package edgebench_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/edge/edgebench"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// BenchmarkEdge runs the four-way comparison once (b.N is ignored: the
// driver measures for a fixed time) and reports the ratios as metrics.
// go test ./edge/edgebench -run '^$' -bench Edge -benchtime 1x
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
// moment: both modes answer, without errors, with sane percentiles.
func TestWrkTable(t *testing.T) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		testenv.Unavailable(t, "wrk", err)
	}
	srv, err := edgebench.Serve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	res, err := edgebench.RunWrk(context.Background(), wrk, srv, 8, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 {
		t.Fatalf("%d results, want (a) and (b)", len(res))
	}
	for _, r := range res {
		if r.Requests == 0 || r.Errors != 0 || r.PerSec <= 0 || r.P50 <= 0 || r.P99 < r.P50 || r.WorstP99 < r.P99 {
			t.Fatalf("%s: %+v", r.Mode, r)
		}
	}
	if tab := edgebench.WrkTable(res); !strings.Contains(tab, "b:gateway-cached") {
		t.Fatalf("table lacks the gateway row:\n%s", tab)
	}
}
