package e2e_test

import (
	"net/http"
	"testing"

	"github.com/opencommerce/opencommerce/platform/platformtest"
)

// The platform starts, the gateway routes to the user service, and a user
// can register, sign in and read their profile.
func TestAccountThroughGateway(t *testing.T) {
	t.Parallel()
	env := platformtest.Start(t, platformtest.Options{})
	c := newClient(t, env)
	tok, id := c.register("ada@example.com", "")
	me := c.as(tok).must(http.StatusOK, "GET", "/users/me", nil).Map(t)
	if me["id"] != id || me["email"] != "ada@example.com" {
		t.Fatalf("profile = %v", me)
	}
	if r := c.do("GET", "/users/me", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("no token: %s", r)
	}
}
