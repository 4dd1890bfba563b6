package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/bus/amqpadmin"
	"github.com/opencommerce/opencommerce/internal/bus/bustest"
	"github.com/opencommerce/opencommerce/internal/telemetry/telemetrytest"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

func newEvent(typ string, n int) contracts.Event {
	return contracts.Event{ID: uuid.NewString(), Type: typ, OccurredAt: time.Now().UTC(), Data: json.RawMessage(`{"n":` + strconv.Itoa(n) + `}`)}
}

func startConsumer(t *testing.T, c *bus.Conn, cfg bus.ConsumerConfig, h bus.EventHandler, reg prometheus.Registerer) {
	t.Helper()
	cons := bus.NewConsumer(c, cfg, h, nil, reg)
	if err := cons.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cons.Shutdown(context.Background()) })
}

// queueTypes are the queue types every consumer test runs with.
var queueTypes = []bus.QueueType{bus.QueueClassic, bus.QueueQuorum}

// eachQueueType runs test as a parallel subtest per queue type.
func eachQueueType(t *testing.T, test func(t *testing.T, qt bus.QueueType)) {
	t.Helper()
	for _, qt := range queueTypes {
		t.Run(string(qt), func(t *testing.T) {
			t.Parallel()
			test(t, qt)
		})
	}
}

// wantQueueType fails unless the broker's management API reports each
// queue of vhost as a queue of type qt.
func wantQueueType(t *testing.T, vhost string, qt bus.QueueType, queues ...string) {
	t.Helper()
	for _, q := range queues {
		var info struct {
			Type    string `json:"type"`
			Durable bool   `json:"durable"`
		}
		if err := (amqpadmin.Client{URL: testenv.AMQPAdmin}).GetJSON(context.Background(), "/api/queues/"+url.PathEscape(vhost)+"/"+url.PathEscape(q), &info); err != nil {
			t.Fatalf("queue %s: %v", q, err)
		}
		if info.Type != string(qt) || !info.Durable {
			t.Errorf("queue %s: type %q durable %v, want a durable %s queue", q, info.Type, info.Durable, qt)
		}
	}
}

func TestEventsPublishedAreConsumed(t *testing.T) {
	t.Parallel()
	eachQueueType(t, testEventsPublishedAreConsumed)
}

func testEventsPublishedAreConsumed(t *testing.T, qt bus.QueueType) {
	c, vhostURL := bustest.Conn(t)
	var mu sync.Mutex
	seen := map[string]int{}
	startConsumer(t, c, bus.ConsumerConfig{Service: "notify", Bindings: []string{"order.*"}, QueueType: qt}, func(ctx context.Context, ev contracts.Event) error {
		mu.Lock()
		seen[ev.ID]++
		mu.Unlock()
		return nil
	}, nil)
	pub, err := bus.NewPublisher(c, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()

	want := map[string]bool{}
	var batch []contracts.Event
	for i := range 200 {
		ev := newEvent("order.placed", i)
		want[ev.ID] = true
		batch = append(batch, ev)
	}
	// Concurrent single publishes and one batch share the confirm window.
	var wg sync.WaitGroup
	for _, ev := range batch[:100] {
		wg.Go(func() {
			if err := pub.Publish(context.Background(), ev); err != nil {
				t.Errorf("publish: %v", err)
			}
		})
	}
	if err := pub.PublishBatch(context.Background(), batch[100:]); err != nil {
		t.Fatalf("publish batch: %v", err)
	}
	wg.Wait()
	// Not bound: never delivered.
	if err := pub.Publish(context.Background(), newEvent("user.registered", 0)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "all events consumed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == len(want)
	})
	wantQueueType(t, testenv.VHost(vhostURL), qt, "events.notify", bus.RetryQueue("notify"), bus.DeadLetterQueue("notify"))
	mu.Lock()
	defer mu.Unlock()
	for id := range seen {
		if !want[id] {
			t.Errorf("unexpected event %s", id)
		}
	}
	if err := pub.Publish(context.Background(), contracts.Event{Type: "x.y"}); contracts.ErrorCode(err) != contracts.CodeInvalidArgument {
		t.Errorf("event without id: %v", err)
	}
}

func TestPoisonEventDeadLetteredAndReplayed(t *testing.T) {
	t.Parallel()
	eachQueueType(t, testPoisonEventDeadLetteredAndReplayed)
}

