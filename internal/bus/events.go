package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
)

// Event headers used by the consumer's retry bookkeeping.
const (
	// HeaderAttempts counts failed handlings of an event so far.
	HeaderAttempts = "x-attempts"
	// HeaderLastError is the last handler error of a dead-lettered event.
	HeaderLastError = "x-last-error"
)

// RetryQueue and DeadLetterQueue name a consumer's retry and dead-letter
// queues.
func RetryQueue(service string) string      { return contracts.EventsQueue(service) + ".retry" }
func DeadLetterQueue(service string) string { return contracts.EventsQueue(service) + ".dlq" }

// confirmChannel is a channel in confirm mode that one goroutine at a time
// publishes on; it reopens itself after the connection is lost.
type confirmChannel struct {
	conn *Conn
	mu   sync.Mutex
	ch   *amqp.Channel
}

// publish publishes msg and returns its deferred confirmation; it fails
// fast with unavailable while the broker is unreachable or blocking.
func (cc *confirmChannel) publish(ctx context.Context, exchange, key string, msg amqp.Publishing) (*amqp.DeferredConfirmation, error) {
	if cc.conn.Blocked() {
		return nil, errBlocked
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.ch == nil || cc.ch.IsClosed() {
		conn, err := cc.conn.current()
		if err != nil {
			return nil, err
		}
		ch, err := conn.Channel()
		if err != nil {
			return nil, contracts.Errorf(contracts.CodeUnavailable, "open channel: %v", err)
		}
		if err := ch.Confirm(false); err != nil {
			_ = ch.Close()
			return nil, contracts.Errorf(contracts.CodeUnavailable, "confirm mode: %v", err)
		}
		cc.ch = ch
	}
	dc, err := cc.ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, false, false, msg)
	if err != nil {
		return nil, contracts.Errorf(contracts.CodeUnavailable, "publish: %v", err)
	}
	return dc, nil
}

func waitConfirm(ctx context.Context, dc *amqp.DeferredConfirmation) error {
	ack, err := dc.WaitContext(ctx)
	if err != nil {
		return contracts.Errorf(contracts.CodeUnavailable, "waiting for the broker's confirm: %v", err)
	}
	if !ack {
		return contracts.Errorf(contracts.CodeUnavailable, "broker did not confirm the message (nack or connection lost)")
	}
	return nil
}

func (cc *confirmChannel) close() {
	cc.mu.Lock()
	if cc.ch != nil {
		_ = cc.ch.Close()
		cc.ch = nil
	}
	cc.mu.Unlock()
}

// Publisher publishes events to oc.events with publisher confirms. Many
// publishes may await their confirms at once (a window, not one by one).
// It is safe for concurrent use.
type Publisher struct {
	cc     confirmChannel
	m      *eventMetrics
	window chan struct{}
}

// PublisherWindow bounds the publishes awaiting a confirm per Publisher.
const PublisherWindow = 512

// NewPublisher returns a Publisher on c. reg may be nil.
func NewPublisher(c *Conn, log *slog.Logger, reg prometheus.Registerer) (*Publisher, error) {
	return &Publisher{
		cc:     confirmChannel{conn: c},
		m:      newEventMetrics(reg),
		window: make(chan struct{}, PublisherWindow),
	}, nil
}

func eventPublishing(ev contracts.Event) (amqp.Publishing, error) {
	if ev.ID == "" || ev.Type == "" {
		return amqp.Publishing{}, contracts.InvalidArgument("", "event needs an id and a type")
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return amqp.Publishing{}, contracts.Errorf(contracts.CodeInvalidArgument, "encode event %s: %v", ev.Type, err)
	}
	return amqp.Publishing{
		ContentType:  contracts.ContentTypeJSON,
		DeliveryMode: amqp.Persistent,
		MessageId:    ev.ID,
		Timestamp:    ev.OccurredAt,
		Type:         ev.Type,
		Body:         body,
	}, nil
}

// Publish publishes ev (routing key ev.Type, message_id ev.ID) and waits
// for the broker's confirm. A nil error means the broker has taken
// responsibility for the event; any error (a *contracts.Error, code
// unavailable) means it may or may not have: publish again (consumers
// deduplicate by event id).
func (p *Publisher) Publish(ctx context.Context, ev contracts.Event) error {
	return p.PublishBatch(ctx, []contracts.Event{ev})
}

