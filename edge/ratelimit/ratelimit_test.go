package ratelimit_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opencommerce/opencommerce/edge/ratelimit"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

var login = ratelimit.Class{Name: "login", Rate: 5, Period: time.Minute, Burst: 5}

func TestLocalBounded(t *testing.T) {
	l := ratelimit.NewLocal(320)
	for i := range 10_000 {
		l.Allow(context.Background(), login, fmt.Sprint("ip:", i))
	}
	if n := l.Len(); n > 320 {
		t.Fatalf("Len = %d, want <= 320", n)
	}
}

func redisClient(t *testing.T) (*redis.Client, string) {
	addr, prefix := testenv.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb, prefix
}

// TestSharedAcrossInstances: two gateway instances share one budget per
// key (the step itself is TestGCRA's).
func TestSharedAcrossInstances(t *testing.T) {
	rdb, prefix := redisClient(t)
	a := ratelimit.NewShared(rdb, ratelimit.SharedConfig{Prefix: prefix, Timeout: time.Second}, nil)
	b := ratelimit.NewShared(redis.NewClient(&redis.Options{Addr: rdb.Options().Addr}),
		ratelimit.SharedConfig{Prefix: prefix, Timeout: time.Second}, nil)
	ctx := context.Background()
	allowed := 0
	for i := range 10 {
		l := a
		if i%2 == 1 {
			l = b
		}
		if l.Allow(ctx, login, "ip:9").Allowed {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("two instances allowed %d of 10, want exactly the burst of 5", allowed)
	}
	if a.Fallbacks() != 0 || b.Fallbacks() != 0 {
		t.Fatal("decisions fell back to local with Redis up")
	}
}

func TestSharedFallsBackWhenRedisDown(t *testing.T) {
	dead := redis.NewClient(&redis.Options{Addr: testenv.FreeAddr(t), MaxRetries: -1})
	defer dead.Close()
	s := ratelimit.NewShared(dead, ratelimit.SharedConfig{Prefix: "x:", Cooldown: time.Hour}, nil)
	ctx := context.Background()
	allowed := 0
	for range 10 {
		if s.Allow(ctx, login, "ip:1").Allowed {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("with Redis down allowed %d of 10, want 5 (local limiter)", allowed)
	}
	if !s.Degraded() {
		t.Fatal("breaker not open")
	}
}

// TestSharedRedisLostAndBack: Redis going away mid-run switches decisions
// to the local limiter at once (requests are still limited), and after it
// comes back and the cool-down has passed, decisions are Redis's again —
// including what it remembered from before the outage.
func TestSharedRedisLostAndBack(t *testing.T) {
	addr, prefix := testenv.Redis(t)
	proxy := testenv.NewProxy(t, addr)
	rdb := redis.NewClient(&redis.Options{Addr: proxy.Addr(), MaxRetries: -1, DialTimeout: 300 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	s := ratelimit.NewShared(rdb, ratelimit.SharedConfig{Prefix: prefix, Timeout: 300 * time.Millisecond, Cooldown: 200 * time.Millisecond}, nil)
	ctx := context.Background()
	count := func(key string, n int) (allowed int) {
		for range n {
			if s.Allow(ctx, login, key).Allowed {
				allowed++
			}
		}
		return allowed
	}
	if got := count("ip:remembered", 6); got != 5 || s.Fallbacks() != 0 {
		t.Fatalf("Redis up: %d of 6 allowed, %d local decisions; want 5, 0", got, s.Fallbacks())
	}

	proxy.Cut()
	if got := count("ip:during", 10); got != 5 {
		t.Fatalf("Redis lost mid-run: %d of 10 allowed, want the burst of 5 from the local limiter", got)
	}
	if !s.Degraded() || s.Fallbacks() < 10 {
		t.Fatalf("Redis lost: degraded %v, %d local decisions", s.Degraded(), s.Fallbacks())
	}

	proxy.Restore()
	// Requests after the cool-down probe Redis; one that reaches it closes
	// the breaker.
	testenv.Eventually(t, "limiting through Redis again after it came back", func() bool {
		if !s.Degraded() {
			return true
		}
		s.Allow(ctx, login, "ip:probe")
		return !s.Degraded()
	})
	before := s.Fallbacks()
	if got := count("ip:remembered", 3); got != 0 {
		t.Fatalf("after Redis came back: %d of 3 allowed for a key Redis had exhausted, want 0", got)
	}
	if s.Fallbacks() != before {
		t.Fatal("decisions still local after Redis came back")
	}
}

// TestSharedConcurrentRequestsExact: many requests for one key at once go
// to Redis in shared pipelines, and exactly the burst is allowed.
func TestSharedConcurrentRequestsExact(t *testing.T) {
	rdb, prefix := redisClient(t)
	s := ratelimit.NewShared(rdb, ratelimit.SharedConfig{Prefix: prefix, Timeout: 5 * time.Second}, nil)
	class := ratelimit.Class{Name: "default", Rate: 50, Period: time.Hour, Burst: 50}
	const n = 200
	var allowed atomic.Int64
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			if s.Allow(context.Background(), class, "user:1").Allowed {
				allowed.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if got := allowed.Load(); got != 50 {
		t.Fatalf("%d of %d concurrent requests allowed, want exactly the burst of 50", got, n)
	}
	if s.Fallbacks() != 0 {
		t.Fatalf("%d decisions fell back to the local limiter with Redis up", s.Fallbacks())
	}
	if rt := s.RoundTrips(); rt == 0 || rt >= n {
		t.Fatalf("%d round trips for %d concurrent requests: not pipelined", rt, n)
	}
}

// TestSharedAfterScriptFlush: a Redis that lost its scripts (restart,
// SCRIPT FLUSH) is given the script again; no decision falls back.
func TestSharedAfterScriptFlush(t *testing.T) {
	rdb, prefix := redisClient(t)
	s := ratelimit.NewShared(rdb, ratelimit.SharedConfig{Prefix: prefix, Timeout: 5 * time.Second}, nil)
	ctx := context.Background()
	if !s.Allow(ctx, login, "ip:7").Allowed {
		t.Fatal("first request refused")
	}
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	allowed := 1
	for range 9 {
		if s.Allow(ctx, login, "ip:7").Allowed {
			allowed++
		}
	}
	if allowed != 5 || s.Fallbacks() != 0 {
		t.Fatalf("after SCRIPT FLUSH: %d of 10 allowed (want 5), %d local decisions (want 0)", allowed, s.Fallbacks())
	}
}
