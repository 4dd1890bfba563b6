package stream_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/edge/stream"
	"github.com/opencommerce/opencommerce/edge/stream/streamtest"
	"github.com/opencommerce/opencommerce/internal/natsx/natsxtest"
	"github.com/opencommerce/opencommerce/internal/telemetry/telemetrytest"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

const wait = 10 * time.Second

type fixture struct {
	env natsxtest.Env
	js  jetstream.JetStream
}

func newFixture(t *testing.T) fixture { return newFixtureTB(t) }

func newFixtureTB(tb testing.TB) fixture {
	tb.Helper()
	env := natsxtest.New(tb)
	_, js := env.Connect(tb)
	return fixture{env: env, js: js}
}

func (f fixture) hubTB(tb testing.TB) string {
	tb.Helper()
	_, js := f.env.Connect(tb)
	cfg := stream.DefaultConfig()
	cfg.Scheme = f.env.Scheme
	return streamtest.Serve(tb, stream.New(cfg, js, nil, nil))
}

// hub starts a Hub ("a gateway instance") on its own NATS connection.
func (f fixture) hub(t *testing.T, mod func(*stream.Config)) (string, *stream.Hub, *prometheus.Registry) {
	t.Helper()
	_, js := f.env.Connect(t)
	cfg := stream.DefaultConfig()
	cfg.Scheme = f.env.Scheme
	if mod != nil {
		mod(&cfg)
	}
	reg := prometheus.NewRegistry()
	h := stream.New(cfg, js, nil, reg)
	return streamtest.Serve(t, h), h, reg
}

func (f fixture) publish(t *testing.T, user, body string) {
	t.Helper()
	subj, err := f.env.Scheme.UserSubject(user)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := f.js.Publish(ctx, subj, []byte(body), jetstream.WithMsgID(uuid.NewString())); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

func msg(n int) string { return fmt.Sprintf(`{"n":%d}`, n) }

func TestSSEOwnMessagesAndResume(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	base, _, _ := f.hub(t, nil)
	alice, bob := uuid.NewString(), uuid.NewString()

	a := streamtest.Open(t, base+"/sse?user="+alice, "")
	b := streamtest.Open(t, base+"/sse?user="+bob, "")
	for i := 1; i <= 3; i++ {
		f.publish(t, alice, msg(i))
	}
	f.publish(t, bob, `{"n":"bob"}`)

	var last string
	for i := 1; i <= 3; i++ {
		ev := a.Next(t, wait)
		if ev.Event != "notification" || ev.Data != msg(i) || ev.ID == "" {
			t.Fatalf("alice event %d = %+v", i, ev)
		}
		last = ev.ID
	}
	// Bob's first event is his own: he never saw Alice's.
	if ev := b.Next(t, wait); ev.Data != `{"n":"bob"}` {
		t.Fatalf("bob got %+v, want only his own message", ev)
	}

	// Alice disconnects, misses two, reconnects with Last-Event-ID.
	a.Close()
	f.publish(t, alice, msg(4))
	f.publish(t, alice, msg(5))
	a2 := streamtest.Open(t, base+"/sse?user="+alice, last)
	f.publish(t, alice, msg(6))
	for i := 4; i <= 6; i++ {
		ev := a2.Next(t, wait)
		if ev.Data != msg(i) {
			t.Fatalf("after resume event = %+v, want %s (once, in order)", ev, msg(i))
		}
		if n, _ := strconv.Atoi(ev.ID); n <= mustAtoi(t, last) {
			t.Fatalf("id %s not after %s", ev.ID, last)
		}
		last = ev.ID
	}
	// A later message is the barrier: had 4-6 been replayed twice, a
	// duplicate would arrive before it.
	f.publish(t, alice, msg(7))
	if ev := a2.Next(t, wait); ev.Data != msg(7) {
		t.Fatalf("after the resumed events got %+v, want the next message %s (no duplicate)", ev, msg(7))
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("id %q: %v", s, err)
	}
	return n
}

func TestTwoInstances(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	baseA, _, _ := f.hub(t, nil)
	baseB, _, _ := f.hub(t, nil)
	alice, bob := uuid.NewString(), uuid.NewString()
	onB := streamtest.Open(t, baseB+"/sse?user="+alice, "")
	bobOnA := streamtest.Open(t, baseA+"/sse?user="+bob, "")
	aliceOnA := streamtest.Open(t, baseA+"/sse?user="+alice, "")

	f.publish(t, alice, msg(1))
	if ev := onB.Next(t, wait); ev.Data != msg(1) {
		t.Fatalf("instance B got %+v", ev)
	}
	if ev := aliceOnA.Next(t, wait); ev.Data != msg(1) {
		t.Fatalf("instance A got %+v", ev)
	}
	f.publish(t, bob, msg(2))
	if ev := bobOnA.Next(t, wait); ev.Data != msg(2) {
		t.Fatalf("bob got %+v, want only his own", ev)
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	base, _, _ := f.hub(t, nil)
	for _, tc := range []struct {
		name, url, lastID string
		want              int
	}{
		{"wildcard user", "/sse?user=" + "a.*", "", http.StatusBadRequest},
		{"empty user", "/sse?user=", "", http.StatusBadRequest},
		{"bad last id", "/sse?user=" + uuid.NewString(), "x1", http.StatusBadRequest},
		{"ws without upgrade", "/ws?user=" + uuid.NewString(), "", http.StatusBadRequest},
		{"ws wildcard", "/ws?user=%3E", "", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, base+tc.url, nil)
			if tc.lastID != "" {
				req.Header.Set("Last-Event-ID", tc.lastID)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body contracts.ErrorBody
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tc.want || body.Error == nil || body.Error.Code != contracts.CodeInvalidArgument {
				t.Fatalf("status %d body %+v, want %d invalid_argument", resp.StatusCode, body.Error, tc.want)
			}
		})
	}
}

// The instance's cap refuses anyone's next stream with 503 and
// Retry-After (SSE and WebSocket alike), saying the server is full.
func TestMaxClients(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	base, _, reg := f.hub(t, func(c *stream.Config) { c.MaxClients = 1 })
	streamtest.Open(t, base+"/sse?user="+uuid.NewString(), "")
	for what, r := range map[string]refusal{
		"SSE":       openRefused(t, base+"/sse?user="+uuid.NewString()),
		"WebSocket": dialRefused(t, base, "user="+uuid.NewString()),
	} {
		if r.status != http.StatusServiceUnavailable || r.err.Code != contracts.CodeUnavailable || r.retryAfter != "3" {
			t.Fatalf("%s: status %d code %s Retry-After %q, want 503 unavailable with Retry-After 3 (stream.retry)",
				what, r.status, r.err.Code, r.retryAfter)
		}
		if !strings.Contains(r.err.Message, "retry") {
			t.Fatalf("%s: message %q does not say to retry", what, r.err.Message)
		}
	}
	if got := telemetrytest.Value(t, reg, "oc_stream_refused_total", map[string]string{"cap": "instance"}); got != 2 {
		t.Fatalf("oc_stream_refused_total{cap=instance} = %v, want 2", got)
	}
}

func dialWS(t *testing.T, base, user, lastID string) *websocket.Conn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(base, "http") + "/ws?user=" + user
	if lastID != "" {
		u += "&last_event_id=" + lastID
	}
	conn, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", u, err, resp)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func readWS(t *testing.T, conn *websocket.Conn) contracts.StreamMessage {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	var m contracts.StreamMessage
	if err := conn.ReadJSON(&m); err != nil {
		t.Fatalf("read ws: %v", err)
	}
	return m
}

