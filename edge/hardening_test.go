package edge_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/edge"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/token/tokentest"
)

// TestPanicBecomesJSON500: a panic while serving a request answers a JSON
// 500 with the request id, and the gateway goes on serving.
func TestPanicBecomesJSON500(t *testing.T) {
	t.Parallel()
	_, base, rpc, _ := setup(t)
	rpc.reply = func(_ context.Context, c call) (bus.Reply, error) {
		if c.Env.Params.Get("cursor") == "boom" {
			panic("handler bug")
		}
		return bus.Reply{Status: "ok", Body: []byte(`{"ok":true}`)}, nil
	}
	url := base + "/api/v1/products/" + productID + "/reviews"
	r := do(t, "GET", url+"?cursor=boom", "", "X-Request-ID", "req-panic")
	if r.Status != 500 || r.errorCode(t) != contracts.CodeInternal {
		t.Fatalf("panic answered %d %s", r.Status, r.Body)
	}
	if r.Header.Get("X-Request-ID") != "req-panic" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("panic answer lost its headers: %v", r.Header)
	}
	if bytes.Contains(r.Body, []byte("handler bug")) {
		t.Fatalf("the panic value reached the client: %s", r.Body)
	}
	if r := do(t, "GET", url, ""); r.Status != 200 {
		t.Fatalf("after a panic: %d %s", r.Status, r.Body)
	}
}

// TestConnectionTimeouts: a client that stops sending its headers gets a
// JSON 408 at the read timeout; an idle keep-alive connection is closed at
// the idle timeout.
func TestConnectionTimeouts(t *testing.T) {
	t.Parallel()
	_, base := start(t, func() edge.Config {
		c := edge.Defaults()
		c.ReadTimeout, c.IdleTimeout = 300*time.Millisecond, 300*time.Millisecond
		return c
	}(), edge.Deps{RPC: &fakeRPC{keys: tokentest.New(t)}})
	addr := strings.TrimPrefix(base, "http://")

	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := slow.Write([]byte("GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")); err != nil { // no blank line
		t.Fatal(err)
	}
	_ = slow.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(slow), nil)
	if err != nil {
		t.Fatalf("a stalled request got no answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 408 || !bytes.Contains(body, []byte(`"error"`)) {
		t.Fatalf("stalled request: %d %s", resp.StatusCode, body)
	}

	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if _, err := idle.Write([]byte("GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(idle)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("keep-alive request: %v %v", resp, err)
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	_ = idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle keep-alive connection not closed by the server: %v", err)
	}
}

// TestHSTS: the configured Strict-Transport-Security value is sent on
// answers and errors alike; none is sent when it is not configured.
func TestHSTS(t *testing.T) {
	t.Parallel()
	const v = "max-age=63072000; includeSubDomains"
	_, base, _, _ := setup(t, func(c *edge.Config, _ *edge.Deps) { c.HSTS = v })
	for _, path := range []string{"/api/v1/health", "/api/v1/no-such-route"} {
		if r := do(t, "GET", base+path, ""); r.Header.Get("Strict-Transport-Security") != v {
			t.Fatalf("%s: Strict-Transport-Security = %q", path, r.Header.Get("Strict-Transport-Security"))
		}
	}
	_, base2, _, _ := setup(t)
	if r := do(t, "GET", base2+"/api/v1/health", ""); r.Header.Get("Strict-Transport-Security") != "" {
		t.Fatal("HSTS sent without being configured")
	}
}

// TestRouteTimeoutReachesTheCall: a route's own timeout (checkout: 15 s) is
// the RPC deadline; other routes get the configured default.
func TestRouteTimeoutReachesTheCall(t *testing.T) {
	t.Parallel()
	_, base, rpc, k := setup(t, func(c *edge.Config, _ *edge.Deps) { c.RouteTimeout = 2 * time.Second })
	left := make(chan time.Duration, 1)
	rpc.reply = func(ctx context.Context, c call) (bus.Reply, error) {
		d, _ := ctx.Deadline()
		left <- time.Until(d)
		return bus.Reply{Status: "ok", Body: []byte(`{}`)}, nil
	}
	tok := k.Sign(t, "u1", contracts.RoleCustomer, time.Hour)
	do(t, "POST", base+"/api/v1/orders", `{}`, "Authorization", "Bearer "+tok, "Content-Type", "application/json", "Idempotency-Key", "k1")
	if d := <-left; d < 10*time.Second || d > 15*time.Second {
		t.Fatalf("checkout's RPC deadline %v away, want its route timeout of 15s", d)
	}
	do(t, "GET", base+"/api/v1/categories", "")
	if d := <-left; d < time.Second || d > 2*time.Second {
		t.Fatalf("categories' RPC deadline %v away, want the default of 2s", d)
	}
}

// TestUnreadBodiesDoNotResetTheAnswer: a request answered without reading
// its body (a route without one, a custom route, an unknown route) still
// gets its answer when the body is large or chunked, not a connection
// reset.
func TestUnreadBodiesDoNotResetTheAnswer(t *testing.T) {
	t.Parallel()
	_, base, _, _ := setup(t)
	big := bytes.Repeat([]byte("x"), 900<<10)
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/api/v1/openapi.json", 200},
		{"GET", "/api/v1/.well-known/jwks.json", 200},
		{"GET", "/api/v1/health", 200},
		{"GET", "/api/v1/no-such-route", 404},
		{"GET", "/api/v1/users/me", 401},
	} {
		for _, chunked := range []bool{false, true} {
			var rd io.Reader = bytes.NewReader(big)
			if chunked {
				rd = io.MultiReader(rd) // unknown length: sent chunked
			}
			req, _ := http.NewRequest(tc.method, base+tc.path, rd)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s %s with a %d KiB body (chunked %v): %v", tc.method, tc.path, len(big)>>10, chunked, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("%s %s with a body: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
			}
		}
	}
}
