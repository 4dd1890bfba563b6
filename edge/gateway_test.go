package edge_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
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

const productID = "0190c3a4-0000-7000-8000-000000000001"

func setup(t *testing.T, mutate ...func(*edge.Config, *edge.Deps)) (*edge.Gateway, string, *fakeRPC, *tokentest.Keys) {
	t.Helper()
	k := tokentest.New(t)
	rpc := &fakeRPC{keys: k}
	cfg := edge.Defaults()
	cfg.Addr = "127.0.0.1:0"
	cfg.RateDefault = "off"
	cfg.RateSearch = "off"
	deps := edge.Deps{RPC: rpc}
	for _, m := range mutate {
		m(&cfg, &deps)
	}
	g, base := start(t, cfg, deps)
	return g, base, rpc, k
}

func TestEnvelopeReachesService(t *testing.T) {
	t.Parallel()
	_, base, rpc, k := setup(t)
	tok := k.Sign(t, "u1", contracts.RoleSeller, time.Hour)

	r := do(t, "PATCH", base+"/api/v1/products/"+productID, `{"name": "Lamp",  "price":{"amount":1}}`,
		"Content-Type", "application/json; charset=utf-8", "Authorization", "Bearer "+tok,
		"Idempotency-Key", "k-1", "User-Agent", "test/1", "X-Request-ID", "req-123")
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	c := rpc.last(t)
	if c.Service != "product" || c.Method != contracts.MethodProductUpdate {
		t.Fatalf("called %s %s", c.Service, c.Method)
	}
	if got := c.Env.Params["id"]; len(got) != 1 || got[0] != productID {
		t.Fatalf("params.id = %v", got)
	}
	if string(c.Env.Body) != `{"name": "Lamp",  "price":{"amount":1}}` {
		t.Fatalf("body was re-encoded: %s", c.Env.Body)
	}
	if c.Env.Meta["idempotency_key"] != "k-1" || c.Env.Meta["user_agent"] != "test/1" ||
		c.Env.Meta["request_id"] != "req-123" || c.Env.Meta["client_ip"] != "127.0.0.1" {
		t.Fatalf("meta = %v", c.Env.Meta)
	}
	if c.Opt.Actor != (contracts.Actor{ID: "u1", Role: contracts.RoleSeller}) || c.Opt.RequestID != "req-123" {
		t.Fatalf("call options = %+v", c.Opt)
	}
	if r.Header.Get("X-Request-ID") != "req-123" || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers %v", r.Header)
	}
	for h, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
		if r.Header.Get(h) != v {
			t.Fatalf("%s = %q", h, r.Header.Get(h))
		}
	}
	// The reply body comes back as the service wrote it.
	if string(r.Body) != string(c.Raw) {
		t.Fatalf("reply rewritten:\n got %s\nwant %s", r.Body, c.Raw)
	}
}

// declaredQuery lists the query parameters the route table declares for
// method path, as the 400 names them.
func declaredQuery(t *testing.T, method, path string) string {
	t.Helper()
	for _, rt := range edge.Routes() {
		if rt.Method == method && rt.Path == path {
			names := make([]string, len(rt.Query))
			for i, q := range rt.Query {
				names[i] = q.Name
			}
			return strings.Join(names, ", ")
		}
	}
	t.Fatalf("no route %s %s", method, path)
	return ""
}

