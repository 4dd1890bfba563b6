package bus_test

import (
	"context"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/bus/bustest"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// roundTripAllocBudget bounds the allocations of one RPC round trip,
// client and server in one process, caller's context included. Most of
// them are amqp091-go's (frame encoding and decoding); a bare amqp091-go
// echo with Direct Reply-To makes 169 in the benchmark. Measured 2026-11-26:
// 223 (229 before calls, header tables and metric series were reused).
// Raise it only with a reason.
const roundTripAllocBudget = 226

// TestRoundTripAllocations guards the allocations of Client.Call and the
// server's dispatch (pooled calls and header tables, cached metric series)
// against regressions. Not parallel: AllocsPerRun counts the whole
// process's allocations.
func TestRoundTripAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	url := testenv.AMQP(t)
	for _, path := range replyPaths {
		t.Run(string(path), func(t *testing.T) {
			srv := bus.NewServer(bustest.Dial(t, url), bus.ServerConfig{Service: "allocs"}, nil, nil)
			srv.Handle("allocs.echo", func(_ context.Context, req *bus.Request) (any, error) { return req.Body, nil })
			if err := srv.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
			cl := bustest.Client(t, bustest.Dial(t, url), bus.ClientConfig{ReplyPath: path})
			body := []byte(`{"params":{"id":["0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"]},"meta":{"client_ip":"127.0.0.1"}}`)
			opt := bus.CallOptions{RequestID: "req-1"}
			call := func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				rep, err := cl.Call(ctx, "allocs", "allocs.echo", body, opt)
				cancel()
				if err != nil || !rep.OK() {
					t.Fatalf("call: %v %+v", err, rep)
				}
			}
			for range 50 { // warm up pools and metric series
				call()
			}
			allocs := testing.AllocsPerRun(500, call)
			t.Logf("%s: %.1f allocations per round trip", path, allocs)
			if allocs > roundTripAllocBudget {
				t.Fatalf("round trip allocates %.1f times, budget %d", allocs, roundTripAllocBudget)
			}
		})
	}
}