func TestWebSocketSameMessages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	base, hub, reg := f.hub(t, nil)
	alice := uuid.NewString()
	sse := streamtest.Open(t, base+"/sse?user="+alice, "")
	ws := dialWS(t, base, alice, "")
	// The WebSocket's consumer is created after the upgrade: wait for it.
	testenv.Eventually(t, "two clients connected", func() bool { return hub.Clients() == 2 })
	if got := telemetrytest.Value(t, reg, "oc_stream_clients", map[string]string{"kind": "ws"}); got != 1 {
		t.Fatalf("oc_stream_clients{kind=ws} = %v", got)
	}

	f.publish(t, alice, msg(1))
	f.publish(t, alice, msg(2))
	var last string
	for i := 1; i <= 2; i++ {
		ev := sse.Next(t, wait)
		m := readWS(t, ws)
		if m.Type != "notification" || string(m.Data) != msg(i) || m.ID != ev.ID || ev.Data != msg(i) {
			t.Fatalf("ws %+v (data %s) vs sse %+v", m, m.Data, ev)
		}
		last = m.ID
	}
	ws.Close()
	f.publish(t, alice, msg(3))
	ws2 := dialWS(t, base, alice, last)
	if m := readWS(t, ws2); string(m.Data) != msg(3) {
		t.Fatalf("resumed ws got %s, want %s", m.Data, msg(3))
	}
}

// A client that never reads is dropped, and a client of the same user on
// the same instance keeps receiving everything meanwhile.
func TestSlowClientCutOff(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	base, hub, reg := f.hub(t, func(c *stream.Config) {
		c.Buffer = 4
		c.SlowGrace = time.Second
		c.WriteTimeout = 30 * time.Second // the drop, not the write timeout, must end it
	})
	alice := uuid.NewString()

	// The slow client: a raw connection that sends the request and never
	// reads past the headers.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096)
	}
	fmt.Fprintf(conn, "GET /sse?user=%s HTTP/1.1\r\nHost: x\r\n\r\n", alice)
	br := bufio.NewReader(conn)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("slow client headers: %v", err)
		}
		if strings.Contains(line, "connected") {
			break
		}
	}
	fast := streamtest.Open(t, base+"/sse?user="+alice, "")

	big := `{"pad":"` + strings.Repeat("x", 256<<10) + `"}`
	const n = 80 // 20 MB: far more than the socket buffers hold
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range n {
			f.publish(t, alice, big)
		}
	}()
	for i := range n {
		if ev := fast.Next(t, 30*time.Second); len(ev.Data) != len(big) {
			t.Fatalf("fast client event %d: %d bytes", i, len(ev.Data))
		}
	}
	<-done
	testenv.Eventually(t, "one slow consumer counted", func() bool { return telemetrytest.Value(t, reg, "oc_nats_slow_consumers_total", nil) == 1 })
	testenv.Eventually(t, "the slow client dropped", func() bool { return hub.Clients() == 1 })
}

// Heartbeats flow and the stream outlives the server's WriteTimeout and
// ReadTimeout (1s in streamtest; the hub reads the connection to see the
// client leave).
func TestStreamOutlivesServerTimeouts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	base, _, _ := f.hub(t, func(c *stream.Config) { c.Heartbeat = 100 * time.Millisecond })
	alice := uuid.NewString()
	s := streamtest.Open(t, base+"/sse?user="+alice, "")
	// 25 heartbeats 100ms apart: the stream has lived well past the
	// server's 1s timeouts.
	testenv.Eventually(t, "25 heartbeats on an idle stream", func() bool { return s.Pings() >= 25 })
	f.publish(t, alice, msg(1))
	if ev := s.Next(t, wait); ev.Data != msg(1) {
		t.Fatalf("got %+v", ev)
	}
}