// TestQueryParametersMustBeDeclared: every route takes exactly the query
// parameters its table entry declares; another one is a 400 naming it (and
// what the route takes), before sign-in, the cache and the service. Declared
// ones reach the service, repeated values in order.
func TestQueryParametersMustBeDeclared(t *testing.T) {
	t.Parallel()
	_, base, rpc, k := setup(t)
	tok := k.Sign(t, "u1", contracts.RoleSeller, time.Hour)
	for _, tc := range []struct{ method, path, query, want string }{
		{"PATCH", "/products/" + productID, "id=evil", `unknown query parameter "id"; this route takes no query parameters`},
		{"GET", "/products", "q=lamp&categroy=x", `unknown query parameter "categroy"; this route takes: ` + declaredQuery(t, "GET", "/products")},
		{"GET", "/users/me", "access_token=" + tok, `unknown query parameter "access_token"`},
		{"GET", "/health", "_=1", `unknown query parameter "_"`},
		{"GET", "/products/" + productID + "/reviews", "limit=5&page_size=20", `unknown query parameter "page_size"; this route takes: limit, cursor`},
	} {
		r := do(t, tc.method, base+"/api/v1"+tc.path+"?"+tc.query, `{}`, "Content-Type", "application/json")
		if r.Status != 400 || r.errorCode(t) != contracts.CodeInvalidArgument || !strings.Contains(string(r.Body), strings.ReplaceAll(tc.want, `"`, `\"`)) {
			t.Errorf("%s %s?%s: %d %s, want 400 with %s", tc.method, tc.path, tc.query, r.Status, r.Body, tc.want)
		}
	}
	if n := rpc.count(); n != 0 {
		t.Fatalf("%d refused requests reached a service", n)
	}
	r := do(t, "GET", base+"/api/v1/products?category=a&category=b%22q&limit=5&", "", "Authorization", "Bearer "+tok)
	if r.Status != 200 {
		t.Fatalf("declared parameters: %d %s", r.Status, r.Body)
	}
	c := rpc.last(t)
	if got := c.Env.Params["category"]; len(got) != 2 || got[0] != "a" || got[1] != `b"q` {
		t.Fatalf("params.category = %q", got)
	}
	if got := c.Env.Params.Get("limit"); got != "5" {
		t.Fatalf("params.limit = %q", got)
	}
}

func TestRequestIDGeneratedWhenMissingOrInvalid(t *testing.T) {
	t.Parallel()
	_, base, rpc, _ := setup(t)
	for _, in := range []string{"", "has space", strings.Repeat("x", 65), "<script>"} {
		r := do(t, "GET", base+"/api/v1/products/"+productID+"/reviews", "", "X-Request-ID", in)
		got := r.Header.Get("X-Request-ID")
		if got == "" || got == in {
			t.Fatalf("request id %q: echoed %q, want a generated one", in, got)
		}
		if rpc.last(t).Opt.RequestID != got {
			t.Fatalf("the service saw request id %q, the client %q", rpc.last(t).Opt.RequestID, got)
		}
	}
}

func TestSuccessStatusesAndErrorCodes(t *testing.T) {
	t.Parallel()
	_, base, rpc, k := setup(t)
	tok := k.Sign(t, "u1", contracts.RoleCustomer, time.Hour)
	reply := map[string]bus.Reply{}
	rpc.reply = func(_ context.Context, c call) (bus.Reply, error) { return reply[c.Method], nil }

	// Success statuses from the table; 204 has no body.
	reply[contracts.MethodUserRegister] = bus.Reply{Status: "ok", Body: []byte(`{"id":"u"}`)}
	if r := do(t, "POST", base+"/api/v1/auth/register", `{}`, "Content-Type", "application/json"); r.Status != 201 || string(r.Body) != `{"id":"u"}` {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	reply["order.cart.clear"] = bus.Reply{Status: "ok", Body: []byte(`{}`)}
	if r := do(t, "DELETE", base+"/api/v1/cart", "", "Authorization", "Bearer "+tok); r.Status != 204 || len(r.Body) != 0 {
		t.Fatalf("clear cart: %d %q", r.Status, r.Body)
	}

	for _, code := range contracts.Codes {
		t.Run(string(code), func(t *testing.T) {
			body := fmt.Sprintf(`{"error":{"code":%q,"message":"from service"}}`, code)
			reply[contracts.MethodUserMeGet] = bus.Reply{Status: string(code), Body: []byte(body)}
			r := do(t, "GET", base+"/api/v1/users/me", "", "Authorization", "Bearer "+tok)
			if r.Status != code.HTTPStatus() {
				t.Fatalf("status %d, want %d", r.Status, code.HTTPStatus())
			}
			if code.HTTPStatus() != 304 && string(r.Body) != body {
				t.Fatalf("body %s", r.Body)
			}
		})
	}
	// Transport failures: unavailable → 503 with Retry-After.
	rpc.reply = func(context.Context, call) (bus.Reply, error) {
		return bus.Reply{}, contracts.Errorf(contracts.CodeUnavailable, "no server for user")
	}
	r := do(t, "GET", base+"/api/v1/users/me", "", "Authorization", "Bearer "+tok)
	if r.Status != 503 || r.errorCode(t) != contracts.CodeUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("unavailable: %d %s %v", r.Status, r.Body, r.Header)
	}
}

