package edge_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/edge"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/bus/bustest"
	"github.com/opencommerce/opencommerce/internal/token/tokentest"
)

// TestThroughRabbitMQ routes requests to real RPC services over the real
// broker: an echo service that reports what it received, a slow one, a
// failing one, and a service nobody serves.
func TestThroughRabbitMQ(t *testing.T) {
	t.Parallel()
	conn, _ := bustest.Conn(t)
	rpc := bustest.Client(t, conn, bus.ClientConfig{})
	k := tokentest.New(t)
	type seen struct {
		Method    string             `json:"method"`
		Actor     contracts.Actor    `json:"actor"`
		RequestID string             `json:"request_id"`
		Env       contracts.Envelope `json:"env"`
	}
	echo := func(_ context.Context, req *bus.Request) (any, error) {
		var env contracts.Envelope
		if err := json.Unmarshal(req.Body, &env); err != nil {
			return nil, contracts.InvalidArgument("", "envelope: %v", err)
		}
		return seen{Method: req.Method, Actor: req.Actor, RequestID: req.RequestID, Env: env}, nil
	}
	bustest.Serve(t, conn, bus.ServerConfig{Service: "user"}, map[string]bus.Handler{
		contracts.MethodUserJWKS:  func(context.Context, *bus.Request) (any, error) { return json.RawMessage(k.JWKS()), nil },
		contracts.MethodUserMeGet: echo,
		contracts.MethodUserLogin: echo,
		contracts.MethodUserMeUpdate: func(context.Context, *bus.Request) (any, error) {
			return nil, contracts.Errorf(contracts.CodeConflict, "email taken")
		},
	})
	bustest.Serve(t, conn, bus.ServerConfig{Service: "product"}, map[string]bus.Handler{
		contracts.MethodProductGet: echo,
		contracts.MethodProductCategoriesTree: func(ctx context.Context, _ *bus.Request) (any, error) {
			select { // slower than the route's timeout
			case <-ctx.Done():
			case <-time.After(3 * time.Second):
			}
			return map[string]any{}, nil
		},
	})

	cfg := edge.Defaults()
	cfg.Addr = "127.0.0.1:0"
	cfg.RouteTimeout = 300 * time.Millisecond
	_, base := start(t, cfg, edge.Deps{RPC: rpc})

	tok := k.Sign(t, "u42", contracts.RoleCustomer, time.Hour)
	r := do(t, "GET", base+"/api/v1/users/me", "", "Authorization", "Bearer "+tok, "X-Request-ID", "rid-1",
		"X-Actor-Id", "admin", "X-Actor-Role", "admin")
	var s seen
	if r.Status != 200 || json.Unmarshal(r.Body, &s) != nil {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if s.Method != contracts.MethodUserMeGet || s.Actor != (contracts.Actor{ID: "u42", Role: contracts.RoleCustomer}) || s.RequestID != "rid-1" {
		t.Fatalf("service saw %+v", s)
	}

	r = do(t, "POST", base+"/api/v1/auth/login", `{"email":"a@b.c"}`, "Content-Type", "application/json", "X-Actor-Id", "admin", "X-Actor-Role", "admin")
	s = seen{}
	if r.Status != 200 || json.Unmarshal(r.Body, &s) != nil {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if !s.Actor.Anonymous() || s.Actor.Role != "" || string(s.Env.Body) != `{"email":"a@b.c"}` {
		t.Fatalf("login: service saw %+v", s)
	}

	r = do(t, "GET", base+"/api/v1/products/"+productID, "")
	s = seen{}
	if r.Status != 200 || json.Unmarshal(r.Body, &s) != nil || s.Env.Params.Get("id") != productID {
		t.Fatalf("%d %s", r.Status, r.Body)
	}

	if r := do(t, "PATCH", base+"/api/v1/users/me", `{}`, "Content-Type", "application/json", "Authorization", "Bearer "+tok); r.Status != 409 || r.errorCode(t) != contracts.CodeConflict {
		t.Fatalf("conflict: %d %s", r.Status, r.Body)
	}
	if r := do(t, "GET", base+"/api/v1/categories", ""); r.Status != 504 || r.errorCode(t) != contracts.CodeDeadlineExceeded {
		t.Fatalf("slow service: %d %s", r.Status, r.Body)
	}
	// Nobody serves order: unavailable at once (mandatory publish returned).
	if r := do(t, "GET", base+"/api/v1/cart", "", "Authorization", "Bearer "+tok); r.Status != 503 || r.errorCode(t) != contracts.CodeUnavailable {
		t.Fatalf("unserved service: %d %s", r.Status, r.Body)
	}
	// The JWKS endpoint serves the user service's keys.
	var set contracts.JWKS
	if r := do(t, "GET", base+"/api/v1/.well-known/jwks.json", ""); r.Status != 200 || json.Unmarshal(r.Body, &set) != nil || len(set.Keys) != 1 || set.Keys[0].Kid != k.Kid() {
		t.Fatalf("jwks: %d %s", r.Status, r.Body)
	}
}
