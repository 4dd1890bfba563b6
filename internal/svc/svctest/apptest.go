// Package svctest builds svc.Deps for integration tests on the real servers:
// a fresh RabbitMQ vhost with a connected bus and RPC client, a unique
// database prefix (every database made under it is dropped when the test
// ends), a Redis client with a unique key prefix, a fresh metrics registry
// and a logger that writes through t.Log on failure only.
package svctest

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/pg"
	"github.com/opencommerce/opencommerce/internal/redisx"
	"github.com/opencommerce/opencommerce/internal/svc"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// Env is what Deps made, for tests that need the raw addresses.
type Env struct {
	AMQPURL  string
	Registry *prometheus.Registry
}

// Deps returns ready-to-use dependencies isolated to tb.
func Deps(tb testing.TB) (svc.Deps, Env) {
	tb.Helper()
	amqpURL := testenv.AMQP(tb)
	return DepsOn(tb, amqpURL)
}

// DepsOn is Deps on an existing vhost (for tests that run two processes on
// one broker vhost, like two gateway instances). Databases are still unique
// per call.
func DepsOn(tb testing.TB, amqpURL string) (svc.Deps, Env) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reg := prometheus.NewRegistry()
	log := Logger(tb)

	conn, err := bus.Dial(ctx, bus.Config{URL: amqpURL, Name: "test"}, log, reg)
	if err != nil {
		tb.Fatalf("bus dial: %v", err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	cli, err := bus.NewClient(conn, bus.ClientConfig{}, log, reg)
	if err != nil {
		tb.Fatalf("rpc client: %v", err)
	}
	tb.Cleanup(func() { _ = cli.Close() })

	pgc := pg.DefaultConfig()
	pgc.URL = testenv.PGURL
	pgc.MaxConns = 8
	prefix := testenv.Name("oct") + "_"
	tb.Cleanup(func() { testenv.DropDatabases(prefix) })

	addr, rprefix := testenv.Redis(tb)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	tb.Cleanup(func() {
		cleanRedis(rdb, rprefix)
		_ = rdb.Close()
	})

	return svc.Deps{
		Log:         log,
		Metrics:     reg,
		Health:      svc.NewHealth(),
		Bus:         conn,
		RPC:         cli,
		PG:          pgc,
		DBPrefix:    prefix,
		Redis:       rdb,
		RedisPrefix: rprefix,
		Relay:       pg.RelayConfig{PollInterval: 200 * time.Millisecond},
	}, Env{AMQPURL: amqpURL, Registry: reg}
}

// Logger returns a logger for tb: debug level on stderr when OC_TEST_LOG=1,
// else errors only. It writes to stderr rather than tb.Log because
// background goroutines (reconnect loops, relays) may log after the test
// has ended, which tb.Log forbids.
func Logger(tb testing.TB) *slog.Logger {
	lvl := slog.LevelError
	if testenv.Verbose() {
		lvl = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl})).With("test", tb.Name())
}

func cleanRedis(rdb *redis.Client, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = redisx.DeleteKeys(ctx, rdb, prefix)
}
