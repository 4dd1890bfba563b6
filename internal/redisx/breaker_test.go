package redisx_test

import (
	"context"
	"errors"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/redisx"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// fakeRedis is a hook behind the breaker standing for the server: while
// failing every command times out, else it succeeds; calls counts the
// commands that reached it.
type fakeRedis struct {
	failing atomic.Bool
	calls   atomic.Int64
}

func (f *fakeRedis) DialHook(next redis.DialHook) redis.DialHook { return next }

func (f *fakeRedis) ProcessHook(redis.ProcessHook) redis.ProcessHook {
	return func(context.Context, redis.Cmder) error {
		f.calls.Add(1)
		if f.failing.Load() {
			return &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
		}
		return nil
	}
}

func (f *fakeRedis) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func wantUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	var ce *contracts.Error
	if !errors.As(err, &ce) || ce.Code != contracts.CodeUnavailable || !errors.Is(err, redisx.ErrUnavailable) {
		t.Fatalf("%s: err = %v, want one classified unavailable", what, err)
	}
}

// TestBreakerOpensFailsFastAndProbesToClose: after BreakerFailures
// commands in a row time out, the next ones fail at once with an
// unavailable error without reaching Redis; once Redis answers again a
// probe after the cool-down closes the breaker and commands reach Redis.
func TestBreakerOpensFailsFastAndProbesToClose(t *testing.T) {
	t.Parallel()
	c, err := redisx.NewClient(redisx.Config{URL: "redis://" + testenv.FreeAddr(t) + "/0", BreakerFailures: 3, BreakerCooldown: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fake := &fakeRedis{}
	c.AddHook(fake)
	ctx := context.Background()

	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("ping: %v", err)
	}
	fake.failing.Store(true)
	for i := range 3 {
		wantUnavailable(t, "timed-out command", c.Ping(ctx).Err()) // a timeout is unavailable too
		if got := fake.calls.Load(); got != int64(i+2) {
			t.Fatalf("command %d did not reach Redis (calls = %d)", i+1, got)
		}
	}
	calls := fake.calls.Load()
	for range 20 {
		wantUnavailable(t, "command with the breaker open", c.Get(ctx, "k").Err())
	}
	// Within the cool-down nothing reaches Redis; past it one probe per
	// cool-down does (and, failing, reopens the breaker).
	if got := fake.calls.Load() - calls; got > 1 {
		t.Fatalf("%d of 20 commands reached Redis with the breaker open, want at most one probe", got)
	}

	fake.failing.Store(false)
	testenv.Eventually(t, "the breaker closing after a successful probe", func() bool {
		return c.Ping(ctx).Err() == nil
	})
	before := fake.calls.Load()
	for range 5 {
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatalf("ping after the breaker closed: %v", err)
		}
	}
	if got := fake.calls.Load() - before; got != 5 {
		t.Fatalf("%d of 5 commands reached Redis after the breaker closed", got)
	}
}

// TestCallerDeadlineDoesNotOpenBreaker: commands ended by their caller's
// context (here canceled) say nothing about Redis: however many, the
// breaker stays closed.
func TestCallerDeadlineDoesNotOpenBreaker(t *testing.T) {
	t.Parallel()
	c, err := redisx.NewClient(redisx.Config{URL: "redis://" + testenv.FreeAddr(t) + "/0", BreakerFailures: 2, BreakerCooldown: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fake := &fakeRedis{}
	c.AddHook(fake)
	fake.failing.Store(true)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for range 5 {
		_ = c.Ping(canceled).Err()
	}
	fake.failing.Store(false)
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("ping after canceled commands: %v (breaker opened by its callers' contexts)", err)
	}
}

// TestFrozenRedisOpensBreakerAndRecovers: against a real Redis behind the
// fault proxy, frozen (a hung server), commands without a deadline of
// their own end on the client's read timeout with an unavailable error,
// open the breaker after BreakerFailures, and once Redis is restored a
// probe closes it and commands succeed again.
func TestFrozenRedisOpensBreakerAndRecovers(t *testing.T) {
	t.Parallel()
	addr, prefix := testenv.Redis(t)
	f := testenv.NewProxy(t, addr)
	ctx := context.Background()
	c, err := redisx.Open(ctx, redisx.Config{URL: "redis://" + f.Addr() + "/0?max_retries=-1", Prefix: prefix, BreakerFailures: 2, BreakerCooldown: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	key := prefix + "k"
	if err := c.Set(ctx, key, "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	f.Freeze()
	for range 2 {
		wantUnavailable(t, "GET on a frozen Redis", c.Get(ctx, key).Err())
	}
	// Open now (or probing, after the cool-down): fails as unavailable.
	wantUnavailable(t, "GET with the breaker open", c.Get(ctx, key).Err())
	f.Restore()
	testenv.Eventually(t, "GET succeeding once Redis answers again", func() bool {
		v, err := c.Get(ctx, key).Result()
		return err == nil && v == "v"
	})
}
