package redisx_test

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/internal/redisx"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

func TestOpenPingsAndReady(t *testing.T) {
	t.Parallel()
	addr, prefix := testenv.Redis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := redisx.Config{URL: "redis://" + addr + "/0", Prefix: prefix}
	c, err := redisx.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	key := cfg.Key("probe", "1")
	if err := c.Set(ctx, key, "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	defer c.Del(context.Background(), key)
	if got, err := c.Get(ctx, key).Result(); err != nil || got != "v" {
		t.Fatalf("get = %q, %v", got, err)
	}
	if err := redisx.Ready(c)(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}
	_ = c.Close()
	if err := redisx.Ready(c)(ctx); err == nil {
		t.Fatal("ready after close: want error")
	}
}

func TestOpenFailsFast(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, cfg := range []redisx.Config{
		{URL: ""},
		{URL: "http://127.0.0.1:6379"},
		{URL: "redis://" + testenv.FreeAddr(t) + "/0"}, // nobody listens
	} {
		if c, err := redisx.Open(ctx, cfg); err == nil {
			_ = c.Close()
			t.Errorf("%+v: want error", cfg)
		}
	}
}

func TestFlags(t *testing.T) {
	var cfg redisx.Config
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	if cfg.URL != redisx.DefaultURL || cfg.Prefix != "oc:" {
		t.Fatalf("defaults = %+v", cfg)
	}
	if err := fs.Parse([]string{"-redis.url=redis://h:1/2", "-redis.prefix=t:"}); err != nil {
		t.Fatal(err)
	}
	if cfg.URL != "redis://h:1/2" || cfg.Key("a", "b") != "t:a:b" {
		t.Fatalf("parsed = %+v", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestContextDeadlineBoundsNetworkWait: on a connection that stopped
// answering, a command returns when its context ends, not after the
// client's default read timeout (3 s), so no request hangs behind Redis.
func TestContextDeadlineBoundsNetworkWait(t *testing.T) {
	t.Parallel()
	addr, prefix := testenv.Redis(t)
	f := testenv.NewProxy(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := redisx.Open(ctx, redisx.Config{URL: "redis://" + f.Addr() + "/0?max_retries=-1", Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f.Freeze()
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelShort()
	start := time.Now()
	err = c.Get(short, prefix+"k").Err()
	if err == nil {
		t.Fatal("GET through a frozen connection succeeded")
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Fatalf("GET waited %s past its 100 ms context on a frozen connection", waited)
	}
}