// PublishBatch publishes evs and then waits for all their confirms, so a
// batch costs about one round trip. It returns the first error; on error
// any subset may have been published.
func (p *Publisher) PublishBatch(ctx context.Context, evs []contracts.Event) error {
	dcs := make([]*amqp.DeferredConfirmation, 0, min(len(evs), PublisherWindow))
	first := 0 // index in evs of dcs[0]
	var firstErr error
	// settle waits for the confirms of dcs and frees their window slots.
	settle := func() {
		for i, dc := range dcs {
			if err := waitConfirm(ctx, dc); err != nil {
				if firstErr == nil {
					firstErr = err
				}
			} else {
				p.m.published.WithLabelValues(evs[first+i].Type).Inc()
			}
			<-p.window
		}
		dcs = dcs[:0]
	}
	for n, ev := range evs {
		msg, err := eventPublishing(ev)
		if err != nil {
			firstErr = err
			break
		}
		select {
		case p.window <- struct{}{}:
		default:
			// The window is full: never wait for slots this batch holds
			// itself (a batch over the window, or batches that together
			// fill it, would wait forever), settle them first.
			if len(dcs) > 0 {
				settle()
				first = n
			}
			select {
			case p.window <- struct{}{}:
			case <-ctx.Done():
				if firstErr == nil {
					firstErr = contracts.Errorf(contracts.CodeUnavailable, "publish: %v", ctx.Err())
				}
			}
		}
		if firstErr != nil {
			break
		}
		if len(dcs) == 0 {
			first = n
		}
		dc, err := p.cc.publish(ctx, contracts.EventsExchange, ev.Type, msg)
		if err != nil {
			<-p.window
			firstErr = err
			break
		}
		dcs = append(dcs, dc)
	}
	settle()
	return firstErr
}

// Close closes the publisher's channel.
func (p *Publisher) Close() error { p.cc.close(); return nil }

// EventHandler handles one event. A nil error acks it; an error retries it
// after ConsumerConfig.RetryDelay, up to MaxAttempts, then moves it to the
// dead-letter queue. Wrap an error with Permanent to dead-letter at once.
// Handlers must be idempotent: delivery is at least once.
type EventHandler func(ctx context.Context, ev contracts.Event) error

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks err as not worth retrying: the consumer dead-letters the
// event at once.
func Permanent(err error) error { return permanentError{err} }

// Consumer consumes events.<service> (bound to oc.events with the
// configured routing keys) with manual acks. A failed event is republished
// to events.<service>.retry, whose TTL dead-letters it back after
// RetryDelay, with the attempt count in the x-attempts header; after
// MaxAttempts it goes to events.<service>.dlq (see ReplayDeadLetters).
type Consumer struct {
	conn *Conn
	cfg  ConsumerConfig
	h    EventHandler
	log  *slog.Logger
	m    *eventMetrics
	cc   confirmChannel

	mu       sync.Mutex
	started  bool
	stopping chan struct{}
	done     chan struct{}
	baseCtx  context.Context
	cancel   context.CancelFunc
}

