package edge_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/edge"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/internal/token/tokentest"
)

// downJWKS is the fake RPC with the user service's key set unreachable
// while down is set.
type downJWKS struct {
	*fakeRPC
	down  atomic.Bool
	calls atomic.Int64
}

func (d *downJWKS) Call(ctx context.Context, service, method string, body []byte, opt bus.CallOptions) (bus.Reply, error) {
	if method == contracts.MethodUserJWKS {
		d.calls.Add(1)
		if d.down.Load() {
			return bus.Reply{}, contracts.Errorf(contracts.CodeUnavailable, "user service unavailable")
		}
	}
	return d.fakeRPC.Call(ctx, service, method, body, opt)
}

// TestKeySetUnavailable: while the user service cannot hand out its key
// set, signed-in requests and the JWKS document get 503 with Retry-After
// (not 401: the token may be valid), the gateway does not ask the user
// service once per request, and once the key set is back tokens verify.
func TestKeySetUnavailable(t *testing.T) {
	t.Parallel()
	k := tokentest.New(t)
	rpc := &downJWKS{fakeRPC: &fakeRPC{keys: k}}
	rpc.down.Store(true)
	cfg := edge.Defaults()
	cfg.RateDefault, cfg.RateSearch = "off", "off"
	_, base := start(t, cfg, edge.Deps{RPC: rpc})
	tok := k.Sign(t, "u1", contracts.RoleCustomer, time.Hour)
	me := base + "/api/v1/users/me"

	const n = 40
	for i := range n {
		url := me
		if i%2 == 1 {
			url = base + "/api/v1/.well-known/jwks.json"
		}
		hdr := []string{"Authorization", "Bearer " + tok}
		r := do(t, "GET", url, "", hdr...)
		if r.Status != 503 || r.errorCode(t) != contracts.CodeUnavailable {
			t.Fatalf("request %d with the key set unavailable: %d %s", i, r.Status, r.Body)
		}
		if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Fatalf("503 without a usable Retry-After (%q)", ra)
		}
	}
	// The start-up fetch, then at most one per backoff step (1 s, 2 s...)
	// during the loop.
	if c := rpc.calls.Load(); c > 4 {
		t.Fatalf("%d key set fetches for %d requests: not bounded", c, n)
	}

	rpc.down.Store(false)
	testenv.Eventually(t, "signed-in requests served after the user service came back", func() bool {
		r := do(t, "GET", me, "", "Authorization", "Bearer "+tok)
		if r.Status != 200 && r.Status != 503 {
			t.Fatalf("after the user service came back: %d %s", r.Status, r.Body)
		}
		return r.Status == 200
	})
}
