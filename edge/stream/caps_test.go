package stream_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/edge/stream"
	"github.com/opencommerce/opencommerce/edge/stream/streamtest"
	"github.com/opencommerce/opencommerce/internal/telemetry/telemetrytest"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// refusal is a stream the hub refused.
type refusal struct {
	status     int
	retryAfter string
	err        *contracts.Error
}

// openRefused opens an SSE stream at url and expects the hub to refuse it.
func openRefused(t *testing.T, url string) refusal {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return readRefusal(t, resp)
}

// dialRefused dials a WebSocket and expects the hub to refuse it with an
// HTTP answer (not an upgrade followed by a close frame).
func dialRefused(t *testing.T, base, query string) refusal {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws?"+query, nil)
	if err == nil {
		conn.Close()
		t.Fatalf("WebSocket %s accepted, want it refused", query)
	}
	if resp == nil {
		t.Fatalf("WebSocket %s: %v, want an HTTP refusal", query, err)
	}
	defer resp.Body.Close()
	return readRefusal(t, resp)
}

func readRefusal(t *testing.T, resp *http.Response) refusal {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	var eb contracts.ErrorBody
	if err := json.Unmarshal(body, &eb); err != nil || eb.Error == nil {
		t.Fatalf("status %d, body %q: want a JSON error", resp.StatusCode, body)
	}
	return refusal{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), err: eb.Error}
}

// wantCapRefusal checks a refusal for a per-user or per-address cap: 429
// resource_exhausted, Retry-After, and a message naming what to do.
func (r refusal) wantCap(t *testing.T, what string) {
	t.Helper()
	if r.status != http.StatusTooManyRequests || r.err.Code != contracts.CodeResourceExhausted {
		t.Fatalf("%s: status %d code %s, want 429 resource_exhausted", what, r.status, r.err.Code)
	}
	if r.retryAfter == "" {
		t.Fatalf("%s: 429 without Retry-After", what)
	}
	if !strings.Contains(r.err.Message, "notification streams") || !strings.Contains(r.err.Message, "close one") {
		t.Fatalf("%s: message %q does not say which streams or what to do", what, r.err.Message)
	}
}

func sseURL(base, user, ip string) string {
	u := base + "/sse?user=" + user
	if ip != "" {
		u += "&ip=" + ip
	}
	return u
}

// One user cannot take every slot: over the per-user cap their next stream
// (SSE or WebSocket) is refused with 429 and Retry-After, their open
// streams keep receiving, and another user still gets a stream.
func TestPerUserCap(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	base, hub, reg := f.hub(t, func(c *stream.Config) { c.MaxPerUser = 3; c.MaxPerIP = 0 })
	alice, bob := uuid.NewString(), uuid.NewString()

	var open []*streamtest.SSE
	for range 2 {
		open = append(open, streamtest.Open(t, sseURL(base, alice, ""), ""))
	}
	ws := dialWS(t, base, alice, "")
	testenv.Eventually(t, "alice's three streams counted", func() bool { return hub.Clients() == 3 })

	openRefused(t, sseURL(base, alice, "")).wantCap(t, "alice's fourth SSE stream")
	dialRefused(t, base, "user="+alice).wantCap(t, "alice's fourth stream as a WebSocket")
	if got := telemetrytest.Value(t, reg, "oc_stream_refused_total", map[string]string{"cap": "user"}); got != 2 {
		t.Fatalf("oc_stream_refused_total{cap=user} = %v, want 2", got)
	}

	b := streamtest.Open(t, sseURL(base, bob, ""), "")
	f.publish(t, bob, msg(1))
	if ev := b.Next(t, wait); ev.Data != msg(1) {
		t.Fatalf("bob got %+v", ev)
	}
	f.publish(t, alice, msg(2))
	for i, s := range open {
		if ev := s.Next(t, wait); ev.Data != msg(2) {
			t.Fatalf("alice's stream %d got %+v after the refusals", i, ev)
		}
	}
	if m := readWS(t, ws); string(m.Data) != msg(2) {
		t.Fatalf("alice's WebSocket got %s after the refusals", m.Data)
	}
}

// One address cannot take every slot either, whoever signs in from it;
// another address still gets a stream. An IPv6 client holds a whole /64,
// so the cap counts the /64.
func TestPerIPCap(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	base, _, reg := f.hub(t, func(c *stream.Config) { c.MaxPerIP = 2; c.MaxPerUser = 0 })
	const crowded, other = "203.0.113.5", "198.51.100.1"

	streamtest.Open(t, sseURL(base, uuid.NewString(), crowded), "")
	streamtest.Open(t, sseURL(base, uuid.NewString(), crowded), "")
	openRefused(t, sseURL(base, uuid.NewString(), crowded)).wantCap(t, "a third user from the crowded address")
	dialRefused(t, base, "user="+uuid.NewString()+"&ip="+crowded).wantCap(t, "a WebSocket from the crowded address")
	streamtest.Open(t, sseURL(base, uuid.NewString(), other), "")

	streamtest.Open(t, sseURL(base, uuid.NewString(), "2001:db8:1:2::1"), "")
	streamtest.Open(t, sseURL(base, uuid.NewString(), "2001:db8:1:2:ffff::9"), "")
	openRefused(t, sseURL(base, uuid.NewString(), "2001:db8:1:2::77")).wantCap(t, "a third address of the same /64")
	streamtest.Open(t, sseURL(base, uuid.NewString(), "2001:db8:1:3::1"), "")

	if got := telemetrytest.Value(t, reg, "oc_stream_refused_total", map[string]string{"cap": "ip"}); got != 3 {
		t.Fatalf("oc_stream_refused_total{cap=ip} = %v, want 3", got)
	}
}

// A client that goes frees its slot at once, so a client that reconnects
// is not refused by its own dead streams. The heartbeat is an hour: only
// noticing the closed connection can free the slots.
func TestClosedStreamsFreeTheirSlots(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	base, hub, _ := f.hub(t, func(c *stream.Config) {
		c.MaxPerUser = 3
		c.MaxPerIP = 3
		c.Heartbeat = time.Hour
	})
	alice := uuid.NewString()
	const ip = "203.0.113.7"
	openAll := func(round string) (sse []*streamtest.SSE, ws *websocket.Conn) {
		for range 2 {
			sse = append(sse, streamtest.Open(t, sseURL(base, alice, ip), ""))
		}
		ws = dialWS(t, base, alice+"&ip="+ip, "")
		testenv.Eventually(t, round+": three streams open", func() bool { return hub.Clients() == 3 })
		openRefused(t, sseURL(base, alice, ip)).wantCap(t, round+": a fourth stream")
		return sse, ws
	}

	sse, ws := openAll("first round")
	for _, s := range sse {
		s.Close()
	}
	ws.Close()
	testenv.Eventually(t, "every closed stream's slot freed", func() bool { return hub.Clients() == 0 })

	// The same user from the same address gets their three streams again,
	// and they receive.
	sse, ws = openAll("after closing")
	f.publish(t, alice, msg(1))
	for i, s := range sse {
		if ev := s.Next(t, wait); ev.Data != msg(1) {
			t.Fatalf("reopened stream %d got %+v", i, ev)
		}
	}
	if m := readWS(t, ws); string(m.Data) != msg(1) {
		t.Fatalf("reopened WebSocket got %s", m.Data)
	}
}
