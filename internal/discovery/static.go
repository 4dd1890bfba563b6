package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// QueueInspector reports how many consumers a queue has. Static mode uses
// it to decide health; a queue that does not exist has 0 consumers and no
// error. Consumers must return once ctx ends, with an error, even when the
// broker does not answer: the static watcher bounds each inspection with a
// deadline so one hung call cannot stall the others. Implementations must
// be safe for use by one goroutine at a time (the static watcher calls it
// from one goroutine).
type QueueInspector interface {
	Consumers(ctx context.Context, queue string) (int, error)
}

// AMQPInspector is a QueueInspector over its own AMQP connection, dialled
// on first use and redialled after it breaks. It inspects with a passive
// queue.declare (which never creates a queue) on a dedicated channel, so it
// cannot disturb the process's RPC and event channels. Safe for concurrent
// use (calls are serialized).
type AMQPInspector struct {
	url         string
	dialTimeout time.Duration

	mu   sync.Mutex
	conn *amqp.Connection
	ch   *amqp.Channel
}

// NewAMQPInspector returns an inspector for the broker at url; it dials
// lazily. Close releases the connection.
func NewAMQPInspector(url string) *AMQPInspector {
	return &AMQPInspector{url: url, dialTimeout: 5 * time.Second}
}

// closeTimeout bounds the close handshake of a connection being dropped: a
// broker that does not answer must not hold the inspector.
const closeTimeout = time.Second

// Consumers returns the consumer count of queue: 0 when it does not exist.
// An error means the broker could not be asked (the next call redials).
//
// It returns when ctx ends even if the broker never answers (a hung broker,
// a connection that died silently, which the heartbeat would only notice
// after tens of seconds): the AMQP calls have no context, so they run on a
// goroutine, and on ctx's end the connection is aborted, which ends them;
// the next call dials afresh. The dial and AMQP handshake are bounded by
// ctx's deadline too.
func (a *AMQPInspector) Consumers(ctx context.Context, queue string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conn == nil || a.conn.IsClosed() {
		a.dropConnLocked()
		conn, err := a.dial(ctx)
		if err != nil {
			return 0, fmt.Errorf("dial broker for queue inspection: %w", err)
		}
		a.conn = conn
	}
	type answer struct {
		ch       *amqp.Channel // nil: the channel could not be opened
		q        amqp.Queue
		err      error
		declared bool
	}
	conn, ch := a.conn, a.ch
	done := make(chan answer, 1) // the goroutine never blocks, even when abandoned
	go func() {
		if ch == nil || ch.IsClosed() {
			c, err := conn.Channel()
			if err != nil {
				done <- answer{err: fmt.Errorf("open inspection channel: %w", err)}
				return
			}
			ch = c
		}
		q, err := ch.QueueDeclarePassive(queue, false, false, false, false, nil)
		done <- answer{ch: ch, q: q, err: err, declared: true}
	}()
	var r answer
	select {
	case r = <-done:
	case <-ctx.Done():
		// The channel is stuck in a synchronous call and cannot be
		// reused: abort the connection (no close handshake), which ends
		// the call on the goroutine.
		a.abortConnLocked()
		return 0, fmt.Errorf("inspect queue %s: no answer from the broker: %w", queue, ctx.Err())
	}
	if !r.declared {
		a.dropConnLocked()
		return 0, r.err
	}
	if r.err != nil {
		// The broker closes the channel on any failed declare; a 404 is
		// an answer ("no such queue"), anything else a failure.
		a.ch = nil
		var ae *amqp.Error
		if errors.As(r.err, &ae) && ae.Code == amqp.NotFound {
			return 0, nil
		}
		a.dropConnLocked()
		return 0, fmt.Errorf("inspect queue %s: %w", queue, r.err)
	}
	a.ch = r.ch
	return r.q.Consumers, nil
}

// dial connects to the broker with the TCP connect and the AMQP handshake
// bounded by a.dialTimeout and ctx (amqp091 clears the deadline once the
// connection is open; the heartbeat watches it from then on).
func (a *AMQPInspector) dial(ctx context.Context) (*amqp.Connection, error) {
	return amqp.DialConfig(a.url, amqp.Config{
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: a.dialTimeout}
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			deadline := time.Now().Add(a.dialTimeout)
			if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
				deadline = dl
			}
			if err := c.SetDeadline(deadline); err != nil {
				_ = c.Close()
				return nil, err
			}
			return c, nil
		},
		Heartbeat:  10 * time.Second,
		Properties: amqp.Table{"connection_name": "oc-discovery-inspector"},
	})
}

// dropConnLocked closes the connection, waiting at most closeTimeout for
// the broker's close-ok.
func (a *AMQPInspector) dropConnLocked() {
	if a.conn != nil {
		_ = a.conn.CloseDeadline(time.Now().Add(closeTimeout))
	}
	a.conn, a.ch = nil, nil
}

// abortConnLocked closes the connection at once: the socket's deadline is
// set to now, so pending reads and writes fail and every call waiting on
// the connection or its channels returns.
func (a *AMQPInspector) abortConnLocked() {
	if a.conn != nil {
		_ = a.conn.CloseDeadline(time.Now())
	}
	a.conn, a.ch = nil, nil
}

// Close closes the inspector's connection. Later calls redial.
func (a *AMQPInspector) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dropConnLocked()
	return nil
}
