package discovery_test

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/opencommerce/opencommerce/internal/discovery"
	"github.com/opencommerce/opencommerce/internal/telemetry/telemetrytest"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

func amqpChannel(t *testing.T, url string) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		testenv.Unavailable(t, "RabbitMQ", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// The inspector redials after the broker drops its connection; meanwhile
// the last answer stands.
func TestAMQPInspectorReconnects(t *testing.T) {
	t.Parallel()
	url := testenv.AMQP(t)
	insp := discovery.NewAMQPInspector(url)
	t.Cleanup(func() { _ = insp.Close() })
	ctx := context.Background()
	if n, err := insp.Consumers(ctx, "rpc.none"); n != 0 || err != nil {
		t.Fatalf("missing queue: %d, %v; want 0, nil", n, err)
	}
	testenv.CloseAMQPConnections(t, testenv.VHost(url))

	ch := amqpChannel(t, url)
	if _, err := ch.QueueDeclare("rpc.x", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := insp.Consumers(ctx, "rpc.x"); err != nil || n != 0 {
		// Right after the close the inspector may still fail once.
		if n, err = insp.Consumers(ctx, "rpc.x"); err != nil || n != 0 {
			t.Fatalf("queue without consumers: %d, %v; want 0, nil", n, err)
		}
	}
	if _, err := ch.Consume("rpc.x", "", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the inspector to count the consumer after its connection was closed", func() bool {
		n, err := insp.Consumers(ctx, "rpc.x")
		return err == nil && n == 1
	})
}

// A broker that stops answering must not hold an inspection beyond its
// context: the passive declare has no context of its own, and the
// connection's heartbeat would notice only after tens of seconds.
func TestAMQPInspectorHungBroker(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.AMQP(t)
	u, err := url.Parse(amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	f := testenv.NewProxy(t, u.Host)
	u.Host = f.Addr()
	insp := discovery.NewAMQPInspector(u.String())
	t.Cleanup(func() { _ = insp.Close() })
	if n, err := insp.Consumers(context.Background(), "rpc.none"); n != 0 || err != nil {
		t.Fatalf("missing queue: %d, %v; want 0, nil", n, err)
	}

	inspect := func(what string) error {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		done := make(chan error, 1)
		go func() {
			_, err := insp.Consumers(ctx, "rpc.none")
			done <- err
		}()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second): // bounds a hang; not a speed check
			t.Fatalf("%s: Consumers still blocked 5s after its 200ms context ended", what)
			return nil
		}
	}
	f.Freeze()
	// On the open connection the declare hangs; the inspector gives up at
	// the deadline and aborts the connection.
	if err := inspect("declare on a hung connection"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("declare on a hung connection: err = %v, want the context's deadline", err)
	}
	// The next call dials anew, and the AMQP handshake hangs.
	if err := inspect("dial to a hung broker"); err == nil {
		t.Fatal("dial to a hung broker: no error")
	}
	f.Restore()
	if n, err := insp.Consumers(context.Background(), "rpc.none"); n != 0 || err != nil {
		t.Fatalf("after the broker answers again: %d, %v; want 0, nil", n, err)
	}
}

// stuckInspector answers for some queues and hangs (until its context
// ends) for the one in stuck.
type stuckInspector struct {
	consumers  sync.Map // queue → int
	stuck      atomic.Value
	mu         sync.Mutex
	maxTimeout time.Duration // longest deadline an inspection was given
}

func (s *stuckInspector) Consumers(ctx context.Context, queue string) (int, error) {
	dl, ok := ctx.Deadline()
	s.mu.Lock()
	if !ok {
		s.maxTimeout = time.Hour
	} else if d := time.Until(dl); d > s.maxTimeout {
		s.maxTimeout = d
	}
	s.mu.Unlock()
	if q, _ := s.stuck.Load().(string); q == queue {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	n, _ := s.consumers.Load(queue)
	c, _ := n.(int)
	return c, nil
}

// An inspection that times out counts as failed: the service keeps its
// last answer (the broker is slow, which says nothing about its consumers),
// and the other services keep being followed.
func TestStaticWatcherInspectionTimeout(t *testing.T) {
	t.Parallel()
	insp := &stuckInspector{}
	insp.stuck.Store("")
	insp.consumers.Store("rpc.a", 1)
	insp.consumers.Store("rpc.b", 1)
	reg := prometheus.NewRegistry()
	const timeout = 100 * time.Millisecond
	w := discovery.NewStaticWatcher(insp, []string{"a", "b"}, discovery.WatchOptions{
		Metrics:              reg,
		StaticPollInterval:   20 * time.Millisecond,
		StaticInspectTimeout: timeout,
	})
	runWatcher(t, w.Run)
	testenv.EventuallyWithin(t, 10*time.Second, "both healthy", func() bool { return w.HasHealthy("a") && w.HasHealthy("b") })

	insp.stuck.Store("rpc.a")
	testenv.EventuallyWithin(t, 10*time.Second, "a timed-out inspection of a", func() bool {
		return telemetrytest.Value(t, reg, "oc_discovery_errors_total", map[string]string{"watch": "a"}) >= 2
	})
	if !w.HasHealthy("a") {
		t.Error("a turned unhealthy when its inspection timed out; want its last answer kept")
	}
	insp.consumers.Store("rpc.b", 0)
	testenv.EventuallyWithin(t, 10*time.Second, "b's change seen while a's inspection hangs", func() bool { return !w.HasHealthy("b") })

	insp.stuck.Store("")
	insp.consumers.Store("rpc.a", 0)
	testenv.EventuallyWithin(t, 10*time.Second, "a followed again once it answers", func() bool { return !w.HasHealthy("a") })
	insp.mu.Lock()
	defer insp.mu.Unlock()
	if insp.maxTimeout > timeout {
		t.Errorf("an inspection was given %s; want at most StaticInspectTimeout (%s)", insp.maxTimeout, timeout)
	}
}
