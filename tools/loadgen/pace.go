package loadgen

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Task performs one iteration of the load (one action). intended is when
// the iteration was meant to start: latencies are measured from it, so time
// spent waiting behind a slow system counts (no coordinated omission).
type Task func(ctx context.Context, intended time.Time)

// Schedule is the open-loop arrival plan: iteration i is due at
// Start + i/Rate, whatever happened to the earlier ones.
type Schedule struct {
	Start time.Time
	Rate  float64 // iterations per second, > 0
}

// Due returns when iteration i is due.
func (s Schedule) Due(i int64) time.Time {
	return s.Start.Add(time.Duration(float64(i) * float64(time.Second) / s.Rate))
}

// Count is how many iterations are due in [Start, Start+d).
func (s Schedule) Count(d time.Duration) int64 {
	n := int64(d.Seconds() * s.Rate)
	// Float rounding may put the boundary iteration on either side; the
	// exact rule is Due(i) < Start+d.
	for n > 0 && !s.Due(n-1).Before(s.Start.Add(d)) {
		n--
	}
	for s.Due(n).Before(s.Start.Add(d)) {
		n++
	}
	return n
}

// PaceStats describes how well the open-loop driver kept its schedule.
type PaceStats struct {
	Issued int64
	// MaxLag is the largest delay between an iteration's due time and its
	// dispatch; a large value means the load generator (or its in-flight
	// bound) could not keep the rate, and latencies include that wait.
	MaxLag time.Duration
	// Blocked counts dispatches that waited for a free in-flight slot.
	Blocked int64
}

// RunOpenLoop starts task at the fixed rate for d (or until ctx ends),
// each in its own goroutine, with at most maxInFlight running; when the
// bound is reached the driver waits, but each task still receives its
// scheduled time, so the wait shows in its latency. It returns when every
// started task has finished.
func RunOpenLoop(ctx context.Context, rate float64, d time.Duration, maxInFlight int, task Task) PaceStats {
	if maxInFlight < 1 {
		maxInFlight = 1
	}
	sched := Schedule{Start: time.Now(), Rate: rate}
	n := sched.Count(d)
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	var st PaceStats
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i := int64(0); i < n; i++ {
		due := sched.Due(i)
		if wait := time.Until(due); wait > 50*time.Microsecond {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				wg.Wait()
				return st
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			break
		}
		select {
		case sem <- struct{}{}:
		default:
			st.Blocked++
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				wg.Wait()
				return st
			}
		}
		if lag := time.Since(due); lag > st.MaxLag {
			st.MaxLag = lag
		}
		st.Issued++
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			task(ctx, due)
		}()
	}
	wg.Wait()
	return st
}

// RunClosedLoop runs users goroutines, each starting task again as soon as
// the last one finished (after think, if positive), for d or until ctx
// ends. Latency is measured from each actual start. It returns the number
// of iterations started. Iterations in flight at the end finish.
func RunClosedLoop(parent context.Context, users int, d, think time.Duration, task Task) int64 {
	// Tasks get the parent context: the end of the run stops new
	// iterations but lets the ones in flight finish.
	ctx, cancel := context.WithTimeout(parent, d)
	defer cancel()
	var n atomic.Int64
	var wg sync.WaitGroup
	for range max(users, 1) {
		wg.Go(func() {
			for ctx.Err() == nil {
				n.Add(1)
				task(parent, time.Now())
				if think > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(think):
					}
				}
			}
		})
	}
	wg.Wait()
	return n.Load()
}
