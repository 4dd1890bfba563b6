package eventmirror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/natsx"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// flaky fails its first fails publishes, then acknowledges.
type flaky struct {
	mu       sync.Mutex
	fails    int
	calls    int
	subjects []string
}

func (f *flaky) Publish(_ context.Context, subj string, _ []byte, _ ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls <= f.fails {
		return nil, errors.New("nats: no responders available for request")
	}
	f.subjects = append(f.subjects, subj)
	return &jetstream.PubAck{Stream: "EVENTS", Sequence: uint64(len(f.subjects))}, nil
}

func newTestMirror(js Publisher) *Mirror {
	cfg := DefaultConfig()
	cfg.MaxBackoff = 10 * time.Millisecond
	cfg.Scheme = natsx.Scheme{Prefix: "t1"}
	return &Mirror{cfg: cfg, js: js, log: discard(), m: newMetrics(nil), stop: make(chan struct{})}
}

// Handle returns success (the consumer's ack) only after JetStream
// acknowledged the event, retrying meanwhile; the subject is
// events.<type> with the type's dots as levels.
func TestHandleAcksOnlyAfterPubAck(t *testing.T) {
	js := &flaky{fails: 3}
	mi := newTestMirror(js)
	ev := contracts.Event{ID: "e1", Type: "product.updated", Data: []byte(`{}`)}
	if err := mi.Handle(context.Background(), ev); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if js.calls != 4 || len(js.subjects) != 1 || js.subjects[0] != "t1.events.product.updated" {
		t.Fatalf("calls %d, published %v; want 3 failures then one publish to t1.events.product.updated", js.calls, js.subjects)
	}
}

// While JetStream fails, Stop makes Handle give the event back (an error,
// so the consumer does not ack it) instead of holding it for ever.
func TestHandleGivesBackOnStop(t *testing.T) {
	js := &flaky{fails: 1 << 30}
	mi := newTestMirror(js)
	done := make(chan error, 1)
	go func() { done <- mi.Handle(context.Background(), contracts.Event{ID: "e2", Type: "order.paid"}) }()
	// Barrier: Handle is in its retry loop once it has failed twice.
	testenv.Eventually(t, "two failed publishes", func() bool {
		js.mu.Lock()
		defer js.mu.Unlock()
		return js.calls >= 2
	})
	close(mi.stop)
	if err := <-done; err == nil {
		t.Fatal("Handle acked an event JetStream never took")
	}
	if len(js.subjects) != 0 {
		t.Fatalf("published %v", js.subjects)
	}
}

// An event type that is no NATS subject cannot ever be mirrored: a
// permanent error (dead-lettered), without a publish.
func TestHandleRefusesTypesThatAreNoSubject(t *testing.T) {
	js := &flaky{}
	mi := newTestMirror(js)
	for _, typ := range []string{"", "product..updated", "product.*", "product updated"} {
		err := mi.Handle(context.Background(), contracts.Event{ID: "e3", Type: typ})
		if err == nil || !isPermanent(err) {
			t.Errorf("type %q: err %v, want a permanent error", typ, err)
		}
	}
	if js.calls != 0 {
		t.Fatalf("%d publishes for unmirrorable types", js.calls)
	}
}

func TestConfigChecked(t *testing.T) {
	for name, f := range map[string]func(*Config){
		"zero publish timeout": func(c *Config) { c.PublishTimeout = 0 },
		"negative backoff":     func(c *Config) { c.MaxBackoff = -time.Second },
	} {
		c := DefaultConfig()
		f(&c)
		if c.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// isPermanent: bus marks a permanent failure with an unexported wrapper
// (the consumer dead-letters it at once).
func isPermanent(err error) bool { return fmt.Sprintf("%T", err) == "bus.permanentError" }
