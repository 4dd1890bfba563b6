package edge_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/edge"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/discovery"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/internal/token/tokentest"
)

func login(t *testing.T, base string) response {
	return do(t, "POST", base+"/api/v1/auth/login", `{"email":"a@b.c","password":"x"}`, "Content-Type", "application/json")
}

func TestRateLimitSharedAcrossGateways(t *testing.T) {
	t.Parallel()
	addr, prefix := testenv.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	k := tokentest.New(t)
	rpc := &fakeRPC{keys: k}
	cfg := edge.Defaults()
	cfg.Addr = "127.0.0.1:0"
	cfg.RateLogin = "5/1m"
	cfg.RateRedisTimeout = time.Second
	deps := edge.Deps{RPC: rpc, Redis: rdb, RedisPrefix: prefix}
	g1, a := start(t, cfg, deps)
	_, b := start(t, cfg, deps)

	allowed := 0
	var last response
	for i := range 10 {
		base := a
		if i%2 == 1 {
			base = b
		}
		last = login(t, base)
		switch last.Status {
		case 200:
			allowed++
			if last.Header.Get("RateLimit-Limit") != "5" || last.Header.Get("RateLimit-Remaining") == "" {
				t.Fatalf("RateLimit headers: %v", last.Header)
			}
		case 429:
		default:
			t.Fatalf("status %d", last.Status)
		}
	}
	if allowed != 5 {
		t.Fatalf("two gateways allowed %d logins from one IP, want 5 in total", allowed)
	}
	if last.Status != 429 || last.errorCode(t) != contracts.CodeResourceExhausted {
		t.Fatalf("last: %d %s", last.Status, last.Body)
	}
	ra, _ := strconv.Atoi(last.Header.Get("Retry-After"))
	if ra < 1 || ra > 12 || last.Header.Get("RateLimit-Remaining") != "0" || last.Header.Get("RateLimit-Reset") == "" {
		t.Fatalf("429 headers: %v", last.Header)
	}
	assertRetryInBody(t, last)
	if g1.Limiter().Fallbacks() != 0 {
		t.Fatal("decided locally with Redis up")
	}
	// Other classes are separate: the default class still lets reads through.
	if r := do(t, "GET", a+"/api/v1/products/"+productID+"/reviews", ""); r.Status != 200 {
		t.Fatalf("default class: %d", r.Status)
	}
	// Live config raises the login limit at run time.
	g1.ApplyLive(edge.Live{RateLimits: map[string]string{"login": "1000/1s"}})
	if r := login(t, a); r.Status != 200 {
		t.Fatalf("after a live raise: %d", r.Status)
	}
}

func TestRateLimitLocalWhenRedisDown(t *testing.T) {
	t.Parallel()
	dead := redis.NewClient(&redis.Options{Addr: testenv.FreeAddr(t), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = dead.Close() })
	_, base, _, _ := setup(t, func(c *edge.Config, d *edge.Deps) {
		c.RateLogin = "3/1m"
		d.Redis, d.RedisPrefix = dead, "x:"
	})
	codes := []int{}
	var last response
	for range 6 {
		last = login(t, base)
		codes = append(codes, last.Status)
	}
	want := []int{200, 200, 200, 429, 429, 429}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("with Redis down: %v, want %v", codes, want)
		}
	}
	if last.errorCode(t) != contracts.CodeResourceExhausted || last.Header.Get("Retry-After") == "" ||
		last.Header.Get("RateLimit-Limit") == "" || last.Header.Get("RateLimit-Remaining") != "0" {
		t.Fatalf("local 429 lacks its headers: %v", last.Header)
	}
	assertRetryInBody(t, last)
}

// assertRetryInBody checks a 429's body says when to retry, in its message
// and in details.retry_after, as its Retry-After header does.
func assertRetryInBody(t *testing.T, r response) {
	t.Helper()
	var e struct {
		Error struct {
			Message string
			Details struct {
				RetryAfter int    `json:"retry_after"`
				RateClass  string `json:"rate_class"`
			}
		}
	}
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("429 body %s: %v", r.Body, err)
	}
	ra := r.Header.Get("Retry-After")
	if strconv.Itoa(e.Error.Details.RetryAfter) != ra || !strings.Contains(e.Error.Message, "retry in "+ra+" second") || e.Error.Details.RateClass != "login" {
		t.Fatalf("429 body %s does not say to retry in %s seconds (login class)", r.Body, ra)
	}
}