func TestSlowServiceTimesOut(t *testing.T) {
	t.Parallel()
	_, base, rpc, _ := setup(t, func(c *edge.Config, _ *edge.Deps) { c.RouteTimeout = 150 * time.Millisecond })
	rpc.reply = func(ctx context.Context, _ call) (bus.Reply, error) {
		<-ctx.Done() // the bus client returns deadline_exceeded at the caller's deadline
		return bus.Reply{}, contracts.Errorf(contracts.CodeDeadlineExceeded, "no reply in time")
	}
	r := do(t, "GET", base+"/api/v1/categories", "")
	if r.Status != 504 || r.errorCode(t) != contracts.CodeDeadlineExceeded {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	_, base, rpc, k := setup(t, func(c *edge.Config, _ *edge.Deps) { c.MaxBody = 256 << 10 })
	good := k.Sign(t, "u1", contracts.RoleCustomer, time.Hour)
	expired := k.Sign(t, "u1", contracts.RoleCustomer, -time.Minute)
	other := tokentest.New(t)
	forged := other.Sign(t, "u1", contracts.RoleAdmin, time.Hour) // unknown key
	claims := map[string]any{"sub": "u1", "role": "admin", "iss": contracts.TokenIssuer, "iat": time.Now().Unix(),
		"exp": time.Now().Add(time.Hour).Unix()}
	algNone := forge(map[string]any{"alg": "none", "typ": "JWT", "kid": k.Kid()}, claims, nil)
	hsPub := forge(map[string]any{"alg": "HS256", "typ": "JWT", "kid": k.Kid()}, claims, hs256(k.Public()))
	hsJWKS := forge(map[string]any{"alg": "HS256", "typ": "JWT", "kid": k.Kid()}, claims, hs256(k.JWKS()))
	// A real token with its payload swapped for an admin one.
	parts := strings.Split(good, ".")
	cb, _ := json.Marshal(claims)
	tampered := parts[0] + "." + b64.EncodeToString(cb) + "." + parts[2]

	before := rpc.count()
	tests := []struct {
		name       string
		method     string
		path, body string
		hdr        []string
		status     int
		code       contracts.Code
	}{
		{"malformed JSON", "POST", "/auth/login", `{"email":`, []string{"Content-Type", "application/json"}, 400, contracts.CodeInvalidArgument},
		{"trailing garbage", "POST", "/auth/login", `{} {}`, []string{"Content-Type", "application/json"}, 400, contracts.CodeInvalidArgument},
		{"wrong content type", "POST", "/auth/login", `{}`, []string{"Content-Type", "text/plain"}, 415, contracts.CodeUnsupportedMedia},
		{"no content type", "POST", "/auth/login", `{}`, nil, 415, contracts.CodeUnsupportedMedia},
		{"route body limit", "POST", "/auth/login", `{"a":"` + strings.Repeat("x", 70<<10) + `"}`, []string{"Content-Type", "application/json"}, 413, contracts.CodePayloadTooLarge},
		{"no token", "GET", "/users/me", "", nil, 401, contracts.CodeUnauthenticated},
		{"not bearer", "GET", "/users/me", "", []string{"Authorization", "Basic dTpw"}, 401, contracts.CodeUnauthenticated},
		{"garbage token", "GET", "/users/me", "", []string{"Authorization", "Bearer abc.def"}, 401, contracts.CodeUnauthenticated},
		{"expired", "GET", "/users/me", "", []string{"Authorization", "Bearer " + expired}, 401, contracts.CodeUnauthenticated},
		{"unknown key", "GET", "/users/me", "", []string{"Authorization", "Bearer " + forged}, 401, contracts.CodeUnauthenticated},
		{"alg none", "GET", "/admin/users", "", []string{"Authorization", "Bearer " + algNone}, 401, contracts.CodeUnauthenticated},
		{"HS256 with the public key", "GET", "/admin/users", "", []string{"Authorization", "Bearer " + hsPub}, 401, contracts.CodeUnauthenticated},
		{"HS256 with the JWKS", "GET", "/admin/users", "", []string{"Authorization", "Bearer " + hsJWKS}, 401, contracts.CodeUnauthenticated},
		{"tampered payload", "GET", "/admin/users", "", []string{"Authorization", "Bearer " + tampered}, 401, contracts.CodeUnauthenticated},
		{"bad token on a public route", "GET", "/categories", "", []string{"Authorization", "Bearer " + expired}, 401, contracts.CodeUnauthenticated},
		{"wrong role", "GET", "/admin/users", "", []string{"Authorization", "Bearer " + good}, 403, contracts.CodePermissionDenied},
		{"unknown route", "GET", "/nope", "", nil, 404, contracts.CodeNotFound},
		{"trailing slash", "GET", "/products/", "", nil, 404, contracts.CodeNotFound},
		{"outside the API", "GET", "/../etc/passwd", "", nil, 404, contracts.CodeNotFound},
		{"wrong method", "PUT", "/categories", "", nil, 405, contracts.CodeMethodNotAllowed},
		{"missing idempotency key", "POST", "/orders", `{}`, []string{"Content-Type", "application/json", "Authorization", "Bearer " + good}, 400, contracts.CodeInvalidArgument},
		{"bad idempotency key", "POST", "/orders", `{}`, []string{"Content-Type", "application/json", "Authorization", "Bearer " + good, "Idempotency-Key", "a b"}, 400, contracts.CodeInvalidArgument},
		{"no stream hub", "GET", "/ws", "", []string{"Authorization", "Bearer " + good}, 503, contracts.CodeUnavailable},
		{"no file service", "GET", "/files/" + productID, "", nil, 503, contracts.CodeUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, tc.method, base+"/api/v1"+tc.path, tc.body, tc.hdr...)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if code := r.errorCode(t); code != tc.code {
				t.Fatalf("code %q, want %q", code, tc.code)
			}
			switch tc.status {
			case 401:
				if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Fatalf("401 without WWW-Authenticate: Bearer: %v", r.Header)
				}
			case 405:
				if r.Header.Get("Allow") != "GET, OPTIONS, POST" {
					t.Fatalf("Allow = %q", r.Header.Get("Allow"))
				}
			}
		})
	}
	if n := rpc.count() - before; n != 0 {
		t.Fatalf("%d bad requests reached a service", n)
	}
}

