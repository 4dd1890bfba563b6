package bus

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// TestConsumerDoesNotSpinWhileBlocked: while the broker blocks publishers
// a failed event cannot be parked in the retry queue; requeueing it at once
// would run the handler again in a tight loop for as long as the alarm
// lasts. The consumer must back off before giving the event back.
func TestConsumerDoesNotSpinWhileBlocked(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, Config{URL: testenv.AMQP(t), Name: "test"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var calls atomic.Int64
	cons := NewConsumer(c, ConsumerConfig{Service: "spin", Bindings: []string{"spin.*"}, Workers: 1},
		func(context.Context, contracts.Event) error {
			if calls.Add(1) == 1 {
				c.setBlocked(true, "test alarm") // this failure meets a blocked broker
			}
			return errors.New("fails")
		}, nil, nil)
	if err := cons.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cons.Shutdown(context.Background()) }()
	pub, _ := NewPublisher(c, nil, nil)
	defer pub.Close()
	if err := pub.Publish(ctx, contracts.Event{ID: "e1", Type: "spin.x", OccurredAt: time.Now(), Data: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the first handler run", func() bool { return calls.Load() > 0 })
	// A rate, so a window: a consumer that requeues at once runs the
	// handler thousands of times in it.
	time.Sleep(time.Second)
	n := calls.Load()
	c.setBlocked(false, "")
	if n > 10 {
		t.Fatalf("handler ran %d times in a second while the broker was blocked: requeued without backing off", n)
	}
}