func TestRateLimitPerUser(t *testing.T) {
	t.Parallel()
	_, base, _, k := setup(t, func(c *edge.Config, _ *edge.Deps) { c.RateDefault = "2/1m" })
	a := k.Sign(t, "alice", contracts.RoleCustomer, time.Hour)
	b := k.Sign(t, "bob", contracts.RoleCustomer, time.Hour)
	for i, want := range []int{200, 200, 429} {
		if r := do(t, "GET", base+"/api/v1/users/me", "", "Authorization", "Bearer "+a); r.Status != want {
			t.Fatalf("alice request %d: %d", i, r.Status)
		}
	}
	if r := do(t, "GET", base+"/api/v1/users/me", "", "Authorization", "Bearer "+b); r.Status != 200 {
		t.Fatalf("bob limited by alice's requests: %d", r.Status)
	}
}

func TestTrustedProxyClientIP(t *testing.T) {
	t.Parallel()
	_, base, rpc, _ := setup(t, func(c *edge.Config, _ *edge.Deps) { c.TrustedProxies = []string{"127.0.0.1/32", "10.0.0.0/8"} })
	do(t, "GET", base+"/api/v1/products/"+productID+"/reviews", "", "X-Forwarded-For", "6.6.6.6, 203.0.113.9, 10.1.2.3")
	if ip := rpc.last(t).Env.Meta["client_ip"]; ip != "203.0.113.9" {
		t.Fatalf("client_ip = %q", ip)
	}
	_, base2, rpc2, _ := setup(t)
	do(t, "GET", base2+"/api/v1/products/"+productID+"/reviews", "", "X-Forwarded-For", "203.0.113.9")
	if ip := rpc2.last(t).Env.Meta["client_ip"]; ip != "127.0.0.1" {
		t.Fatalf("untrusted X-Forwarded-For believed: %q", ip)
	}
}

// TestCachedReadAllocations drives the full handler with a RequestCtx built
// in the test and bounds the allocations of a cached GET (1 measured: the
// router's copy of the path parameter, match.go).
func TestCachedReadAllocations(t *testing.T) {
	k := tokentest.New(t)
	rpc := &fakeRPC{keys: k, reply: func(context.Context, call) (bus.Reply, error) {
		return bus.Reply{Status: "ok", Body: []byte(strings.Repeat(`{"id":"x","name":"Lamp"}`, 10))}, nil
	}}
	cfg := edge.Defaults()
	cfg.CORSOrigins = []string{"https://shop.example"}
	g, err := edge.New(cfg, edge.Deps{RPC: rpc})
	if err != nil {
		t.Fatal(err)
	}
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.SetRequestURI("/api/v1/products/" + productID)
	ctx.Request.Header.Set("Origin", "https://shop.example")
	g.Handler(&ctx) // fill the cache
	if ctx.Response.StatusCode() != 200 || rpc.count() != 1 {
		t.Fatalf("priming: %d", ctx.Response.StatusCode())
	}
	serve := func() {
		ctx.Response.Reset()
		g.Handler(&ctx)
	}
	serve()
	allocs := testing.AllocsPerRun(2000, serve)
	if rpc.count() != 1 || ctx.Response.StatusCode() != 200 || len(ctx.Response.Body()) != 240 {
		t.Fatalf("not served from cache: %d calls, status %d", rpc.count(), ctx.Response.StatusCode())
	}
	t.Logf("cached GET: %.1f allocations", allocs)
	if allocs > 2 {
		t.Fatalf("cached GET allocates %.1f times, budget 2", allocs)
	}
}

