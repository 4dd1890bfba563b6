package ratelimit_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opencommerce/opencommerce/edge/ratelimit"
)

// The GCRA step exists twice: in Go (Local, also the fallback) and in Lua
// (the script Shared runs on Redis). TestGCRA runs one table of cases
// against every implementation, as watermill runs one suite against every
// Pub/Sub: a change to one step that the other does not share fails here.

// gcraImpl is one GCRA implementation under test with a clock the test
// moves. tolerance is how far a reported duration may fall short of the
// case's (Redis's clock keeps running while a case runs; a few
// milliseconds, far below any emission interval of the table).
type gcraImpl struct {
	name      string
	tolerance time.Duration
	// open returns the limiter and advance(d), which makes d pass for it.
	// check (may be nil) runs after each case: that the implementation
	// itself decided (no fallback).
	open func(t *testing.T) (l ratelimit.Limiter, advance func(time.Duration), check func())
}

func gcraImpls() []gcraImpl {
	local := gcraImpl{name: "go-local", open: func(*testing.T) (ratelimit.Limiter, func(time.Duration), func()) {
		l := ratelimit.NewLocal(1000)
		now := time.Unix(1000, 0).UnixNano()
		l.SetClock(func() int64 { return now })
		return l, func(d time.Duration) { now += int64(d) }, nil
	}}
	lua := func(name string, wrap func(*redis.Client) redis.Scripter) gcraImpl {
		return gcraImpl{name: name, tolerance: time.Second, open: func(t *testing.T) (ratelimit.Limiter, func(time.Duration), func()) {
			rdb, prefix := redisClient(t)
			s := ratelimit.NewShared(wrap(rdb), ratelimit.SharedConfig{Prefix: prefix, Timeout: 5 * time.Second}, nil)
			check := func() {
				if n := s.Fallbacks(); n != 0 {
					t.Errorf("%d decisions fell back to the local limiter: the Lua step was not what was tested", n)
				}
			}
			return s, func(d time.Duration) { rewindTATs(t, rdb, prefix, d) }, check
		}}
	}
	return []gcraImpl{
		local,
		// Shared batches steps into pipelines when the client can.
		lua("redis-lua-pipelined", func(c *redis.Client) redis.Scripter { return c }),
		// A client that cannot pipeline runs the script one call at a time.
		lua("redis-lua-unbatched", func(c *redis.Client) redis.Scripter { return struct{ redis.Scripter }{c} }),
	}
}

// rewindTATs makes d pass for the Lua step: GCRA's whole state is the
// theoretical arrival time of each key, and the script compares it with
// Redis's TIME, so moving every TAT of the test's keys back by d is
// exactly what d passing would do.
func rewindTATs(t *testing.T, rdb *redis.Client, prefix string, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	iter := rdb.Scan(ctx, 0, prefix+"rl:*", 100).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		v, err := rdb.Get(ctx, key).Result()
		if err == redis.Nil {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		tat, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("TAT of %s = %q: %v", key, v, err)
		}
		if err := rdb.Set(ctx, key, strconv.FormatInt(int64(tat)-d.Microseconds(), 10), redis.KeepTTL).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
}

// gcraStep is one request of a case: after advancing the clock by wait,
// key asks under class; want is the decision. Durations of want that are
// zero are not checked.
type gcraStep struct {
	wait  time.Duration
	class ratelimit.Class
	key   string
	want  ratelimit.Result
	// times repeats the step (Remaining counting down by one each time
	// from want.Remaining, Reset growing by one emission each time).
	times int
}

var (
	perMinute = ratelimit.Class{Name: "login", Rate: 5, Period: time.Minute, Burst: 5}
	burst3    = ratelimit.Class{Name: "search", Rate: 1, Period: time.Second, Burst: 3}
	noBurst   = ratelimit.Class{Name: "default", Rate: 4, Period: time.Minute} // Burst 0: the rate
)

func allowed(remaining int, reset time.Duration) ratelimit.Result {
	return ratelimit.Result{Allowed: true, Limit: 5, Remaining: remaining, Reset: reset}
}

func rejected(retryAfter, reset time.Duration) ratelimit.Result {
	return ratelimit.Result{Limit: 5, RetryAfter: retryAfter, Reset: reset}
}