// TestOversizeBodyReally413 sends a body far above the server limit the way
// a real client does (headers, then the body while not reading) and checks
// the 413 is received rather than a connection reset.
func TestOversizeBodyReally413(t *testing.T) {
	t.Parallel()
	_, base, _, _ := setup(t, func(c *edge.Config, _ *edge.Deps) { c.MaxBody = 64 << 10 })
	addr := strings.TrimPrefix(base, "http://")
	const size = 8 << 20
	for _, mode := range []string{"content-length", "chunked"} {
		t.Run(mode, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			hdr := "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
			if mode == "chunked" {
				hdr += "Transfer-Encoding: chunked\r\n\r\n"
			} else {
				hdr += fmt.Sprintf("Content-Length: %d\r\n\r\n", size)
			}
			// Like a simple client: write the whole request, then read.
			_, _ = conn.Write([]byte(hdr))
			chunk := []byte(strings.Repeat("x", 64<<10))
			for sent := 0; sent < size; sent += len(chunk) {
				var err error
				if mode == "chunked" {
					_, err = fmt.Fprintf(conn, "%x\r\n%s\r\n", len(chunk), chunk)
				} else {
					_, err = conn.Write(chunk)
				}
				if err != nil {
					t.Fatalf("the gateway reset the connection while the client was sending: %v", err)
				}
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("client did not receive the 413: %v", err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 413 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			var eb contracts.ErrorBody
			if err := json.NewDecoder(resp.Body).Decode(&eb); err != nil || eb.Error.Code != contracts.CodePayloadTooLarge {
				t.Fatalf("body: %v %+v", err, eb)
			}
		})
	}
	// And through net/http, which writes the body before it reads.
	big := `{"a":"` + strings.Repeat("x", 2<<20) + `"}`
	r := do(t, "POST", base+"/api/v1/auth/login", big, "Content-Type", "application/json")
	if r.Status != 413 || r.errorCode(t) != contracts.CodePayloadTooLarge {
		t.Fatalf("net/http client: %d %s", r.Status, r.Body)
	}
}

func TestSpoofedIdentityHeadersIgnored(t *testing.T) {
	t.Parallel()
	_, base, rpc, k := setup(t)
	spoof := []string{"X-Actor-Id", "admin-1", "X-Actor-Role", "admin", "X-User-Id", "admin-1", "X-User-Role", "admin"}
	r := do(t, "GET", base+"/api/v1/categories", "", spoof...)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if a := rpc.last(t).Opt.Actor; a != (contracts.Actor{}) {
		t.Fatalf("service saw actor %+v from client headers", a)
	}
	if strings.Contains(string(rpc.last(t).Raw), "admin") {
		t.Fatalf("spoofed identity leaked into the envelope: %s", rpc.last(t).Raw)
	}
	// A signed-in customer claiming admin through headers stays a customer.
	tok := k.Sign(t, "u7", contracts.RoleCustomer, time.Hour)
	r = do(t, "GET", base+"/api/v1/admin/users", "", append(spoof, "Authorization", "Bearer "+tok)...)
	if r.Status != 403 {
		t.Fatalf("admin route with spoofed headers: %d", r.Status)
	}
	r = do(t, "GET", base+"/api/v1/users/me", "", append(spoof, "Authorization", "Bearer "+tok)...)
	if r.Status != 200 || rpc.last(t).Opt.Actor != (contracts.Actor{ID: "u7", Role: contracts.RoleCustomer}) {
		t.Fatalf("actor = %+v", rpc.last(t).Opt.Actor)
	}
}

func TestKeyRotationRefetchIsBounded(t *testing.T) {
	t.Parallel()
	_, base, rpc, k := setup(t, func(c *edge.Config, _ *edge.Deps) { c.JWKSRefetch = time.Hour })
	tok := k.Sign(t, "u1", contracts.RoleCustomer, time.Hour)
	if r := do(t, "GET", base+"/api/v1/users/me", "", "Authorization", "Bearer "+tok); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	fetches := rpc.jwks.Load()
	// The user service rotates: a token with the new kid makes the gateway
	// refetch once.
	k.Rotate(t)
	tok2 := k.Sign(t, "u1", contracts.RoleCustomer, time.Hour)
	if r := do(t, "GET", base+"/api/v1/users/me", "", "Authorization", "Bearer "+tok2); r.Status != 200 {
		t.Fatalf("after rotation: %d %s", r.Status, r.Body)
	}
	if rpc.jwks.Load() != fetches+1 {
		t.Fatalf("jwks fetched %d times for one new kid", rpc.jwks.Load()-fetches)
	}
	// Unknown kids do not make it fetch again within the interval.
	other := tokentest.New(t)
	for range 20 {
		if r := do(t, "GET", base+"/api/v1/users/me", "", "Authorization", "Bearer "+other.Sign(t, "x", "admin", time.Hour)); r.Status != 401 {
			t.Fatalf("forged kid: %d", r.Status)
		}
	}
	if rpc.jwks.Load() != fetches+1 {
		t.Fatalf("forged kids caused %d more fetches", rpc.jwks.Load()-fetches-1)
	}
	// The JWKS endpoint serves the cached set.
	r := do(t, "GET", base+"/api/v1/.well-known/jwks.json", "")
	var set contracts.JWKS
	if r.Status != 200 || json.Unmarshal(r.Body, &set) != nil || len(set.Keys) != 2 {
		t.Fatalf("jwks: %d %s", r.Status, r.Body)
	}
}

func TestNoHealthyInstance(t *testing.T) {
	t.Parallel()
	disc := &fakeDiscovery{}
	disc.down.Store("order", true)
	_, base, rpc, k := setup(t, func(_ *edge.Config, d *edge.Deps) { d.Discovery = disc })
	tok := k.Sign(t, "u1", contracts.RoleCustomer, time.Hour)
	r := do(t, "GET", base+"/api/v1/cart", "", "Authorization", "Bearer "+tok)
	if r.Status != 503 || r.errorCode(t) != contracts.CodeUnavailable || r.Header.Get("Retry-After") != "5" {
		t.Fatalf("%d %s %v", r.Status, r.Body, r.Header)
	}
	if rpc.count() != 0 {
		t.Fatal("request sent to a service without healthy instances")
	}
	if r := do(t, "GET", base+"/api/v1/users/me", "", "Authorization", "Bearer "+tok); r.Status != 200 {
		t.Fatalf("healthy service: %d", r.Status)
	}
}

func TestMaintenance(t *testing.T) {
	t.Parallel()
	g, base, _, _ := setup(t)
	g.ApplyLive(edge.Live{Maintenance: true})
	r := do(t, "GET", base+"/api/v1/products/"+productID, "")
	if r.Status != 503 || r.errorCode(t) != contracts.CodeUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	for _, p := range []string{"/api/v1/health", "/health"} {
		if r := do(t, "GET", base+p, ""); p == "/api/v1/health" && r.Status != 200 {
			t.Fatalf("%s during maintenance: %d", p, r.Status)
		}
	}
	g.ApplyLive(edge.Live{})
	if r := do(t, "GET", base+"/api/v1/products/"+productID, ""); r.Status != 200 {
		t.Fatalf("after maintenance: %d", r.Status)
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	g, base, _, _ := setup(t, func(c *edge.Config, _ *edge.Deps) { c.CORSOrigins = []string{"https://shop.example"} })
	r := do(t, "OPTIONS", base+"/api/v1/products/"+productID, "", "Origin", "https://shop.example",
		"Access-Control-Request-Method", "PATCH", "Access-Control-Request-Headers", "authorization, content-type")
	if r.Status != 204 || r.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" ||
		!strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), "PATCH") ||
		!strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", r.Status, r.Header)
	}
	r = do(t, "OPTIONS", base+"/api/v1/products/"+productID, "", "Origin", "https://evil.example", "Access-Control-Request-Method", "GET")
	if r.Status != 403 || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from a foreign origin: %d %v", r.Status, r.Header)
	}
	r = do(t, "GET", base+"/api/v1/categories", "", "Origin", "https://shop.example")
	if r.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" || r.Header.Get("Vary") != "Origin" ||
		!strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), "RateLimit-Remaining") {
		t.Fatalf("simple request: %v", r.Header)
	}
	// Live config replaces the origins.
	g.ApplyLive(edge.Live{CORSOrigins: []string{"https://new.example"}})
	if r := do(t, "GET", base+"/api/v1/categories", "", "Origin", "https://shop.example"); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("old origin still allowed after live update")
	}
	if r := do(t, "GET", base+"/api/v1/categories", "", "Origin", "https://new.example"); r.Header.Get("Access-Control-Allow-Origin") != "https://new.example" {
		t.Fatal("new origin not allowed after live update")
	}
}

