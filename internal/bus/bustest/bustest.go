// Package bustest gives tests a connected bus on a fresh RabbitMQ vhost
// (internal/testenv), closed when the test ends.
package bustest

import (
	"context"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// Dial connects to url (a vhost from testenv.AMQP) with fast reconnects
// and closes the connection at the end of the test.
func Dial(tb testing.TB, url string) *bus.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := bus.Dial(ctx, bus.Config{URL: url, Name: "test", MinBackoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond}, nil, nil)
	if err != nil {
		tb.Fatalf("bus.Dial: %v", err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Conn returns a connection on a fresh vhost and the vhost's URL.
func Conn(tb testing.TB) (*bus.Conn, string) {
	tb.Helper()
	url := testenv.AMQP(tb)
	return Dial(tb, url), url
}

// Client returns an RPC client on c, closed at the end of the test.
func Client(tb testing.TB, c *bus.Conn, cfg bus.ClientConfig) *bus.Client {
	tb.Helper()
	cl, err := bus.NewClient(c, cfg, nil, nil)
	if err != nil {
		tb.Fatalf("bus.NewClient: %v", err)
	}
	tb.Cleanup(func() { _ = cl.Close() })
	return cl
}

// Serve starts an RPC server for service on c with the handlers given and
// shuts it down at the end of the test.
func Serve(tb testing.TB, c *bus.Conn, cfg bus.ServerConfig, handlers map[string]bus.Handler) *bus.Server {
	tb.Helper()
	s := bus.NewServer(c, cfg, nil, nil)
	for m, h := range handlers {
		s.Handle(m, h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		tb.Fatalf("server start: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s
}
