package bus

import (
	"context"
	"log/slog"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// consumeLoop is the delivery loop shared by the RPC server and the event
// consumer. Workers goroutines handle the deliveries of ch; when the
// channel is lost (connection killed, broker restarted) the loop waits for
// the workers, then consumes again (consume waits for the supervisor to
// reconnect), until stopping closes. On stop it cancels the consumer tag
// (the broker stops delivering, the library closes dels), lets the workers
// finish what they hold, and closes the channel; deliveries not yet started
// are left unacked and return to the queue.
type consumeLoop struct {
	what     string // for logs: "rpc server", "event consumer"
	tag      string
	workers  int
	stopping <-chan struct{}
	log      *slog.Logger
	consume  func(ctx context.Context) (*amqp.Channel, <-chan amqp.Delivery, error)
	handle   func(ch *amqp.Channel, d amqp.Delivery)
}

// run blocks until stopping closes and the channel is closed.
func (l consumeLoop) run(ch *amqp.Channel, dels <-chan amqp.Delivery) {
	for {
		closeCh := ch.NotifyClose(make(chan *amqp.Error, 1))
		var wg sync.WaitGroup
		for range l.workers {
			wg.Go(func() {
				for d := range dels {
					select {
					case <-l.stopping:
						continue // not acked: requeued when the channel closes
					default:
					}
					l.handle(ch, d)
				}
			})
		}
		select {
		case err := <-closeCh:
			l.log.Warn(l.what+" channel lost; resuming after reconnect", "err", err)
			wg.Wait()
		case <-l.stopping:
			_ = ch.Cancel(l.tag, false)
			wg.Wait()
			_ = ch.Close()
			return
		}
		var ok bool
		if ch, dels, ok = l.resume(); !ok {
			return
		}
	}
}

// resume consumes again, retrying until it works or stopping closes.
func (l consumeLoop) resume() (*amqp.Channel, <-chan amqp.Delivery, bool) {
	for {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-l.stopping:
				cancel()
			case <-ctx.Done():
			}
		}()
		ch, dels, err := l.consume(ctx)
		cancel()
		if err == nil {
			return ch, dels, true
		}
		select {
		case <-l.stopping:
			return nil, nil, false
		case <-time.After(200 * time.Millisecond):
		}
		l.log.Warn(l.what+": resume consuming", "err", err)
	}
}
