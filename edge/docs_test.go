package edge_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/opencommerce/opencommerce/edge"
)

// TestDocsPage: the reference page and its script come from the gateway
// (no other origin), with their types, caching and a self-only policy.
func TestDocsPage(t *testing.T) {
	t.Parallel()
	_, base, _, _ := setup(t)
	page := do(t, "GET", base+"/api/v1/docs", "")
	if page.Status != 200 || page.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("docs page: %d %q", page.Status, page.Header.Get("Content-Type"))
	}
	if cc := page.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("docs page Cache-Control %q: the page must be revalidated (it names the script's current path)", cc)
	}
	csp := page.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "worker-src blob:",
		"frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "http") {
		t.Errorf("CSP %q allows eval or another origin", csp)
	}
	html := string(page.Body)
	if !strings.Contains(html, `spec-url="/api/v1/openapi.json"`) {
		t.Errorf("the page does not render the served document: %s", html)
	}
	// Every script and link is a path on this gateway, and there is no
	// inline script (the policy would block it).
	srcs := regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(html, -1)
	var script string
	for _, m := range srcs {
		if !strings.HasPrefix(m[1], "/") || strings.HasPrefix(m[1], "//") {
			t.Errorf("the page loads %q from elsewhere", m[1])
		}
		if strings.HasSuffix(m[1], ".js") {
			script = m[1]
		}
	}
	if n := strings.Count(html, "<script"); n != 1 || script == "" || script != edge.DocsAssetPath() {
		t.Fatalf("want one external script at %s, page has %d (%q)", edge.DocsAssetPath(), n, script)
	}

	// The script: immutable under its hashed path, gzipped when asked.
	gz := do(t, "GET", base+script, "", "Accept-Encoding", "gzip, br")
	if gz.Status != 200 || gz.Header.Get("Content-Type") != "text/javascript; charset=utf-8" ||
		gz.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("script: %d %q %q", gz.Status, gz.Header.Get("Content-Type"), gz.Header.Get("Content-Encoding"))
	}
	if cc := gz.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
		t.Errorf("script Cache-Control %q", cc)
	}
	if !strings.Contains(gz.Header.Get("Vary"), "Accept-Encoding") {
		t.Errorf("script Vary %q", gz.Header.Get("Vary"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz.Body))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	plain := do(t, "GET", base+script, "", "Accept-Encoding", "identity")
	if plain.Header.Get("Content-Encoding") != "" || !bytes.Equal(plain.Body, unzipped) {
		t.Errorf("plain script: encoding %q, %d bytes (gzipped: %d)", plain.Header.Get("Content-Encoding"), len(plain.Body),
			len(unzipped))
	}
	if !bytes.Contains(plain.Body, []byte("Redoc")) || len(plain.Body) < 100<<10 {
		t.Errorf("the script is not the Redoc bundle (%d bytes)", len(plain.Body))
	}
	if r := do(t, "GET", base+"/api/v1/docs/redoc.standalone.000000000000.js", ""); r.Status != 404 {
		t.Errorf("another bundle name: %d", r.Status)
	}
	if r := do(t, "HEAD", base+script, ""); r.Status != 200 || len(r.Body) != 0 {
		t.Errorf("HEAD script: %d, %d bytes", r.Status, len(r.Body))
	}
	if r := do(t, "POST", base+script, ""); r.Status != 405 || r.errorCode(t) != "method_not_allowed" {
		t.Errorf("POST script: %d", r.Status)
	}
}

