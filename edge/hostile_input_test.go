package edge_test

import (
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
)

// TestHostileParametersRefused: a NUL byte, invalid UTF-8 or a
// bidirectional override/isolate control in a path parameter or a query
// value is a 400 naming the parameter, on every route, before the service.
func TestHostileParametersRefused(t *testing.T) {
	t.Parallel()
	_, base, rpc, _ := setup(t)
	for _, tc := range []struct{ path, want string }{
		{"/products?q=a%00b", `query parameter "q" contains a NUL byte`},
		{"/products?seller=%00", `query parameter "seller" contains a NUL byte`},
		{"/products?q=a%FFb", `query parameter "q" is not valid UTF-8`},
		{"/products?q=a%E2%80%AEb", `query parameter "q" contains the bidirectional control character U+202e`},
		{"/products?q=%E2%81%A6x", `query parameter "q" contains the bidirectional control character U+2066`},
		{"/products/by-slug/a%00b", `path parameter "slug" contains a NUL byte`},
		{"/products/by-slug/a%C3", `path parameter "slug" is not valid UTF-8`},
		{"/products/by-slug/a%E2%80%AAb", `path parameter "slug" contains the bidirectional control character U+202a`},
	} {
		r := do(t, "GET", base+"/api/v1"+tc.path, "")
		if r.Status != 400 || r.errorCode(t) != contracts.CodeInvalidArgument || !strings.Contains(string(r.Body), strings.ReplaceAll(tc.want, `"`, `\"`)) {
			t.Errorf("GET %s: %d %s, want 400 with %s", tc.path, r.Status, r.Body, tc.want)
		}
	}
	if n := rpc.count(); n != 0 {
		t.Fatalf("%d refused requests reached a service", n)
	}
	// Clean text, non-ASCII included, passes.
	r := do(t, "GET", base+"/api/v1/products?q=caf%C3%A9+%E6%97%A5%E6%9C%AC", "")
	if r.Status != 200 {
		t.Fatalf("clean query: %d %s", r.Status, r.Body)
	}
	if got := rpc.last(t).Env.Params.Get("q"); got != "café 日本" {
		t.Fatalf("params.q = %q", got)
	}
}

// TestUserAgentIsCleanedForServices: a User-Agent with a bidirectional
// control reaches the service as U+FFFD, so the services' decoder (which
// refuses such text) never refuses a request for its User-Agent.
func TestUserAgentIsCleanedForServices(t *testing.T) {
	t.Parallel()
	_, base, rpc, _ := setup(t)
	r := do(t, "GET", base+"/api/v1/products", "", "User-Agent", "evil\u202eagent")
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if got := rpc.last(t).Env.Meta["user_agent"]; got != "evil\ufffdagent" {
		t.Fatalf("meta.user_agent = %q", got)
	}
}
