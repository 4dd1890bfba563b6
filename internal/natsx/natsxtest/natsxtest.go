// Package natsxtest gives tests an isolated JetStream on the real NATS
// server of the machine: a unique prefix, its NOTIFY and EVENTS streams
// (deleted when the test ends), and a connection.
package natsxtest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/opencommerce/opencommerce/internal/natsx"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// Env is one test's NATS: its config (URL and prefix) and scheme.
type Env struct {
	Config natsx.Config
	Scheme natsx.Scheme
}

// New prepares a unique prefix with its streams on the machine's NATS
// server (skipped, or failed under CI, when it is unreachable).
func New(tb testing.TB) Env {
	tb.Helper()
	url, prefix := testenv.NATS(tb)
	cfg := natsx.DefaultConfig()
	cfg.URL, cfg.Prefix, cfg.Name = url, prefix, tb.Name()
	cfg.Streams.NotifyMaxAge = time.Hour
	cfg.Streams.EventsMaxAge = time.Hour
	cfg.Streams.EventsMaxBytes = 64 << 20
	env := Env{Config: cfg, Scheme: cfg.Scheme()}
	tb.Cleanup(func() { DropStreams(cfg) })
	return env
}

// Connect opens a connection (one "process") to the test's NATS with the
// streams ensured; it is closed when the test ends.
func (e Env) Connect(tb testing.TB) (*nats.Conn, jetstream.JetStream) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	nc, js, closeFn, err := natsx.Connect(ctx, e.Config, nil)
	if err != nil {
		testenv.Unavailable(tb, "NATS", err)
	}
	tb.Cleanup(closeFn)
	return nc, js
}

// DropStreams deletes the JetStream streams made under cfg's prefix on its
// server (tests share one NATS server; each cleans up its own namespace).
// It does nothing for an unprefixed (production) configuration.
func DropStreams(cfg natsx.Config) {
	if cfg.Prefix == "" || cfg.URL == "" {
		return
	}
	nc, err := nats.Connect(cfg.URL)
	if err != nil {
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, name := range []string{cfg.Scheme().NotifyStream(), cfg.Scheme().EventsStream()} {
		_ = js.DeleteStream(ctx, name)
	}
}
