package benchrpc_test

import (
	"context"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/tools/benchrpc"
)

// BenchmarkRPC: go test -run '^$' -bench RPC ./tools/benchrpc/
// Each sub-benchmark keeps N calls in flight; ns/op is wall time per call
// (1/throughput), p50/p99 are per-call latencies, cpu-µs/call the CPU time
// of this process (client and server together, user+system) per call: the
// Go side's share of the work, far less noisy on a shared machine than
// throughput.
func BenchmarkRPC(b *testing.B) {
	url := testenv.AMQP(b)
	for _, mode := range []string{benchrpc.ModeBare, benchrpc.ModeBusDirect, benchrpc.ModeBusQueue, benchrpc.ModeBusQueueSync} {
		tg, err := benchrpc.Setup(context.Background(), url, mode)
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range []int{1, 16, 64, 256} {
			b.Run(mode+"/inflight="+strconv.Itoa(n), func(b *testing.B) {
				b.ReportAllocs()
				cpu0 := cpuTime()
				r := benchrpc.Measure(context.Background(), tg.Call, n, time.Hour, b.N)
				b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/call")
				if r.Errors > 0 {
					b.Fatalf("%d calls failed", r.Errors)
				}
				b.ReportMetric(r.PerSec, "calls/s")
				b.ReportMetric(float64(r.P50.Microseconds()), "p50-µs")
				b.ReportMetric(float64(r.P99.Microseconds()), "p99-µs")
			})
		}
		tg.Close()
	}
}

// cpuTime is the user+system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestRunSmoke(t *testing.T) {
	url := testenv.AMQP(t)
	res, err := benchrpc.Run(context.Background(), url, []int{1, 8}, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 8 {
		t.Fatalf("got %d results, want 4 modes × 2", len(res))
	}
	for _, r := range res {
		if r.Calls == 0 || r.Errors != 0 {
			t.Errorf("%s/%d: %d calls, %d errors", r.Mode, r.InFlight, r.Calls, r.Errors)
		}
	}
}
