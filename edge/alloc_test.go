package edge_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/edge"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/token/tokentest"
)

// staticRPC answers every call with a fixed body and allocates nothing,
// so allocation counts through it are the gateway's own.
type staticRPC struct{ body []byte }

func (s staticRPC) Call(context.Context, string, string, []byte, bus.CallOptions) (bus.Reply, error) {
	return bus.Reply{Status: "ok", Body: s.body}, nil
}

var reviewsBody = []byte(`{"items":[{"id":"r1","rating":5,"text":"Great bottle"}],"next":""}`)

func uncachedGateway(tb testing.TB) (*edge.Gateway, *fasthttp.RequestCtx) {
	tb.Helper()
	cfg := edge.Defaults()
	cfg.RateDefault, cfg.RateSearch = "off", "off"
	g, err := edge.New(cfg, edge.Deps{RPC: staticRPC{reviewsBody}})
	if err != nil {
		tb.Fatal(err)
	}
	ctx := new(fasthttp.RequestCtx)
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.SetRequestURI("/api/v1/products/" + productID + "/reviews?limit=20")
	ctx.Request.Header.Set("User-Agent", "edge-alloc-test/1.0")
	return g, ctx
}

// TestUncachedReadAllocations guards the gateway's own allocations on an
// uncached public GET (route match, envelope, RPC call options, reply
// write, metrics); the RPC client's are guarded in internal/bus.
func TestUncachedReadAllocations(t *testing.T) {
	g, ctx := uncachedGateway(t)
	serve := func() {
		ctx.Response.Reset()
		g.Handler(ctx)
	}
	serve()
	if ctx.Response.StatusCode() != 200 || string(ctx.Response.Body()) != string(reviewsBody) {
		t.Fatalf("status %d body %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	allocs := testing.AllocsPerRun(2000, serve)
	t.Logf("uncached GET: %.1f allocations", allocs)
	if allocs > uncachedAllocBudget {
		t.Fatalf("uncached GET allocates %.1f times, budget %d", allocs, uncachedAllocBudget)
	}
}

// 6 measured without -race (one of them the router's copy of the path
// parameter, match.go); under the race detector there is one more.
const uncachedAllocBudget = 7

// BenchmarkUncachedRead: go test ./edge -run '^$' -bench UncachedRead
func BenchmarkUncachedRead(b *testing.B) {
	g, ctx := uncachedGateway(b)
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		g.Handler(ctx)
	}
}

// TestSignedInReadAllocations guards a signed-in uncached GET, with session
// revocations installed. The difference from the anonymous path (the
// token's string, the verification's deadline context, the actor's RPC
// headers) predates revocations; the session check itself allocates
// nothing (edge/auth TestSignedInCheckDoesNotAllocate).
func TestSignedInReadAllocations(t *testing.T) {
	k := tokentest.New(t)
	cfg := edge.Defaults()
	cfg.RateDefault, cfg.RateSearch = "off", "off"
	g, err := edge.New(cfg, edge.Deps{RPC: staticRPC{reviewsBody},
		JWKS: func(context.Context) ([]byte, error) { return k.JWKS(), nil }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		g.Verifier().Revoke(fmt.Sprintf("user-%d", i), time.Now())
	}
	ctx := new(fasthttp.RequestCtx)
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.SetRequestURI("/api/v1/products/" + productID + "/reviews?limit=20")
	ctx.Request.Header.Set("Authorization", "Bearer "+k.Sign(t, "u1", contracts.RoleCustomer, time.Hour))
	serve := func() {
		ctx.Response.Reset()
		g.Handler(ctx)
	}
	serve()
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("status %d body %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	allocs := testing.AllocsPerRun(2000, serve)
	t.Logf("signed-in GET: %.1f allocations", allocs)
	if allocs > signedInAllocBudget {
		t.Fatalf("signed-in GET allocates %.1f times, budget %d", allocs, signedInAllocBudget)
	}
}

// 11 measured without -race (one of them the router's copy of the path
// parameter, match.go); under the race detector there is one more.
const signedInAllocBudget = 12