func testPoisonEventDeadLetteredAndReplayed(t *testing.T, qt bus.QueueType) {
	c, _ := bustest.Conn(t)
	reg := prometheus.NewRegistry()
	var fixed atomic.Bool
	var attempts, handled atomic.Int32
	poison := newEvent("order.placed", 666)
	startConsumer(t, c, bus.ConsumerConfig{
		Service: "order", Bindings: []string{"order.placed"}, MaxAttempts: 3, RetryDelay: 50 * time.Millisecond, QueueType: qt,
	}, func(ctx context.Context, ev contracts.Event) error {
		if ev.ID == poison.ID && !fixed.Load() {
			attempts.Add(1)
			return errors.New("bug in handler")
		}
		handled.Add(1)
		return nil
	}, reg)
	pub, _ := bus.NewPublisher(c, nil, nil)
	defer pub.Close()
	for _, ev := range []contracts.Event{newEvent("order.placed", 1), poison, newEvent("order.placed", 2)} {
		if err := pub.Publish(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, "poison event dead-lettered", func() bool { return telemetrytest.Value(t, reg, "oc_events_dead_lettered_total", nil) == 1 })
	if got := attempts.Load(); got != 3 {
		t.Fatalf("handler attempts = %d, want MaxAttempts 3", got)
	}
	if got := handled.Load(); got != 2 {
		t.Fatalf("good events handled = %d, want 2 (the poison one must not block them)", got)
	}
	wantRetriedThroughRetryQueue(t, c, "order", 2)
	fixed.Store(true)
	n, err := bus.ReplayDeadLetters(context.Background(), c, "order", 0)
	if err != nil || n != 1 {
		t.Fatalf("ReplayDeadLetters = %d, %v; want 1", n, err)
	}
	testenv.Eventually(t, "replayed event handled", func() bool { return handled.Load() == 3 })
	if n, err := bus.ReplayDeadLetters(context.Background(), c, "order", 0); err != nil || n != 0 {
		t.Fatalf("second replay = %d, %v; want an empty DLQ", n, err)
	}
}

// wantRetriedThroughRetryQueue fails unless the dead letter at the head of
// service's DLQ waited out the retry delay in the retry queue retries
// times (the broker's x-death record of the retry queue's TTL), so failed
// attempts were spaced by the backoff rather than run back to back. The
// message stays in the DLQ, which must hold only it.
func wantRetriedThroughRetryQueue(t *testing.T, c *bus.Conn, service string, retries int64) {
	t.Helper()
	ch, err := c.Channel(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	d, ok, err := ch.Get(bus.DeadLetterQueue(service), false)
	if err != nil || !ok {
		t.Fatalf("get the dead letter: ok %v, %v", ok, err)
	}
	defer func() {
		// Back to the DLQ, and seen there, before the caller replays it.
		_ = d.Nack(false, true)
		_ = ch.Close()
		testenv.Eventually(t, "the dead letter back in "+bus.DeadLetterQueue(service), func() bool {
			ch, err := c.Channel(context.Background())
			if err != nil {
				return false
			}
			defer ch.Close()
			q, err := ch.QueueDeclarePassive(bus.DeadLetterQueue(service), true, false, false, false, nil)
			return err == nil && q.Messages == 1
		})
	}()
	deaths, _ := d.Headers["x-death"].([]any)
	for _, x := range deaths {
		death, _ := x.(amqp.Table)
		if death["queue"] == bus.RetryQueue(service) && death["reason"] == "expired" {
			if n, _ := death["count"].(int64); n != retries {
				t.Errorf("the dead letter expired from %s %d times, want %d", bus.RetryQueue(service), n, retries)
			}
			return
		}
	}
	t.Errorf("the dead letter never waited in %s: x-death %v", bus.RetryQueue(service), d.Headers["x-death"])
}

func TestMalformedEventDeadLetteredAtOnce(t *testing.T) {
	t.Parallel()
	eachQueueType(t, testMalformedEventDeadLetteredAtOnce)
}

func testMalformedEventDeadLetteredAtOnce(t *testing.T, qt bus.QueueType) {
	c, _ := bustest.Conn(t)
	reg := prometheus.NewRegistry()
	var calls atomic.Int32
	startConsumer(t, c, bus.ConsumerConfig{Service: "file", Bindings: []string{"file.*"}, MaxAttempts: 5, QueueType: qt},
		func(ctx context.Context, ev contracts.Event) error { calls.Add(1); return nil }, reg)
	ch, err := c.Channel(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	for _, body := range []string{`not json`, `{"type":"file.uploaded"}`} {
		if err := ch.Publish(contracts.EventsExchange, "file.uploaded", false, false, amqp.Publishing{Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, "malformed events dead-lettered", func() bool { return telemetrytest.Value(t, reg, "oc_events_dead_lettered_total", nil) == 2 })
	if calls.Load() != 0 {
		t.Fatalf("handler ran on a malformed event")
	}
}

// A batch larger than the confirm window, and batches that together exceed
// it, must not wait on window slots they hold themselves.
func TestPublishBatchLargerThanWindow(t *testing.T) {
	t.Parallel()
	c, _ := bustest.Conn(t)
	pub, err := bus.NewPublisher(c, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	batch := func(n int) []contracts.Event {
		evs := make([]contracts.Event, n)
		for i := range evs {
			evs[i] = newEvent("nobody.listens", i)
		}
		return evs
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := pub.PublishBatch(ctx, batch(bus.PublisherWindow+10)); err != nil {
		t.Fatalf("one batch over the window: %v", err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := pub.PublishBatch(ctx, batch(bus.PublisherWindow/2+10)); err != nil {
				t.Errorf("concurrent batches: %v", err)
			}
		})
	}
	wg.Wait()
}