// TestShutdownFinishesAcceptedRequests starts slow requests, shuts down,
// and checks every one of them got its answer.
func TestShutdownFinishesAcceptedRequests(t *testing.T) {
	t.Parallel()
	k := tokentest.New(t)
	started := make(chan struct{}, 16)
	release := make(chan struct{})
	rpc := &fakeRPC{keys: k, reply: func(_ context.Context, c call) (bus.Reply, error) {
		started <- struct{}{}
		<-release
		return bus.Reply{Status: "ok", Body: []byte(`{"ok":true}`)}, nil
	}}
	cfg := edge.Defaults()
	cfg.Addr = "127.0.0.1:0"
	g, err := edge.New(cfg, edge.Deps{RPC: rpc})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	base := "http://" + g.Addr()
	const n = 8
	var wg sync.WaitGroup
	results := make(chan int, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(base + "/api/v1/products/" + productID + "/reviews")
			if err != nil {
				results <- -1
				return
			}
			resp.Body.Close()
			results <- resp.StatusCode
		}()
	}
	for range n {
		<-started
	}
	// A client holding an idle keep-alive connection must not hold up the
	// shutdown.
	idle, err := net.Dial("tcp", g.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if _, err := idle.Write([]byte("GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.ReadResponse(bufio.NewReader(idle), nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("keep-alive request: %v %v", resp, err)
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- g.Shutdown(ctx)
	}()
	// Shutdown closes the listener first: new connections are refused
	// while the accepted requests are still in flight.
	testenv.Eventually(t, "new connections refused during shutdown", func() bool {
		resp, err := http.Get(base + "/api/v1/health")
		if err == nil {
			resp.Body.Close()
		}
		return err != nil
	})
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) with %d accepted requests still in flight", err, n)
	default:
	}
	close(release)
	wg.Wait()
	close(results)
	for code := range results {
		if code != 200 {
			t.Fatalf("an accepted request got %d during shutdown", code)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestShutdownRightAfterStart: a gateway stopped before its server
// goroutine got going still stops, and its port is released.
func TestShutdownRightAfterStart(t *testing.T) {
	t.Parallel()
	keys := tokentest.New(t) // one key set: making one per gateway costs more than the test
	for range 20 {
		cfg := edge.Defaults()
		cfg.Addr = "127.0.0.1:0"
		g, err := edge.New(cfg, edge.Deps{RPC: &fakeRPC{keys: keys}})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = g.Shutdown(ctx)
		cancel()
		if err != nil {
			t.Fatalf("Shutdown right after Start: %v", err)
		}
		ln, err := net.Listen("tcp", g.Addr())
		if err != nil {
			t.Fatalf("port still held after Shutdown: %v", err)
		}
		ln.Close()
	}
}

func TestStartReportsPortInUse(t *testing.T) {
	t.Parallel()
	g1, _ := start(t, edge.Config{Addr: "127.0.0.1:0"}, edge.Deps{RPC: &fakeRPC{keys: tokentest.New(t)}})
	g2, err := edge.New(edge.Config{Addr: g1.Addr()}, edge.Deps{RPC: &fakeRPC{keys: tokentest.New(t)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := g2.Start(context.Background()); err == nil {
		_ = g2.Shutdown(context.Background())
		t.Fatal("Start succeeded on a port in use")
	}
	_ = url.URL{}
}

func TestLiveFromDiscovery(t *testing.T) {
	t.Parallel()
	_, base, _, _ := setup(t)
	cfg, err := discovery.ParseGatewayConfig([]byte(`{"rate_limits":{"login":{"rate":0.5,"burst":2}},"maintenance":false}`))
	if err != nil {
		t.Fatal(err)
	}
	g2, base2, _, _ := setup(t)
	g2.ApplyLive(edge.LiveFromDiscovery(cfg))
	codes := []int{login(t, base2).Status, login(t, base2).Status, login(t, base2).Status}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
		t.Fatalf("burst 2 from the live config: %v", codes)
	}
	if r := login(t, base); r.Status != 200 {
		t.Fatal("another gateway affected")
	}
	cfg, _ = discovery.ParseGatewayConfig([]byte(`{"maintenance":true}`))
	g2.ApplyLive(edge.LiveFromDiscovery(cfg))
	if r := do(t, "GET", base2+"/api/v1/categories", ""); r.Status != 503 {
		t.Fatalf("maintenance from live config: %d", r.Status)
	}
}
