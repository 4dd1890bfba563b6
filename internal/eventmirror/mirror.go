// Package eventmirror copies every event of the RabbitMQ events exchange to
// NATS JetStream, subject events.<type> (stream EVENTS, see natsx), for
// consumers at the edge: each gateway instance purges its catalogue cache
// from events.product.> and events.inventory.>. It knows no event type: any
// event the bindings match (every one, "#", by default) is copied as it is,
// under the subject its type names.
//
// Delivery: the mirror consumes the durable queue events.notification-mirror
// (the name is historical: the mirror used to run inside the notification
// service, and keeping the queue means an upgrade loses nothing it holds).
// A delivery is acked on RabbitMQ only after JetStream returned its PubAck;
// while JetStream does not answer, the handler keeps the delivery (unacked,
// so still on RabbitMQ) and retries with backoff up to Config.MaxBackoff,
// and on shutdown hands it back to the consumer's retry queue. Nats-Msg-Id
// is the event id, so an event delivered twice (a redelivery, two mirror
// instances racing after a reconnect) is stored once within the stream's
// duplicate window. Several instances (one per gateway) share the queue as
// competing consumers; events of different types may be mirrored out of
// their RabbitMQ order, as with any consumer of more than one worker.
//
// The platform runs it as the module "mirror", pulled in by the gateway
// (platform/services.go), so the gateway's cache freshness depends only on
// what the gateway's own process runs.
package eventmirror

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/natsx"
	"github.com/opencommerce/opencommerce/internal/telemetry"
)

// Queue is the consumer name of the mirror: its queue is
// events.notification-mirror (with .retry and .dlq). See the package doc
// for why it keeps the notification service's name.
const Queue = "notification-mirror"

// Config configures the mirror (flags mirror.*).
type Config struct {
	// PublishTimeout bounds one JetStream publish, its PubAck included
	// (mirror.publish-timeout).
	PublishTimeout time.Duration
	// MaxBackoff is the longest pause between attempts of an event
	// JetStream did not take (mirror.max-backoff); the first is 100ms.
	MaxBackoff time.Duration
	// Bindings are the routing keys the queue binds (not a flag; default
	// every event, "#").
	Bindings []string
	// Scheme names the stream and subjects; set from natsx.Config.Scheme()
	// (not a flag), the same as the consumers at the edge.
	Scheme natsx.Scheme
}

// DefaultConfig returns the defaults RegisterFlags sets.
func DefaultConfig() Config {
	return Config{PublishTimeout: 5 * time.Second, MaxBackoff: 5 * time.Second, Bindings: []string{"#"}}
}

// RegisterFlags registers the mirror's flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	d := DefaultConfig()
	c.Bindings = d.Bindings
	fs.DurationVar(&c.PublishTimeout, "mirror.publish-timeout", d.PublishTimeout, "bound of one publish of a mirrored event to NATS JetStream, PubAck included")
	fs.DurationVar(&c.MaxBackoff, "mirror.max-backoff", d.MaxBackoff, "longest pause between attempts of an event JetStream did not take (it stays on RabbitMQ meanwhile)")
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	switch {
	case c.PublishTimeout <= 0:
		return errors.New("mirror.publish-timeout must be positive")
	case c.MaxBackoff <= 0:
		return errors.New("mirror.max-backoff must be positive")
	}
	return nil
}

// Publisher is the part of jetstream.JetStream the mirror uses.
type Publisher interface {
	Publish(ctx context.Context, subject string, data []byte, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// Mirror is a running (or not yet started) mirror. Start and Stop are not
// safe to call concurrently with each other.
type Mirror struct {
	cfg      Config
	js       Publisher
	log      *slog.Logger
	m        *metrics
	consumer *bus.Consumer
	stop     chan struct{}
}

// New checks cfg and returns a mirror that is not started. consumer holds
// the process's event consumer tunables (prefetch, workers, retry); its
// Service and Bindings are the mirror's own. reg may be nil.
func New(cfg Config, conn *bus.Conn, consumer bus.ConsumerConfig, js Publisher, log *slog.Logger, reg prometheus.Registerer) (*Mirror, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if conn == nil || js == nil {
		return nil, errors.New("eventmirror: a bus connection and a JetStream publisher are required")
	}
	if len(cfg.Bindings) == 0 {
		cfg.Bindings = DefaultConfig().Bindings
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("module", "mirror")
	mi := &Mirror{cfg: cfg, js: js, log: log, m: newMetrics(reg), stop: make(chan struct{})}
	consumer.Service = Queue
	consumer.Bindings = cfg.Bindings
	mi.consumer = bus.NewConsumer(conn, consumer, mi.Handle, log, reg)
	return mi, nil
}

// Start declares the queue and begins mirroring.
func (mi *Mirror) Start(ctx context.Context) error { return mi.consumer.Start(ctx) }

// Stop ends the retries of events in flight (they go back to RabbitMQ, on
// the retry queue) and stops consuming.
func (mi *Mirror) Stop(ctx context.Context) error {
	select {
	case <-mi.stop:
	default:
		close(mi.stop)
	}
	return mi.consumer.Shutdown(ctx)
}

// Handle copies one event to JetStream and returns nil once JetStream
// acknowledged it, so the consumer acks it on RabbitMQ only then. While
// JetStream fails it retries with backoff; it gives up (an error: the
// consumer retries the event later) only when ctx ends or Stop is called.
// An event whose type is no NATS subject is a permanent error
// (dead-lettered). Safe for concurrent use.
func (mi *Mirror) Handle(ctx context.Context, ev contracts.Event) error {
	subj, err := mi.cfg.Scheme.EventSubject(ev.Type)
	if err != nil {
		return bus.Permanent(err)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return bus.Permanent(err)
	}
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := mi.publish(ctx, subj, body, ev.ID)
		if err == nil {
			mi.m.mirrored.Inc()
			return nil
		}
		mi.m.failures.Inc()
		if attempt == 1 || attempt%20 == 0 {
			mi.log.Warn("mirror to JetStream failed; holding the event", "type", ev.Type, "id", ev.ID, "attempt", attempt, "err", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-mi.stop:
			t.Stop()
			return fmt.Errorf("mirror %s: %w", ev.ID, err)
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("mirror %s: %w", ev.ID, err)
		case <-t.C:
		}
		wait = min(wait*2, mi.cfg.MaxBackoff)
	}
}

func (mi *Mirror) publish(ctx context.Context, subj string, body []byte, id string) error {
	pctx, cancel := context.WithTimeout(ctx, mi.cfg.PublishTimeout)
	defer cancel()
	_, err := mi.js.Publish(pctx, subj, body, jetstream.WithMsgID(id))
	return err
}

type metrics struct {
	mirrored prometheus.Counter
	failures prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		mirrored: telemetry.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oc_events_mirrored_total", Help: "Events mirrored from RabbitMQ to NATS JetStream (acknowledged by JetStream).",
		})),
		failures: telemetry.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oc_events_mirror_publish_failures_total", Help: "Publishes of a mirrored event JetStream did not acknowledge (the event stays on RabbitMQ and is retried).",
		})),
	}
}