func TestCatalogueCache(t *testing.T) {
	t.Parallel()
	g, base, rpc, k := setup(t)
	rpc.reply = func(_ context.Context, c call) (bus.Reply, error) {
		return bus.Reply{Status: "ok", Body: fmt.Appendf(nil, `{"id":%q,"n":%d}`, c.Env.Params.Get("id"), len(c.Raw))}, nil
	}
	url := base + "/api/v1/products/" + productID
	first := do(t, "GET", url, "")
	second := do(t, "GET", url, "")
	if first.Status != 200 || string(first.Body) != string(second.Body) || rpc.count() != 1 {
		t.Fatalf("second GET not served from cache: %d calls", rpc.count())
	}
	if second.Header.Get("X-Request-ID") == first.Header.Get("X-Request-ID") {
		t.Fatal("cached response reused the request id")
	}
	// Signed-in callers bypass the cache.
	tok := k.Sign(t, "u1", contracts.RoleSeller, time.Hour)
	do(t, "GET", url, "", "Authorization", "Bearer "+tok)
	if rpc.count() != 2 {
		t.Fatal("a signed-in read was served from the anonymous cache")
	}
	// A query parameter the route does not declare is refused before the
	// cache and the service.
	if r := do(t, "GET", url+"?currency=EUR", ""); r.Status != 400 || rpc.count() != 2 {
		t.Fatalf("undeclared query parameter: %d %s (%d calls)", r.Status, r.Body, rpc.count())
	}
	// A different query is a different entry.
	do(t, "GET", base+"/api/v1/products?q=a", "")
	do(t, "GET", base+"/api/v1/products?q=a", "")
	do(t, "GET", base+"/api/v1/products?q=b", "")
	if rpc.count() != 4 {
		t.Fatalf("query ignored by the cache key: %d calls", rpc.count())
	}
	// A product event purges it.
	data, _ := json.Marshal(contracts.ProductChanged{ProductID: productID})
	if err := g.HandleProductEvent(context.Background(), contracts.Event{ID: "e1", Type: contracts.EventProductUpdated, Data: data}); err != nil {
		t.Fatal(err)
	}
	do(t, "GET", url, "")
	if rpc.count() != 5 {
		t.Fatal("purged entry still served")
	}
	// Lists are purged by any product event.
	do(t, "GET", base+"/api/v1/products?q=lamp", "")
	do(t, "GET", base+"/api/v1/products?q=lamp", "")
	if rpc.count() != 6 {
		t.Fatalf("list not cached: %d", rpc.count())
	}
	g.Purge("some-other-product")
	do(t, "GET", base+"/api/v1/products?q=lamp", "")
	if rpc.count() != 7 {
		t.Fatal("list not purged by a product event")
	}
	// Routes without parameters have the same (empty) key; each keeps its
	// own entry.
	for range 3 {
		do(t, "GET", base+"/api/v1/categories", "")
		do(t, "GET", base+"/api/v1/products/featured", "")
	}
	if rpc.count() != 9 {
		t.Fatalf("two parameterless routes evict each other: %d calls for 2 routes", rpc.count()-7)
	}
	// Errors are not cached.
	rpc.reply = func(context.Context, call) (bus.Reply, error) {
		return bus.Reply{Status: "not_found", Body: []byte(`{"error":{"code":"not_found","message":"product not found"}}`)}, nil
	}
	do(t, "GET", base+"/api/v1/products/missing", "")
	do(t, "GET", base+"/api/v1/products/missing", "")
	if rpc.count() != 11 {
		t.Fatal("a 404 was cached")
	}
}

