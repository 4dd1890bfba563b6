// Package streamtest serves a stream.Hub over HTTP for tests and reads its
// Server-Sent Events.
package streamtest

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opencommerce/opencommerce/edge/stream"
)

// Serve serves hub on a free loopback port: GET /sse?user=<id> and
// /ws?user=<id> stand in for the gateway's authenticated routes; &ip=<addr>
// stands in for the client address the gateway determines (default: the
// peer, 127.0.0.1). It returns the base URL ("http://127.0.0.1:port").
func Serve(tb testing.TB, hub *stream.Hub) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			user := string(ctx.QueryArgs().Peek("user"))
			ip, _ := netip.ParseAddr(string(ctx.QueryArgs().Peek("ip")))
			switch string(ctx.Path()) {
			case "/sse":
				hub.SSE(ctx, user, ip)
			case "/ws":
				hub.WS(ctx, user, ip)
			default:
				ctx.SetStatusCode(fasthttp.StatusNotFound)
			}
		},
		// Both far shorter than a stream: the hub must outlive them.
		ReadTimeout:  time.Second,
		WriteTimeout: time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hub.Close(ctx)
		_ = srv.ShutdownWithContext(ctx)
		_ = ln.Close() // Shutdown closes only listeners Serve had registered
	})
	return "http://" + ln.Addr().String()
}

// Event is one Server-Sent Event.
type Event struct {
	ID    string
	Event string
	Data  string
}

// SSE is an open event stream.
type SSE struct {
	Events chan Event // closed when the stream ends
	resp   *http.Response
	cancel context.CancelFunc
	pings  atomic.Int64
}

// Pings returns how many heartbeat comments (": ping") arrived so far.
func (s *SSE) Pings() int { return int(s.pings.Load()) }

// Open connects to url (with Last-Event-ID lastID unless empty) and waits
// until the server reports the stream ready (its ": connected" comment), so
// anything published afterwards is delivered.
func Open(tb testing.TB, url, lastID string) *SSE {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		tb.Fatalf("open %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		resp.Body.Close()
		tb.Fatalf("open %s: status %d", url, resp.StatusCode)
	}
	s := &SSE{Events: make(chan Event, 4096), resp: resp, cancel: cancel}
	ready := make(chan struct{})
	go s.read(ready)
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		tb.Fatalf("stream %s not ready", url)
	}
	tb.Cleanup(s.Close)
	return s
}

func (s *SSE) read(ready chan struct{}) {
	defer close(s.Events)
	sc := bufio.NewScanner(s.resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var ev Event
	var data []string
	signalled := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.Event != "" || len(data) > 0 {
				ev.Data = strings.Join(data, "\n")
				s.Events <- ev
			}
			ev, data = Event{}, nil
		case strings.HasPrefix(line, ":"):
			if line == ": ping" {
				s.pings.Add(1)
			}
			if !signalled && strings.Contains(line, "connected") {
				signalled = true
				close(ready)
			}
		case strings.HasPrefix(line, "id: "):
			ev.ID = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.Event = line[7:]
		case strings.HasPrefix(line, "data: "):
			data = append(data, line[6:])
		}
	}
}

// Close disconnects.
func (s *SSE) Close() {
	s.cancel()
	_ = s.resp.Body.Close()
}

// Next returns the next event or fails the test after timeout.
func (s *SSE) Next(tb testing.TB, timeout time.Duration) Event {
	tb.Helper()
	select {
	case ev, ok := <-s.Events:
		if !ok {
			tb.Fatalf("stream ended")
		}
		return ev
	case <-time.After(timeout):
		tb.Fatalf("no event within %v", timeout)
	}
	return Event{}
}