// TestHomeAndHealthOnThePublicPort: / links to the docs, the document and
// health (HTML, or JSON when asked); /health and /readyz answer where an
// operator looks, /readyz from the platform's readiness.
func TestHomeAndHealthOnThePublicPort(t *testing.T) {
	t.Parallel()
	type state struct {
		ready  bool
		checks map[string]string
	}
	var st atomic.Pointer[state]
	st.Store(&state{true, map[string]string{"amqp": "ok", "redis": "ok"}})
	g, base, _, _ := setup(t, func(_ *edge.Config, d *edge.Deps) {
		d.Ready = func(context.Context) (bool, map[string]string) { s := st.Load(); return s.ready, s.checks }
	})
	home := do(t, "GET", base+"/", "", "Accept", "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8")
	if home.Status != 200 || home.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("home: %d %q %s", home.Status, home.Header.Get("Content-Type"), home.Body)
	}
	for _, link := range []string{`href="/api/v1/docs"`, `href="/api/v1/openapi.json"`, `href="/health"`, `href="/readyz"`,
		"/api/v1/auth/login", "Authorization: Bearer"} {
		if !bytes.Contains(home.Body, []byte(link)) {
			t.Errorf("home page lacks %s", link)
		}
	}
	if csp := home.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("home CSP %q", csp)
	}
	for _, accept := range []string{"application/json", "application/json, */*"} {
		j := do(t, "GET", base+"/", "", "Accept", accept)
		var v struct {
			Links map[string]string `json:"links"`
		}
		if j.Status != 200 || j.Header.Get("Content-Type") != "application/json" || json.Unmarshal(j.Body, &v) != nil ||
			v.Links["docs"] != "/api/v1/docs" || v.Links["openapi"] != "/api/v1/openapi.json" || v.Links["health"] != "/health" {
			t.Errorf("home as JSON (Accept %s): %d %q %s", accept, j.Status, j.Header.Get("Content-Type"), j.Body)
		}
	}

	h := do(t, "GET", base+"/health", "")
	if h.Status != 200 || string(h.Body) != `{"status":"ok"}` {
		t.Errorf("/health: %d %s", h.Status, h.Body)
	}
	r := do(t, "GET", base+"/readyz", "")
	if r.Status != 200 || !strings.Contains(string(r.Body), `"ready":true`) {
		t.Errorf("/readyz: %d %s", r.Status, r.Body)
	}
	st.Store(&state{false, map[string]string{"amqp": "dial tcp 10.0.0.7:5672: connection refused", "redis": "ok"}})
	r = do(t, "GET", base+"/readyz", "")
	if r.Status != 503 || !strings.Contains(string(r.Body), `"amqp":"failing"`) || strings.Contains(string(r.Body), "10.0.0.7") {
		t.Errorf("/readyz, not ready: %d %s (want 503, the failing check named, no internal detail)", r.Status, r.Body)
	}
	// Maintenance closes the API, not these.
	g.SetMaintenance(true)
	for _, p := range []string{"/", "/health"} {
		if r := do(t, "GET", base+p, ""); r.Status != 200 {
			t.Errorf("%s in maintenance: %d", p, r.Status)
		}
	}
	g.SetMaintenance(false)
	if r := do(t, "DELETE", base+"/health", ""); r.Status != 405 || r.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("DELETE /health: %d %q", r.Status, r.Header.Get("Allow"))
	}
	if r := do(t, "GET", base+"/nothing-here", ""); r.Status != 404 || r.errorCode(t) != "not_found" {
		t.Errorf("unknown path: %d", r.Status)
	}
}

// TestEmailLinkPages: the paths the notification emails link to answer a
// small page (until the storefront serves them) that names the order of
// the link and how to see it, and echoes nothing else; other paths under
// them stay 404.
func TestEmailLinkPages(t *testing.T) {
	t.Parallel()
	_, base, _, _ := setup(t)
	const id = "0190b5a2-7c1e-7f00-8000-000000000000"
	for path, want := range map[string][]string{
		"/orders/" + id:     {id, "/api/v1/orders/" + id, `href="/api/v1/docs"`, "/api/v1/auth/login"},
		"/orders/100042":    {"100042", "/api/v1/orders/100042"},
		"/orders/%23100042": {"#100042"},
		"/seller/orders":    {"/api/v1/seller/orders", `href="/api/v1/docs"`},
		"/seller/returns":   {"/api/v1/seller/returns", `href="/api/v1/docs"`},
	} {
		r := do(t, "GET", base+path, "")
		if r.Status != 200 || r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("GET %s: %d %q, want 200 HTML", path, r.Status, r.Header.Get("Content-Type"))
			continue
		}
		for _, w := range want {
			if !bytes.Contains(r.Body, []byte(w)) {
				t.Errorf("GET %s lacks %s", path, w)
			}
		}
		if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("GET %s CSP %q", path, csp)
		}
	}
	for _, path := range []string{"/orders/", "/orders/a/b", "/orders/%3Cscript%3E", "/orders/" + strings.Repeat("9", 65), "/seller/other"} {
		if r := do(t, "GET", base+path, ""); r.Status != 404 {
			t.Errorf("GET %s: %d, want 404", path, r.Status)
		}
	}
	if r := do(t, "POST", base+"/orders/"+id, ""); r.Status != 405 || r.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /orders/{id}: %d %q, want 405", r.Status, r.Header.Get("Allow"))
	}
}
