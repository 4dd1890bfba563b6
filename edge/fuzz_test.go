package edge_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/edge"
	"github.com/opencommerce/opencommerce/internal/token/tokentest"
)

// FuzzRequestPath drives the whole request path with arbitrary methods,
// URIs, tokens, content types, other headers (a block of "Name: value"
// lines: X-Request-ID, Origin, X-Forwarded-For, Idempotency-Key...) and
// bodies, from an arbitrary client address, with CORS and rate limits on.
// It must never panic: the handler turns a panic into a 500 and logs it,
// and the test fails on either (a 503 is legitimate: the stream and file
// routes have no backend here). Every refusal must be a JSON error.
// Run: go test ./edge -run '^$' -fuzz FuzzRequestPath -fuzztime 30s
func FuzzRequestPath(f *testing.F) {
	k := tokentest.New(f)
	rpc := &fakeRPC{keys: k}
	cfg := edge.Defaults()
	cfg.RateDefault, cfg.RateLogin, cfg.RateSearch = "1000000/1s", "1000000/1s", "1000000/1s"
	cfg.RateCheckout, cfg.RateUpload = "1000000/1s", "1000000/1s"
	cfg.CORSOrigins = []string{"https://shop.example"}
	var panics atomic.Int64
	log := slog.New(panicSpy{&panics})
	g, err := edge.New(cfg, edge.Deps{RPC: rpc, Log: log})
	if err != nil {
		f.Fatal(err)
	}
	good := k.Sign(f, "u1", contracts.RoleAdmin, time.Hour)
	seeds := []struct{ method, uri, authz, ctype, body, hdrs string }{
		{"GET", "/api/v1/products/" + productID, "", "", "", "X-Request-ID: abc\nOrigin: https://shop.example"},
		{"OPTIONS", "/api/v1/products", "", "", "", "Origin: https://shop.example\nAccess-Control-Request-Method: PATCH\nAccess-Control-Request-Headers: authorization, x-evil"},
		{"POST", "/api/v1/orders", "Bearer " + good, "application/json", "{}", "Idempotency-Key: \x7f\nX-Forwarded-For: 1.2.3.4, ::1, garbage\nX-Actor-Id: admin"},
		{"GET", "/api/v1/health", "", "", "", "X-Request-ID: " + strings.Repeat("r", 300) + "\nX-Real-IP: [::1]:80"},
		{"GET", "/api/v1/products?q=lamp&category=a&category=b&limit=5", "", "", "", ""},
		{"POST", "/api/v1/auth/login", "", "application/json", `{"email":"a@b.c","password":"x"}`, ""},
		{"PATCH", "/api/v1/products/%2F..%2F?id=%00&x=%ff", "Bearer " + good, "application/json; charset=utf-8", `{"name":"\u0000"}`, ""},
		{"POST", "/api/v1/orders", "Bearer " + good, "application/json", `[1,2,{"a":null}]`, ""},
		{"DELETE", "/api/v1/users/me/wishlist/\xff\xfe", "Bearer " + good, "", "", ""},
		{"OPTIONS", "/api/v1/cart/items/x", "", "", "", ""},
		{"GET", "//api/v1//products", "Bearer a.b.c", "", "", ""},
		{"PUT", "/api/v1/cart/items/p1?" + string(make([]byte, 100)), "bearer  ", "text/json", "{", ""},
		{"GET", "http://evil/api/v1/health#frag", "Basic x", "", "", ""},
		{"BREW", "*", "", "", "", ""},
		{"GET", "/api/v1/notifications/stream?access_token=x&last_event_id=99999999999999999999", "", "", "", "Last-Event-ID: -1"},
	}
	for i, s := range seeds {
		f.Add(s.method, s.uri, s.authz, s.ctype, []byte(s.body), s.hdrs, uint32(0x7f000001+i))
	}
	f.Fuzz(func(t *testing.T, method, uri, authz, ctype string, body []byte, hdrs string, ip uint32) {
		var ctx fasthttp.RequestCtx
		ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(byte(ip>>24), byte(ip>>16), byte(ip>>8), byte(ip)), Port: 40000}, nil)
		for line := range strings.SplitSeq(hdrs, "\n") {
			if name, value, ok := strings.Cut(line, ":"); ok && name != "" {
				ctx.Request.Header.Add(name, strings.TrimSpace(value))
			}
		}
		ctx.Request.Header.SetMethod(method)
		ctx.Request.SetRequestURI(uri)
		if authz != "" {
			ctx.Request.Header.Set("Authorization", authz)
		}
		if ctype != "" {
			ctx.Request.Header.SetContentType(ctype)
		}
		ctx.Request.SetBody(body)
		before := panics.Load()
		g.Handler(&ctx)
		status := ctx.Response.StatusCode()
		if panics.Load() != before || status == fasthttp.StatusInternalServerError {
			t.Fatalf("%s %q (headers %q): status %d: %s", method, uri, hdrs, status, ctx.Response.Body())
		}
		if status >= 400 {
			var eb contracts.ErrorBody
			if err := json.Unmarshal(ctx.Response.Body(), &eb); err != nil || eb.Error == nil || eb.Error.Code == "" {
				t.Fatalf("%s %q: status %d with a body that is not a JSON error: %q", method, uri, status, ctx.Response.Body())
			}
		}
	})
}

// panicSpy is a slog handler counting the gateway's "panic serving
// request" records.
type panicSpy struct{ n *atomic.Int64 }

func (p panicSpy) Enabled(context.Context, slog.Level) bool { return true }
func (p panicSpy) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		p.n.Add(1)
	}
	return nil
}
func (p panicSpy) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p panicSpy) WithGroup(string) slog.Handler      { return p }
