package e2e_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
)

// TestHostileInputIsRefused: NUL bytes, invalid UTF-8 and bidirectional
// override/isolate controls in path parameters, query values and JSON
// strings, duplicate JSON keys and keys that match a field only
// case-insensitively are a 400 invalid_argument through the gateway, the
// same on every service, and nothing is stored.
func TestHostileInputIsRefused(t *testing.T) {
	t.Parallel()
	env := startRoomy(t)
	c := newClient(t, env)
	admin := c.as(adminSession(c).Access)
	seller := signUp(c, "hostile-seller@example.com", contracts.RoleSeller)
	sc := c.as(seller.Access)

	for _, tc := range []struct {
		c          *client
		path, want string
	}{
		{c, "/products?q=a%00b", `query parameter \"q\" contains a NUL byte`},
		{c, "/products?seller=%00", `query parameter \"seller\" contains a NUL byte`},
		{c, "/products?q=a%FFb", `query parameter \"q\" is not valid UTF-8`},
		{c, "/products?q=a%E2%80%AEb", `query parameter \"q\" contains the bidirectional control character U+202e`},
		{c, "/products/by-slug/a%00b", `path parameter \"slug\" contains a NUL byte`},
		{c, "/products/by-slug/a%E2%81%A7b", `path parameter \"slug\" contains the bidirectional control character U+2067`},
		{admin, "/admin/users?q=a%00b", `query parameter \"q\" contains a NUL byte`},
	} {
		r := tc.c.do("GET", tc.path, nil)
		if r.Status != http.StatusBadRequest || r.ErrCode() != "invalid_argument" || !strings.Contains(string(r.Body), tc.want) {
			t.Errorf("GET %s: %s, want 400 with %s", tc.path, r, tc.want)
		}
	}

	// JSON bodies: user service (register).
	for i, tc := range []struct{ body, want string }{
		{`{"email":"%s","password":"` + testPassword + `","name":"a\u202egnp.exe"}`, `field \"name\" contains the bidirectional control character U+202e`},
		{"{\"email\":\"%s\",\"password\":\"" + testPassword + "\",\"name\":\"a\u2066b\"}", `field \"name\" contains the bidirectional control character U+2066`},
		{`{"email":"%s","password":"` + testPassword + `","name":"a\u0000b"}`, `field \"name\" contains a NUL character`},
		{"{\"email\":\"%s\",\"password\":\"" + testPassword + "\",\"name\":\"a\xffb\"}", `not valid UTF-8`},
		{`{"email":"%s","password":"` + testPassword + `","NAME":"Shouting"}`, `unknown field \"NAME\" (field names are case-sensitive)`},
		{`{"email":"%s","password":"` + testPassword + `","name":"First","name":"Second"}`, `duplicate key \"name\"`},
		{`{"email":"%s","password":"` + testPassword + `","name":"x","role":"customer","role":"seller"}`, `duplicate key \"role\"`},
	} {
		email := fmt.Sprintf("hostile-%d@example.com", i)
		r := c.do("POST", "/auth/register", fmt.Sprintf(tc.body, email))
		if r.Status != http.StatusBadRequest || r.ErrCode() != "invalid_argument" || !strings.Contains(string(r.Body), tc.want) {
			t.Errorf("register body %d: %s, want 400 with %s", i, r, tc.want)
		}
		// Nothing stored: the same email registers cleanly afterwards.
		c.must(http.StatusCreated, "POST", "/auth/register",
			map[string]string{"email": email, "password": testPassword, "name": "Clean"})
	}

	// JSON bodies: product service (create), the same rules.
	for i, tc := range []struct{ body, want string }{
		{`{"name":"Lamp","name":"Lamp 2","description":"d","price":{"amount":100,"currency":"EUR"}}`, `duplicate key \"name\"`},
		{`{"Name":"Lamp","description":"d","price":{"amount":100,"currency":"EUR"}}`, `unknown field \"Name\" (field names are case-sensitive)`},
		{`{"name":"Lamp\u202e","description":"d","price":{"amount":100,"currency":"EUR"}}`, `field \"name\" contains the bidirectional control character U+202e`},
		{`{"name":"Lamp","description":"a\u0000b","price":{"amount":100,"currency":"EUR"}}`, `field \"description\" contains a NUL character`},
	} {
		r := sc.do("POST", "/products", tc.body)
		if r.Status != http.StatusBadRequest || r.ErrCode() != "invalid_argument" || !strings.Contains(string(r.Body), tc.want) {
			t.Errorf("product body %d: %s, want 400 with %s", i, r, tc.want)
		}
	}
	var list contracts.List[contracts.Product]
	sc.must(http.StatusOK, "GET", "/products?seller="+seller.ID, nil).JSON(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("refused product bodies stored %d products", len(list.Items))
	}
}
