package edge_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/edge"
)

// FuzzRequestPath drives the whole request path with arbitrary methods,
// URIs, tokens, content types and bodies. It must never panic (the handler
// would turn a panic into a 500, which is what the fuzzer looks for), and
// every refusal must be a JSON error. Run: go test ./edge -run '^$' -fuzz FuzzRequestPath -fuzztime 30s
func FuzzRequestPath(f *testing.F) {
	k := newKeys(f)
	rpc := &fakeRPC{keys: k}
	cfg := edge.Defaults()
	cfg.RateDefault, cfg.RateLogin, cfg.RateSearch = "off", "off", "off"
	g, err := edge.New(cfg, edge.Deps{RPC: rpc})
	if err != nil {
		f.Fatal(err)
	}
	good := k.sign(f, "u1", contracts.RoleAdmin, time.Hour)
	seeds := []struct{ method, uri, authz, ctype, body string }{
		{"GET", "/api/v1/products/" + productID, "", "", ""},
		{"GET", "/api/v1/products?q=lamp&category=a&category=b&limit=5", "", "", ""},
		{"POST", "/api/v1/auth/login", "", "application/json", `{"email":"a@b.c","password":"x"}`},
		{"PATCH", "/api/v1/products/%2F..%2F?id=%00&x=%ff", "Bearer " + good, "application/json; charset=utf-8", `{"name":"\u0000"}`},
		{"POST", "/api/v1/orders", "Bearer " + good, "application/json", `[1,2,{"a":null}]`},
		{"DELETE", "/api/v1/users/me/wishlist/\xff\xfe", "Bearer " + good, "", ""},
		{"OPTIONS", "/api/v1/cart/items/x", "", "", ""},
		{"GET", "//api/v1//products", "Bearer a.b.c", "", ""},
		{"PUT", "/api/v1/cart/items/p1?" + string(make([]byte, 100)), "bearer  ", "text/json", "{"},
		{"GET", "http://evil/api/v1/health#frag", "Basic x", "", ""},
		{"BREW", "*", "", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.uri, s.authz, s.ctype, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, method, uri, authz, ctype string, body []byte) {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(method)
		ctx.Request.SetRequestURI(uri)
		if authz != "" {
			ctx.Request.Header.Set("Authorization", authz)
		}
		if ctype != "" {
			ctx.Request.Header.SetContentType(ctype)
		}
		ctx.Request.SetBody(body)
		g.Handler(&ctx)
		status := ctx.Response.StatusCode()
		if status >= 500 && status != fasthttp.StatusNotImplemented {
			t.Fatalf("%s %q: status %d: %s", method, uri, status, ctx.Response.Body())
		}
		if status >= 400 {
			var eb contracts.ErrorBody
			if err := json.Unmarshal(ctx.Response.Body(), &eb); err != nil || eb.Error == nil || eb.Error.Code == "" {
				t.Fatalf("%s %q: status %d with a body that is not a JSON error: %q", method, uri, status, ctx.Response.Body())
			}
		}
	})
}
