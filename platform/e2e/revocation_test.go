package e2e_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/platform"
	"github.com/opencommerce/opencommerce/platform/platformtest"
)

// revokeWithin bounds the wait for a revocation to reach a gateway (it
// takes milliseconds; the bound only keeps a broken build from hanging).
const revokeWithin = 10 * time.Second

// extraGateway starts another gateway instance on a's broker vhost and NATS,
// serving a's services, as a scaled-out deployment does.
func extraGateway(t *testing.T, a *platformtest.Env) *platformtest.Env {
	t.Helper()
	return platformtest.Start(t, platformtest.Options{Targets: "gateway", AMQPURL: a.AMQPURL, WideRateLimits: true,
		Tweak: func(c *platform.Config) { c.NATS.URL, c.NATS.Prefix = a.Config.NATS.URL, a.Config.NATS.Prefix }})
}

// sessionEnded reports whether r is the 401 of a revoked session, with the
// message telling the user to sign in again. Any other answer (a success,
// a business refusal, the 503 of a gateway still loading revocations)
// means the token was not refused (yet).
func sessionEnded(t testing.TB, r response) bool {
	t.Helper()
	if r.Status != http.StatusUnauthorized {
		return false
	}
	if !strings.Contains(string(r.Body), "session has ended") || !strings.Contains(string(r.Body), "sign in again") {
		t.Errorf("401 without the session-ended message: %s", r)
	}
	if !strings.Contains(r.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("401 without WWW-Authenticate invalid_token: %v", r.Header)
	}
	return true
}

// awaitRevoked waits until every request (method, path, body) by the
// revoked client on every gateway answers the session-ended 401.
func awaitRevoked(t *testing.T, token string, gateways []*client, reqs ...func(c *client) response) {
	t.Helper()
	for _, g := range gateways {
		c := g.as(token)
		for _, req := range reqs {
			testenv.EventuallyWithin(t, revokeWithin, "revoked token refused on "+c.base, func() bool { return sessionEnded(t, req(c)) })
		}
	}
}

func get(path string) func(c *client) response {
	return func(c *client) response { return c.do("GET", path, nil) }
}

func send2(method, path string, body any) func(c *client) response {
	return func(c *client) response { return c.do(method, path, body) }
}

// TestRevocationReachesEveryGateway: disabling a user, demoting a seller, a
// password change and "log out everywhere" void the tokens already held on
// every route of every gateway instance (two serving, a third started
// after the revocation loads it), with a 401 telling the user to sign in
// again, and end their open notification streams; refresh tokens die too;
// tokens issued after the revocation (in the same second, too) work at
// once.
func TestRevocationReachesEveryGateway(t *testing.T) {
	t.Parallel()
	a := startShop(t)
	b := extraGateway(t, a)
	ca, cb := newClient(t, a), newClient(t, b)
	both := []*client{ca, cb}
	adm := ca.as(adminSession(ca).Access)
	cat := newCategory(adm, "Revocation", "")
	sellerA, _ := account(ca, "seller")
	lamp := newProduct(sellerA, "Revoked Lamp", cat.ID, 1200, 50)

	t.Run("disable", func(t *testing.T) {
		buyer, s := account(ca, "")
		buyerB := cb.as(s.Access)
		buyer.must(http.StatusOK, "PUT", "/cart/items/"+lamp.ID, map[string]any{"quantity": 1})
		buyerB.must(http.StatusOK, "GET", "/cart", nil)
		adm.must(http.StatusOK, "PATCH", "/admin/users/"+s.ID, map[string]any{"disabled": true})
		awaitRevoked(t, s.Access, both, get("/cart"),
			send2("PUT", "/cart/items/"+lamp.ID, map[string]any{"quantity": 2}),
			send2("POST", "/products/"+lamp.ID+"/reviews", map[string]any{"rating": 5, "title": "Great", "body": "Really great lamp."}),
			send2("POST", "/orders", map[string]any{}))
		if r := ca.do("POST", "/auth/refresh", map[string]string{"refresh_token": s.Refresh}); r.Status < 400 {
			t.Errorf("refresh of a disabled user: %s", r)
		}
		// A gateway started after the revocation never saw its event: it
		// loads the cut-offs on start.
		cc := newClient(t, extraGateway(t, a)).as(s.Access)
		testenv.EventuallyWithin(t, revokeWithin, "revoked token refused by a gateway started later", func() bool { return sessionEnded(t, cc.do("GET", "/cart", nil)) })
	})

	t.Run("demote seller", func(t *testing.T) {
		sc, s := account(ca, "seller")
		newProduct(sc, "Before Demotion", cat.ID, 500, 1)
		adm.must(http.StatusOK, "PATCH", "/admin/users/"+s.ID, map[string]any{"role": "customer"})
		awaitRevoked(t, s.Access, both, send2("POST", "/products", map[string]any{
			"name": "After Demotion", "description": "Should never exist.", "category_id": cat.ID,
			"price": money{Amount: 100, Currency: "USD"}, "stock": 1}))
		// Signing in again gives the new role, at once on both gateways.
		again := signIn(ca, s.Email, s.Pass)
		if again.Role != "customer" {
			t.Fatalf("signed in again as %q", again.Role)
		}
		for _, g := range both {
			wantError(t, g.as(again.Access).do("POST", "/products", map[string]any{"name": "x"}), http.StatusForbidden, "permission_denied")
			g.as(again.Access).must(http.StatusOK, "GET", "/cart", nil)
		}
	})

	t.Run("password change", func(t *testing.T) {
		c, s := account(ca, "")
		other := signIn(cb, s.Email, s.Pass) // a second session, through B
		cb.as(other.Access).must(http.StatusNoContent, "PUT", "/users/me/password",
			map[string]string{"current_password": s.Pass, "new_password": "Another-Horse-42"})
		awaitRevoked(t, s.Access, both, get("/cart"), get("/users/me/addresses"))
		awaitRevoked(t, other.Access, both, get("/cart"))
		wantError(t, c.do("POST", "/auth/refresh", map[string]string{"refresh_token": s.Refresh}), http.StatusUnauthorized, "unauthenticated")
		fresh := signIn(cb, s.Email, "Another-Horse-42")
		for _, g := range both {
			g.as(fresh.Access).must(http.StatusOK, "GET", "/cart", nil)
		}
	})

	t.Run("log out everywhere", func(t *testing.T) {
		_, s := account(cb, "")
		second := signIn(ca, s.Email, s.Pass)
		// A notification stream open on the other gateway is ended too:
		// it outlives the check of the token that opened it.
		stream := openSSE(cb.as(s.Access), "")
		ca.as(second.Access).must(http.StatusNoContent, "POST", "/auth/logout-all", nil)
		stream.until(t, "the stream's close for the ended session", func(ev sseEvent) bool {
			return ev.Event == "close" && strings.Contains(ev.Data, "session_ended")
		})
		// Signed in again in (most likely) the same second as the
		// revocation: the new token works at once everywhere.
		fresh := signIn(ca, s.Email, s.Pass)
		for _, g := range both {
			g.as(fresh.Access).must(http.StatusOK, "GET", "/cart", nil)
		}
		awaitRevoked(t, s.Access, both, get("/cart"), get("/notifications"))
		awaitRevoked(t, second.Access, both, get("/users/me"))
		for _, refresh := range []string{s.Refresh, second.Refresh} {
			wantError(t, cb.do("POST", "/auth/refresh", map[string]string{"refresh_token": refresh}), http.StatusUnauthorized, "unauthenticated")
		}
		for _, g := range both {
			g.as(fresh.Access).must(http.StatusOK, "GET", "/users/me", nil)
		}
	})
}