func TestRouteTableIsConsistent(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, r := range edge.Routes() {
		key := r.Method + " " + r.Path
		if seen[key] {
			t.Fatalf("duplicate route %s", key)
		}
		seen[key] = true
		if r.RPC != "" && !strings.HasPrefix(r.RPC, r.Service()+".") {
			t.Fatalf("%s: bad RPC %q", key, r.RPC)
		}
		if (r.Method == "GET" || r.Method == "DELETE") && r.Body {
			t.Fatalf("%s takes a body", key)
		}
	}
}

// TestRoutingPathFirst: the router finds the path first, then the method:
// a static segment beats a parameter even when only the parameter's path
// has the method asked (405 with that path's Allow, not the other route),
// a method no route uses is 405 too, and nothing is redirected (a
// trailing slash or another case is 404).
func TestRoutingPathFirst(t *testing.T) {
	t.Parallel()
	_, base, rpc, _ := setup(t)
	for _, tc := range []struct {
		method, path string
		status       int
		rpc          string // the method the service saw, for a 200
		param        [2]string
		allow        string // for a 405
	}{
		{method: "GET", path: "/products/featured", status: 200, rpc: contracts.MethodProductFeaturedList},
		{method: "GET", path: "/products/" + productID, status: 200, rpc: contracts.MethodProductGet, param: [2]string{"id", productID}},
		{method: "GET", path: "/products/by-slug/blue-mug", status: 200, rpc: contracts.MethodProductGetBySlug, param: [2]string{"slug", "blue-mug"}},
		{method: "GET", path: "/products/" + productID + "/reviews", status: 200, rpc: contracts.MethodProductReviewsList, param: [2]string{"id", productID}},
		{method: "PATCH", path: "/products/featured", status: 405, allow: "GET, OPTIONS"},
		{method: "PROPFIND", path: "/categories", status: 405, allow: "GET, OPTIONS, POST"},
		{method: "GET", path: "/categories/", status: 404},
		{method: "GET", path: "/Categories", status: 404},
		{method: "GET", path: "/products/by-slug/", status: 404},
	} {
		r := do(t, tc.method, base+"/api/v1"+tc.path, "")
		if r.Status != tc.status {
			t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.path, r.Status, tc.status, r.Body)
			continue
		}
		switch tc.status {
		case 200:
			c := rpc.last(t)
			if c.Method != tc.rpc || (tc.param[0] != "" && c.Env.Params.Get(tc.param[0]) != tc.param[1]) {
				t.Errorf("%s %s reached %s with %v, want %s with %s=%s", tc.method, tc.path, c.Method, c.Env.Params, tc.rpc, tc.param[0], tc.param[1])
			}
		case 405:
			if got := r.Header.Get("Allow"); got != tc.allow {
				t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
			}
		case 404:
			if r.errorCode(t) != contracts.CodeNotFound || r.Header.Get("Location") != "" {
				t.Errorf("%s %s: code %q, Location %q; want a JSON 404, no redirect", tc.method, tc.path, r.errorCode(t), r.Header.Get("Location"))
			}
		}
	}
}
