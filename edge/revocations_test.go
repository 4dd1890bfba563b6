package edge_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/edge"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/bus/bustest"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/internal/token/tokentest"
)

// TestRevocationFeedSurvivesReconnect runs the gateway's revocation feed on
// the real broker: an event revokes a session at once; a revocation made
// while the gateway's connection was down (its event never seen) is loaded
// by user.revocations when the connection is back, so the token is refused
// anyway, and unrevoked tokens work again.
func TestRevocationFeedSurvivesReconnect(t *testing.T) {
	t.Parallel()
	gwConn, url := bustest.Conn(t)
	svcConn := bustest.Dial(t, url)
	rpc := bustest.Client(t, gwConn, bus.ClientConfig{})
	k := tokentest.New(t)
	var (
		mu      sync.Mutex
		revoked []contracts.Revocation // what user.revocations answers
		loads   atomic.Int64
	)
	bustest.Serve(t, svcConn, bus.ServerConfig{Service: "user"}, map[string]bus.Handler{
		contracts.MethodUserJWKS: func(context.Context, *bus.Request) (any, error) { return json.RawMessage(k.JWKS()), nil },
		contracts.MethodUserRevocations: func(_ context.Context, r *bus.Request) (any, error) {
			if !r.Actor.IsService() {
				return nil, contracts.PermissionDenied("service callers only")
			}
			loads.Add(1)
			mu.Lock()
			defer mu.Unlock()
			return contracts.RevocationsReply{Items: append([]contracts.Revocation{}, revoked...)}, nil
		},
		contracts.MethodUserMeGet: func(context.Context, *bus.Request) (any, error) { return map[string]string{}, nil },
	})
	pub, err := bus.NewPublisher(svcConn, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()

	cfg := edge.Defaults()
	cfg.Addr = "127.0.0.1:0"
	_, base := start(t, cfg, edge.Deps{RPC: rpc, Broker: gwConn})
	me := func(sub string) response {
		return do(t, "GET", base+"/api/v1/users/me", "", "Authorization", "Bearer "+k.Sign(t, sub, contracts.RoleCustomer, time.Hour))
	}
	ended := func(r response) bool {
		return r.Status == 401 && strings.Contains(string(r.Body), "session has ended")
	}
	u1, u2, u3 := uuid.NewString(), uuid.NewString(), uuid.NewString()
	testenv.Eventually(t, "tokens accepted once the revocations are loaded", func() bool { return me(u1).Status == 200 })

	data, _ := json.Marshal(contracts.UserSessionsRevoked{
		Revocation: contracts.Revocation{UserID: u1, RevokedBefore: time.Now()}, Reason: contracts.RevokeLogoutAll})
	if err := pub.Publish(context.Background(), contracts.Event{ID: uuid.NewString(), Type: contracts.EventUserSessionsRevoked,
		OccurredAt: time.Now(), Data: data}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the event revokes u1", func() bool { return ended(me(u1)) })
	if r := me(u2); r.Status != 200 {
		t.Fatalf("u2 after u1's revocation: %d %s", r.Status, r.Body)
	}

	// u2 is revoked while the gateway cannot hear it: no event, only the
	// user service's record.
	before := loads.Load()
	mu.Lock()
	revoked = append(revoked, contracts.Revocation{UserID: u2, RevokedBefore: time.Now()})
	mu.Unlock()
	if n := testenv.CloseAMQPConnections(t, testenv.VHost(url)); n == 0 {
		t.Fatal("no broker connection closed")
	}
	testenv.Eventually(t, "u2 refused after the reconnect", func() bool { return ended(me(u2)) })
	if loads.Load() <= before {
		t.Fatal("revocations not loaded again after the reconnect")
	}
	testenv.Eventually(t, "u3 accepted after the reconnect", func() bool { return me(u3).Status == 200 })
	if !ended(me(u1)) {
		t.Fatal("u1's revocation forgotten over the reconnect")
	}
}
