package loadgen_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/tools/loadgen"
)

func TestScheduleIsFixed(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := loadgen.Schedule{Start: start, Rate: 400}
	for i, want := range map[int64]time.Duration{0: 0, 1: 2500 * time.Microsecond, 400: time.Second, 1000: 2500 * time.Millisecond} {
		if got := s.Due(i).Sub(start); got != want {
			t.Errorf("Due(%d) = +%s, want +%s", i, got, want)
		}
	}
	for d, want := range map[time.Duration]int64{time.Second: 400, 2500 * time.Microsecond: 1, 2501 * time.Microsecond: 2, 0: 0, 10 * time.Second: 4000} {
		if got := s.Count(d); got != want {
			t.Errorf("Count(%s) = %d, want %d", d, got, want)
		}
	}
	odd := loadgen.Schedule{Start: start, Rate: 3}
	if got := odd.Count(time.Second); got != 3 {
		t.Errorf("rate 3 over 1s: %d iterations, want 3", got)
	}
}

// The open-loop driver starts exactly the scheduled number of tasks, each
// told its own scheduled time, evenly spaced however slow the tasks are.
func TestOpenLoopKeepsTheSchedule(t *testing.T) {
	var mu sync.Mutex
	var due []time.Time
	before := time.Now()
	st := loadgen.RunOpenLoop(context.Background(), 2000, 250*time.Millisecond, 100, func(_ context.Context, intended time.Time) {
		mu.Lock()
		due = append(due, intended)
		mu.Unlock()
		time.Sleep(3 * time.Millisecond) // slower than the 0.5 ms spacing: tasks overlap
	})
	if st.Issued != 500 || len(due) != 500 {
		t.Fatalf("issued %d, ran %d; want 500 (2000/s for 250ms)", st.Issued, len(due))
	}
	slices.SortFunc(due, func(a, b time.Time) int { return a.Compare(b) })
	if due[0].Before(before) {
		t.Fatal("the schedule starts before the call")
	}
	for i := 1; i < len(due); i++ {
		if gap := due[i].Sub(due[i-1]); gap < 499*time.Microsecond || gap > 501*time.Microsecond {
			t.Fatalf("gap %d = %s, want 500µs", i, gap)
		}
	}
}

// When the system stalls (here: one slot and slow tasks), the latency
// measured from the scheduled time includes the wait: the stall shows
// instead of being omitted.
func TestOpenLoopCountsQueueingInLatency(t *testing.T) {
	const service = 5 * time.Millisecond
	var h loadgen.Histogram
	var mu sync.Mutex
	st := loadgen.RunOpenLoop(context.Background(), 1000, 100*time.Millisecond, 1, func(_ context.Context, intended time.Time) {
		time.Sleep(service)
		mu.Lock()
		h.RecordDuration(time.Since(intended))
		mu.Unlock()
	})
	if st.Issued != 100 || h.Count() != 100 {
		t.Fatalf("issued %d, recorded %d; want 100", st.Issued, h.Count())
	}
	if st.Blocked == 0 {
		t.Error("no dispatch waited for the single slot")
	}
	// 100 tasks of ≥5 ms one after another: the last ends ≥ 500 ms after the
	// start, though it was due at 99 ms, so its latency is ≥ 400 ms — far
	// above the 5 ms a closed-loop measurement would report.
	if max := time.Duration(h.Max()); max < 80*service {
		t.Errorf("max latency %s, want ≥ %s (queueing behind the stall)", max, 80*service)
	}
	if st.MaxLag < 300*time.Millisecond {
		t.Errorf("schedule lag %s, want the stall to show", st.MaxLag)
	}
}

func TestOpenLoopStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int64
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	st := loadgen.RunOpenLoop(ctx, 100, time.Hour, 10, func(context.Context, time.Time) { n.Add(1) })
	if st.Issued != n.Load() || st.Issued > 100 {
		t.Fatalf("issued %d, ran %d after a cancel at 50ms", st.Issued, n.Load())
	}
}

// Closed loop: never more than the users in flight, and a task running at
// the end finishes with a live context.
func TestClosedLoopConcurrencyAndDrain(t *testing.T) {
	var inFlight, peak, cancelled atomic.Int64
	n := loadgen.RunClosedLoop(context.Background(), 3, 60*time.Millisecond, 0, func(ctx context.Context, _ time.Time) {
		cur := inFlight.Add(1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		time.Sleep(7 * time.Millisecond)
		if ctx.Err() != nil {
			cancelled.Add(1)
		}
		inFlight.Add(-1)
	})
	if n < 3 || peak.Load() != 3 {
		t.Fatalf("%d iterations, peak %d in flight; want ≥3 and exactly 3", n, peak.Load())
	}
	if cancelled.Load() != 0 {
		t.Fatalf("%d tasks saw their context cancelled by the end of the run", cancelled.Load())
	}
}