// NewConsumer builds a consumer; Start begins consuming. reg may be nil.
// An invalid cfg makes Start fail.
func NewConsumer(c *Conn, cfg ConsumerConfig, h EventHandler, log *slog.Logger, reg prometheus.Registerer) *Consumer {
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := newEventMetrics(reg)
	// The dead-letter series exists from the start (at 0), so dashboards
	// and increase() see a consumer before its first dead letter.
	m.deadLettered.WithLabelValues(cfg.Service)
	return &Consumer{
		conn: c, cfg: cfg, h: h,
		log:      log.With("component", "event-consumer", "service", cfg.Service),
		m:        m,
		cc:       confirmChannel{conn: c},
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// DeclareEventQueues declares cfg's events.<Service> bound to
// cfg.Bindings, its retry queue (TTL cfg.RetryDelay, dead-lettering back)
// and its dead-letter queue, all as cfg.QueueType. It is idempotent for the
// same RetryDelay and QueueType. A queue that exists with other arguments
// (another type, another retry delay) cannot be redeclared: the broker
// refuses (PRECONDITION_FAILED, and closes ch) and the error names the
// queue and what an operator does about it.
func DeclareEventQueues(ch *amqp.Channel, cfg ConsumerConfig) error {
	cfg = cfg.withDefaults()
	q := contracts.EventsQueue(cfg.Service)
	declare := func(name string, args amqp.Table) error {
		if cfg.QueueType == QueueQuorum {
			if args == nil {
				args = amqp.Table{}
			}
			args["x-queue-type"] = string(QueueQuorum)
		}
		if _, err := ch.QueueDeclare(name, true, false, false, false, args); err != nil {
			return declareError(name, cfg, err)
		}
		return nil
	}
	if err := declare(q, nil); err != nil {
		return err
	}
	for _, b := range cfg.Bindings {
		if err := ch.QueueBind(q, b, contracts.EventsExchange, false, nil); err != nil {
			return err
		}
	}
	retry := amqp.Table{
		"x-message-ttl":             cfg.RetryDelay.Milliseconds(),
		"x-dead-letter-exchange":    "",
		"x-dead-letter-routing-key": q,
	}
	if cfg.QueueType == QueueQuorum {
		// A quorum queue dead-letters at most once by default: an event
		// whose retry delay ends while events.<service> has no leader (a
		// node lost) would be dropped. At least once keeps it in the retry
		// queue until the main queue confirms it, and needs reject-publish.
		retry["x-dead-letter-strategy"] = "at-least-once"
		retry["x-overflow"] = "reject-publish"
	}
	if err := declare(RetryQueue(cfg.Service), retry); err != nil {
		return err
	}
	return declare(DeadLetterQueue(cfg.Service), nil)
}

// declareError explains a refused queue declaration: an existing queue
// keeps its type and arguments, so the operator must remove it (drained)
// or change the setting back.
func declareError(queue string, cfg ConsumerConfig, err error) error {
	var ae *amqp.Error
	if !errors.As(err, &ae) || ae.Code != amqp.PreconditionFailed {
		return fmt.Errorf("declare queue %s: %w", queue, err)
	}
	main := contracts.EventsQueue(cfg.Service)
	return fmt.Errorf("queue %s exists with other arguments than amqp.queue-type=%s amqp.events-retry-delay=%s ask for, "+
		"and a queue cannot change its type or arguments: set those back to what it was declared with, "+
		"or stop every module (an event published while %s is gone is dropped), let it and %s drain, "+
		"delete them and %s (rabbitmqctl delete_queue, the management UI) or use a fresh vhost, and start again: %w",
		queue, cfg.QueueType, cfg.RetryDelay,
		main, RetryQueue(cfg.Service), DeadLetterQueue(cfg.Service), err)
}

// Start declares the queues and begins consuming; the consumer resumes by
// itself after a reconnection until Shutdown.
func (c *Consumer) Start(ctx context.Context) error {
	if err := c.cfg.Validate(); err != nil {
		return err
	}
	if c.h == nil {
		return errors.New("consumer: handler is required")
	}
	c.mu.Lock()
	if c.started {
		c.mu.Unlock()
		return errors.New("consumer: already started")
	}
	c.started = true
	c.mu.Unlock()
	c.baseCtx, c.cancel = context.WithCancel(context.Background())
	ch, dels, err := c.consume(ctx)
	if err != nil {
		c.cancel()
		close(c.done)
		return err
	}
	go c.run(ch, dels)
	return nil
}

func (c *Consumer) consume(ctx context.Context) (*amqp.Channel, <-chan amqp.Delivery, error) {
	ch, err := c.conn.Channel(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := DeclareEventQueues(ch, c.cfg); err != nil {
		_ = ch.Close()
		return nil, nil, fmt.Errorf("declare event queues of %s: %w", c.cfg.Service, err)
	}
	if err := ch.Qos(c.cfg.Prefetch, 0, false); err != nil {
		_ = ch.Close()
		return nil, nil, err
	}
	dels, err := ch.Consume(contracts.EventsQueue(c.cfg.Service), "oc-events", false, false, false, false, nil)
	if err != nil {
		_ = ch.Close()
		return nil, nil, err
	}
	return ch, dels, nil
}

func (c *Consumer) run(ch *amqp.Channel, dels <-chan amqp.Delivery) {
	defer close(c.done)
	defer c.cc.close()
	consumeLoop{
		what: "event consumer", tag: "oc-events", workers: c.cfg.Workers, stopping: c.stopping, log: c.log,
		consume: c.consume, handle: func(_ *amqp.Channel, d amqp.Delivery) { c.handle(d) },
	}.run(ch, dels)
}

func attemptsOf(h amqp.Table) int {
	switch n := h[HeaderAttempts].(type) {
	case int64:
		return int(n)
	case int32:
		return int(n)
	case int:
		return n
	}
	return 0
}

func (c *Consumer) handle(d amqp.Delivery) {
	var ev contracts.Event
	var err error
	if uerr := json.Unmarshal(d.Body, &ev); uerr != nil || ev.Type == "" || ev.ID == "" {
		err = Permanent(fmt.Errorf("malformed event: %v", uerr))
		if uerr == nil {
			err = Permanent(errors.New("malformed event: id and type are required"))
		}
	} else {
		err = c.call(ev)
	}
	typ := ev.Type
	if typ == "" {
		typ = "unknown"
	}
	if err == nil {
		_ = d.Ack(false)
		c.m.consumed.WithLabelValues(c.cfg.Service, typ, "ok").Inc()
		return
	}
	attempts := attemptsOf(d.Headers) + 1
	var perm permanentError
	dead := errors.As(err, &perm) || attempts >= c.cfg.MaxAttempts
	headers := amqp.Table{}
	for k, v := range d.Headers {
		headers[k] = v
	}
	headers[HeaderAttempts] = int64(attempts)
	target, result := RetryQueue(c.cfg.Service), "retry"
	if dead {
		target, result = DeadLetterQueue(c.cfg.Service), "dead_lettered"
		msg := err.Error()
		if len(msg) > 1024 {
			msg = msg[:1024]
		}
		headers[HeaderLastError] = msg
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dc, perr := c.cc.publish(ctx, "", target, amqp.Publishing{
		Headers: headers, ContentType: d.ContentType, DeliveryMode: amqp.Persistent,
		MessageId: d.MessageId, Timestamp: d.Timestamp, Type: d.Type, Body: d.Body,
	})
	if perr == nil {
		perr = waitConfirm(ctx, dc)
	}
	if perr != nil {
		// Could not park it: let the broker redeliver it, after a pause, or
		// a blocked or unreachable broker would have the handler run again
		// in a tight loop.
		c.log.Warn("event retry publish failed; requeueing", "type", typ, "err", perr)
		t := time.NewTimer(c.cfg.RetryDelay)
		select {
		case <-t.C:
		case <-c.stopping:
			t.Stop()
		}
		_ = d.Nack(false, true)
		return
	}
	_ = d.Ack(false)
	c.m.consumed.WithLabelValues(c.cfg.Service, typ, result).Inc()
	if dead {
		c.m.deadLettered.WithLabelValues(c.cfg.Service).Inc()
		c.log.Error("event dead-lettered", "type", typ, "id", ev.ID, "attempts", attempts, "err", err)
	} else {
		c.log.Warn("event handler failed; will retry", "type", typ, "id", ev.ID, "attempt", attempts, "err", err)
	}
}

func (c *Consumer) call(ev contracts.Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("event handler panic", "type", ev.Type, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("handler panic: %v", p)
		}
	}()
	return c.h(c.baseCtx, ev)
}

// Shutdown stops consuming, waits for handlers in flight, then closes the
// channels; unstarted deliveries are requeued. If ctx ends first the
// handlers' context is cancelled.
func (c *Consumer) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	started := c.started
	c.started = true
	c.mu.Unlock()
	select {
	case <-c.stopping:
	default:
		close(c.stopping)
	}
	if !started {
		return nil
	}
	select {
	case <-c.done:
		c.cancel()
		return nil
	case <-ctx.Done():
		c.cancel()
		<-c.done
		return ctx.Err()
	}
}

// ReplayDeadLetters moves up to max messages (all present when max <= 0)
// from events.<service>.dlq back to events.<service> with their attempt
// count reset, each confirmed by the broker before it leaves the DLQ. It
// returns how many it moved. It is what `opencommerce replay-dlq` runs.
func ReplayDeadLetters(ctx context.Context, c *Conn, service string, max int) (int, error) {
	ch, err := c.Channel(ctx)
	if err != nil {
		return 0, err
	}
	defer ch.Close()
	dlq := DeadLetterQueue(service)
	q, err := ch.QueueDeclarePassive(dlq, true, false, false, false, nil)
	if err != nil {
		return 0, fmt.Errorf("dead-letter queue %s: %w", dlq, err)
	}
	limit := q.Messages
	if max > 0 && max < limit {
		limit = max
	}
	if err := ch.Confirm(false); err != nil {
		return 0, err
	}
	moved := 0
	for moved < limit {
		if err := ctx.Err(); err != nil {
			return moved, err
		}
		d, ok, err := ch.Get(dlq, false)
		if err != nil {
			return moved, err
		}
		if !ok {
			break
		}
		headers := amqp.Table{}
		for k, v := range d.Headers {
			if k != HeaderAttempts && k != HeaderLastError {
				headers[k] = v
			}
		}
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", contracts.EventsQueue(service), false, false, amqp.Publishing{
			Headers: headers, ContentType: d.ContentType, DeliveryMode: amqp.Persistent,
			MessageId: d.MessageId, Timestamp: d.Timestamp, Type: d.Type, Body: d.Body,
		})
		if err == nil {
			err = waitConfirm(ctx, dc)
		}
		if err != nil {
			_ = d.Nack(false, true)
			return moved, err
		}
		if err := d.Ack(false); err != nil {
			return moved, err
		}
		moved++
	}
	return moved, nil
}
