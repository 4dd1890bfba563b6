package bustest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
)

// Spy records every event published on c that matches bindings (through
// its own queue, events.spy), for tests that assert what a service emits.
type Spy struct {
	mu     sync.Mutex
	events []contracts.Event
	notify chan struct{}
}

// NewSpy starts the spy; it stops when the test ends.
func NewSpy(tb testing.TB, c *bus.Conn, bindings ...string) *Spy {
	tb.Helper()
	s := &Spy{notify: make(chan struct{}, 1)}
	cons := bus.NewConsumer(c, bus.ConsumerConfig{Service: "spy", Bindings: bindings},
		func(_ context.Context, ev contracts.Event) error {
			s.mu.Lock()
			s.events = append(s.events, ev)
			s.mu.Unlock()
			select {
			case s.notify <- struct{}{}:
			default:
			}
			return nil
		}, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cons.Start(ctx); err != nil {
		tb.Fatalf("spy: %v", err)
	}
	tb.Cleanup(func() { _ = cons.Shutdown(context.Background()) })
	return s
}

// Wait waits up to 30 s until match has selected n events, and returns
// them.
func (s *Spy) Wait(tb testing.TB, n int, match func(contracts.Event) bool) []contracts.Event {
	tb.Helper()
	deadline := time.After(30 * time.Second)
	for {
		s.mu.Lock()
		var got []contracts.Event
		for _, ev := range s.events {
			if match(ev) {
				got = append(got, ev)
			}
		}
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-s.notify:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			tb.Fatalf("waited for %d events, have %d", n, len(got))
		}
	}
}
