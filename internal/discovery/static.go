package discovery

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// QueueInspector reports how many consumers a queue has. Static mode uses
// it to decide health; a queue that does not exist has 0 consumers and no
// error. Implementations must be safe for use by one goroutine at a time
// (the static watcher calls it from one goroutine).
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

// Consumers returns the consumer count of queue: 0 when it does not exist.
// An error means the broker could not be asked (the next call redials).
func (a *AMQPInspector) Consumers(ctx context.Context, queue string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ch, err := a.channel()
	if err != nil {
		return 0, err
	}
	// queue.declare has no context: a broken TCP connection is detected by
	// the heartbeat (10s) at worst, which unblocks the call.
	q, err := ch.QueueDeclarePassive(queue, false, false, false, false, nil)
	if err != nil {
		// The broker closes the channel on any failed declare; a 404 is
		// an answer ("no such queue"), anything else a failure.
		a.ch = nil
		var ae *amqp.Error
		if errors.As(err, &ae) && ae.Code == amqp.NotFound {
			return 0, nil
		}
		a.dropConnLocked()
		return 0, fmt.Errorf("inspect queue %s: %w", queue, err)
	}
	return q.Consumers, nil
}

func (a *AMQPInspector) channel() (*amqp.Channel, error) {
	if a.ch != nil && !a.ch.IsClosed() {
		return a.ch, nil
	}
	if a.conn == nil || a.conn.IsClosed() {
		a.dropConnLocked()
		conn, err := amqp.DialConfig(a.url, amqp.Config{
			Dial:       amqp.DefaultDial(a.dialTimeout),
			Heartbeat:  10 * time.Second,
			Properties: amqp.Table{"connection_name": "oc-discovery-inspector"},
		})
		if err != nil {
			return nil, fmt.Errorf("dial broker for queue inspection: %w", err)
		}
		a.conn = conn
	}
	ch, err := a.conn.Channel()
	if err != nil {
		a.dropConnLocked()
		return nil, fmt.Errorf("open inspection channel: %w", err)
	}
	a.ch = ch
	return ch, nil
}

func (a *AMQPInspector) dropConnLocked() {
	if a.conn != nil {
		_ = a.conn.Close()
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
