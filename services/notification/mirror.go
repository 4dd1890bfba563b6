package notification

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/natsx"
)

// MirrorService is the consumer name of the event mirror: its queue is
// events.notification-mirror, bound to every routing key.
const MirrorService = "notification-mirror"

// mirror copies every event from RabbitMQ to NATS events.<type> (stream
// EVENTS). A delivery is acked on RabbitMQ only after JetStream returned its
// PubAck; while JetStream does not answer the handler keeps the delivery
// (unacked, so still on RabbitMQ) and retries with backoff. Nats-Msg-Id is
// the event id, so a redelivered event is stored once.
type mirror struct {
	js     jetstream.JetStream
	scheme natsx.Scheme
	log    *slog.Logger
	stop   chan struct{}
	m      *metrics
}

func (m *mirror) handle(ctx context.Context, ev contracts.Event) error {
	subj, err := m.scheme.EventSubject(ev.Type)
	if err != nil {
		return bus.Permanent(err)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return bus.Permanent(err)
	}
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := m.js.Publish(pctx, subj, body, jetstream.WithMsgID(ev.ID))
		cancel()
		if err == nil {
			m.m.mirrored.Inc()
			return nil
		}
		if attempt == 1 || attempt%20 == 0 {
			m.log.Warn("mirror to JetStream failed; holding the event", "type", ev.Type, "id", ev.ID, "attempt", attempt, "err", err)
		}
		select {
		case <-m.stop:
			// Shutting down: the consumer parks it on its retry queue, still
			// on RabbitMQ.
			return fmt.Errorf("mirror %s: %w", ev.ID, err)
		case <-ctx.Done():
			return fmt.Errorf("mirror %s: %w", ev.ID, err)
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Second)
	}
}
