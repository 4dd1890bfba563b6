package e2e_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/platform/platformtest"
)

// TestUnknownQueryParameterIsRefused: a query parameter the route does not
// declare is a 400 naming it on every route (anonymous or signed in), not
// silently ignored; the declared ones keep working.
func TestUnknownQueryParameterIsRefused(t *testing.T) {
	t.Parallel()
	env := platformtest.Start(t, platformtest.Options{})
	c := newClient(t, env)
	tok, _ := c.register("query@example.com", "")
	me := c.as(tok)
	for _, tc := range []struct {
		c    *client
		path string
		name string
	}{
		{c, "/products?categroy=lamps", "categroy"},
		{c, "/products?q=lamp&page_size=5", "page_size"},
		{c, "/categories?depth=2", "depth"},
		{me, "/users/me?fields=email", "fields"},
		{me, "/orders?limit=5&state=paid", "state"},
		{me, "/notifications?unread=true&since=1", "since"},
	} {
		r := tc.c.do("GET", tc.path, nil)
		if r.Status != http.StatusBadRequest || r.ErrCode() != "invalid_argument" || !strings.Contains(string(r.Body), `\"`+tc.name+`\"`) {
			t.Errorf("GET %s: %s, want 400 naming %q", tc.path, r, tc.name)
		}
	}
	c.must(http.StatusOK, "GET", "/products?q=lamp&limit=5", nil)
	me.must(http.StatusOK, "GET", "/orders?limit=5&status=paid", nil)
}