var gcraCases = []struct {
	name  string
	steps []gcraStep
}{
	{"the burst passes, then one more is rejected until one emission interval", []gcraStep{
		{class: perMinute, key: "ip:1", want: allowed(4, 12*time.Second), times: 5},
		{class: perMinute, key: "ip:1", want: rejected(12*time.Second, time.Minute)},
	}},
	{"one emission interval later one request passes", []gcraStep{
		{class: perMinute, key: "ip:1", want: allowed(4, 12*time.Second), times: 5},
		{wait: 12 * time.Second, class: perMinute, key: "ip:1", want: allowed(0, time.Minute)},
		{class: perMinute, key: "ip:1", want: rejected(12*time.Second, time.Minute)},
	}},
	{"part of an interval later the request is still rejected, retry sooner", []gcraStep{
		{class: perMinute, key: "ip:1", want: allowed(4, 12*time.Second), times: 5},
		{wait: 5 * time.Second, class: perMinute, key: "ip:1", want: rejected(7*time.Second, 55*time.Second)},
	}},
	{"rejected requests cost nothing", []gcraStep{
		{class: perMinute, key: "ip:1", want: allowed(4, 12*time.Second), times: 5},
		{class: perMinute, key: "ip:1", want: rejected(12*time.Second, time.Minute), times: 3},
		{wait: 12 * time.Second, class: perMinute, key: "ip:1", want: allowed(0, time.Minute)},
	}},
	{"a full period later the whole burst is back", []gcraStep{
		{class: perMinute, key: "ip:1", want: allowed(4, 12*time.Second), times: 5},
		{wait: time.Hour, class: perMinute, key: "ip:1", want: allowed(4, 12*time.Second), times: 5},
	}},
	{"spaced requests at the rate never run out", []gcraStep{
		{class: perMinute, key: "ip:1", want: allowed(4, 12*time.Second)},
		{wait: 12 * time.Second, class: perMinute, key: "ip:1", want: allowed(4, 12*time.Second)},
		{wait: 12 * time.Second, class: perMinute, key: "ip:1", want: allowed(4, 12*time.Second)},
	}},
	{"each key has its own budget", []gcraStep{
		{class: perMinute, key: "ip:1", want: allowed(4, 12*time.Second), times: 5},
		{class: perMinute, key: "ip:2", want: allowed(4, 12*time.Second)},
		{class: perMinute, key: "ip:1", want: rejected(12*time.Second, time.Minute)},
	}},
	{"a class changed at run time starts afresh", []gcraStep{
		{class: perMinute, key: "ip:1", want: allowed(4, 12*time.Second), times: 5},
		{class: ratelimit.Class{Name: "login", Rate: 10, Period: time.Minute, Burst: 10}, key: "ip:1",
			want: ratelimit.Result{Allowed: true, Limit: 10, Remaining: 9, Reset: 6 * time.Second}},
	}},
	{"a burst above the rate", []gcraStep{
		{class: burst3, key: "u:1", want: ratelimit.Result{Allowed: true, Limit: 3, Remaining: 2, Reset: time.Second}, times: 3},
		{class: burst3, key: "u:1", want: ratelimit.Result{Limit: 3, RetryAfter: time.Second, Reset: 3 * time.Second}},
	}},
	{"no burst given: the burst is the rate", []gcraStep{
		{class: noBurst, key: "u:1", want: ratelimit.Result{Allowed: true, Limit: 4, Remaining: 3, Reset: 15 * time.Second}, times: 4},
		{class: noBurst, key: "u:1", want: ratelimit.Result{Limit: 4, RetryAfter: 15 * time.Second, Reset: time.Minute}},
	}},
	{"an unlimited class allows everything", []gcraStep{
		{class: ratelimit.Class{Name: "none"}, key: "x", want: ratelimit.Result{Allowed: true}, times: 20},
	}},
}

// TestGCRA runs every case against every implementation of the step.
func TestGCRA(t *testing.T) {
	t.Parallel()
	for _, impl := range gcraImpls() {
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range gcraCases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					l, advance, check := impl.open(t)
					for i, st := range tc.steps {
						if st.wait > 0 {
							advance(st.wait)
						}
						for n := range max(st.times, 1) {
							want := st.want
							if want.Allowed && want.Limit > 0 {
								want.Remaining -= n
								want.Reset += time.Duration(n) * (st.class.Period / time.Duration(st.class.Rate))
							}
							got := l.Allow(context.Background(), st.class, st.key)
							if !sameResult(got, want, impl.tolerance) {
								t.Fatalf("step %d, request %d of %s: got %+v, want %+v (durations within %v)", i, n+1, st.key, got, want, impl.tolerance)
							}
						}
					}
					if check != nil {
						check()
					}
				})
			}
		})
	}
}

// sameResult compares got with want; durations may fall short by at most
// tol (time passes, never backwards).
func sameResult(got, want ratelimit.Result, tol time.Duration) bool {
	near := func(g, w time.Duration) bool { return g <= w && w-g <= tol }
	return got.Allowed == want.Allowed && got.Limit == want.Limit && got.Remaining == want.Remaining &&
		near(got.Reset, want.Reset) && near(got.RetryAfter, want.RetryAfter)
}
