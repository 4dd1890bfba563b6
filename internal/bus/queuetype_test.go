package bus_test

import (
	"context"
	"flag"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/bus/bustest"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// A queue cannot change type: switching amqp.queue-type on a vhost whose
// queues exist fails at start with an error that names the queue and the
// way out, and leaves the queue and the events waiting in it as they were.
func TestQueueTypeSwitchRefusedAtStart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ before, after bus.QueueType }{
		{bus.QueueClassic, bus.QueueQuorum},
		{bus.QueueQuorum, bus.QueueClassic},
	} {
		t.Run(string(tc.before)+"-to-"+string(tc.after), func(t *testing.T) {
			t.Parallel()
			c, vhostURL := bustest.Conn(t)
			cfg := bus.ConsumerConfig{Service: "notify", Bindings: []string{"order.*"}, QueueType: tc.before}
			var handled atomic.Int32
			h := func(ctx context.Context, ev contracts.Event) error { handled.Add(1); return nil }
			first := bus.NewConsumer(c, cfg, h, nil, nil)
			if err := first.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := first.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			// An event waits in the queue while no consumer runs.
			pub, err := bus.NewPublisher(c, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer pub.Close()
			if err := pub.Publish(context.Background(), newEvent("order.placed", 1)); err != nil {
				t.Fatal(err)
			}

			switched := cfg
			switched.QueueType = tc.after
			err = bus.NewConsumer(c, switched, h, nil, nil).Start(context.Background())
			if err == nil {
				t.Fatalf("a %s queue redeclared as %s: Start succeeded", tc.before, tc.after)
			}
			for _, want := range []string{"queue events.notify ", "amqp.queue-type=" + string(tc.after), "delete", "fresh vhost", "PRECONDITION_FAILED"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("start error %q does not say %q", err, want)
				}
			}
			wantQueueType(t, testenv.VHost(vhostURL), tc.before, "events.notify", bus.RetryQueue("notify"), bus.DeadLetterQueue("notify"))

			// The setting set back: the waiting event is delivered.
			startConsumer(t, c, cfg, h, nil)
			testenv.Eventually(t, "the event that waited in the queue handled", func() bool { return handled.Load() == 1 })
		})
	}
}

func TestQueueTypeFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bus.QueueType
	}{
		{nil, bus.QueueClassic},
		{[]string{"-amqp.queue-type=quorum"}, bus.QueueQuorum},
		{[]string{"-amqp.queue-type=classic"}, bus.QueueClassic},
	} {
		var cfg bus.ConsumerConfig
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		cfg.RegisterFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		cfg.Service, cfg.Bindings = "s", []string{"k"}
		if cfg.QueueType != tc.want || cfg.Validate() != nil {
			t.Errorf("%v: queue type %q (Validate %v), want %q", tc.args, cfg.QueueType, cfg.Validate(), tc.want)
		}
	}
	var cfg bus.ConsumerConfig
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.RegisterFlags(fs)
	if err := fs.Parse([]string{"-amqp.queue-type=stream"}); err == nil {
		t.Error("amqp.queue-type=stream accepted")
	}
	bad := bus.ConsumerConfig{Service: "s", Bindings: []string{"k"}, QueueType: "stream"}
	if bad.Validate() == nil {
		t.Error("ConsumerConfig with queue type stream validated")
	}
}
