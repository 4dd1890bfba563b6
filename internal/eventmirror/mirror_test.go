package eventmirror_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/bus/bustest"
	"github.com/opencommerce/opencommerce/internal/eventmirror"
	"github.com/opencommerce/opencommerce/internal/natsx"
	"github.com/opencommerce/opencommerce/internal/natsx/natsxtest"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// rig is a mirror on a fresh vhost and the JetStream it writes to, with a
// publisher of events on the vhost.
type rig struct {
	t      *testing.T
	js     jetstream.JetStream
	scheme natsx.Scheme
	pub    *bus.Publisher
	vhost  string
}

// startMirror runs a mirror on a fresh vhost writing to js. One worker,
// prefetch one: events are mirrored in the order they were published, so a
// later event is a barrier for the earlier ones.
func startMirror(t *testing.T, js jetstream.JetStream, scheme natsx.Scheme) *rig {
	t.Helper()
	conn, amqpURL := bustest.Conn(t)
	cfg := eventmirror.DefaultConfig()
	cfg.Scheme = scheme
	cfg.MaxBackoff = 200 * time.Millisecond
	mi, err := eventmirror.New(cfg, conn, bus.ConsumerConfig{Workers: 1, Prefetch: 1}, js, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testenv.Wait)
	defer cancel()
	if err := mi.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = mi.Stop(ctx)
	})
	pub, err := bus.NewPublisher(conn, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	return &rig{t: t, js: js, scheme: scheme, pub: pub, vhost: testenv.VHost(amqpURL)}
}

func (r *rig) emit(typ string) contracts.Event {
	r.t.Helper()
	ev := contracts.Event{ID: uuid.NewString(), Type: typ, OccurredAt: time.Now().UTC(), Data: json.RawMessage(`{"slug":"mug"}`)}
	r.emitEvent(ev)
	return ev
}

func (r *rig) emitEvent(ev contracts.Event) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testenv.Wait)
	defer cancel()
	if err := r.pub.Publish(ctx, ev); err != nil {
		r.t.Fatalf("publish %s: %v", ev.Type, err)
	}
}

// last is the last message of the stream on typ's subject.
func (r *rig) last(typ string) (*jetstream.RawStreamMsg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	subj, _ := r.scheme.EventSubject(typ)
	s, err := r.js.Stream(ctx, r.scheme.EventsStream())
	if err != nil {
		return nil, err
	}
	return s.GetLastMsgForSubject(ctx, subj)
}

func (r *rig) mirrored(ev contracts.Event) bool {
	m, err := r.last(ev.Type)
	return err == nil && strings.Contains(string(m.Data), ev.ID) && m.Header.Get("Nats-Msg-Id") == ev.ID
}

// An event is stored once, whole, on events.<type> with Nats-Msg-Id = its
// id, even when RabbitMQ delivers it twice.
func TestMirrorCopiesEachEventOnce(t *testing.T) {
	t.Parallel()
	n := natsxtest.New(t)
	_, js := n.Connect(t)
	r := startMirror(t, js, n.Scheme)

	ev := r.emit(contracts.EventProductUpdated)
	r.emitEvent(ev) // a redelivery
	marker := r.emit(contracts.EventInventoryReleased)
	testenv.Eventually(t, "the marker event mirrored", func() bool { return r.mirrored(marker) })
	// One worker: the marker came after both copies of ev were handled.
	if !r.mirrored(ev) {
		t.Fatal("the product event is not on its subject")
	}
	m, _ := r.last(ev.Type)
	var got contracts.Event
	if err := json.Unmarshal(m.Data, &got); err != nil || got.ID != ev.ID || got.Type != ev.Type || string(got.Data) != string(ev.Data) {
		t.Fatalf("mirrored %s (%v), want the event as published", m.Data, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, n.Scheme.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Fatalf("the stream holds %d messages, want 2 (the redelivered event once, the marker)", info.State.Msgs)
	}
}

// While JetStream is away an event stays on RabbitMQ (unacked on
// events.notification-mirror) and is mirrored once JetStream is back.
func TestMirrorAcksOnlyAfterJetStream(t *testing.T) {
	t.Parallel()
	addr := testenv.FreeAddr(t)
	store := t.TempDir()
	emb, err := natsx.StartEmbedded(addr, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if emb != nil {
			emb.Shutdown()
		}
	})
	cfg := natsx.DefaultConfig()
	cfg.URL = emb.URL()
	ctx, cancel := context.WithTimeout(context.Background(), testenv.Wait)
	defer cancel()
	_, js, closeFn, err := natsx.Connect(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	r := startMirror(t, js, cfg.Scheme())
	queue := contracts.EventsQueue(eventmirror.Queue)

	ev1 := r.emit(contracts.EventProductUpdated)
	testenv.Eventually(t, "mirrored event", func() bool { return r.mirrored(ev1) })

	// JetStream away: the next event stays on RabbitMQ.
	emb.Shutdown()
	emb = nil
	ev2 := r.emit(contracts.EventProductUpdated)
	testenv.Eventually(t, "the event held on "+queue, func() bool { return queueMessages(t, r.vhost, queue) >= 1 })

	emb, err = natsx.StartEmbedded(addr, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the held event mirrored after JetStream returned", func() bool { return r.mirrored(ev2) })
	testenv.Eventually(t, "the queue drained", func() bool { return queueMessages(t, r.vhost, queue) == 0 })
}

// queueMessages asks the management API for a queue's ready + unacked
// messages (its statistics lag by a few seconds).
func queueMessages(t *testing.T, vhost, queue string) int {
	t.Helper()
	resp, err := http.Get(testenv.AMQPAdmin + "/api/queues/" + url.PathEscape(vhost) + "/" + url.PathEscape(queue))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var q struct {
		Messages *int `json:"messages"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&q)
	if q.Messages == nil {
		return -1
	}
	return *q.Messages
}
