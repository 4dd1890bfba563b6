package edge

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opencommerce/opencommerce/contracts"
)

// The gateway's pages outside the API (served when no API route matches):
//
//	GET /         the home page below (until the storefront takes its place)
//	GET /health   the gateway is alive (as GET /api/v1/health)
//	GET /readyz   the process can serve: Deps.Ready, the report of the admin port's /readyz
//	GET /api/v1/docs/redoc.<hash>.js   the reference page's script
//	GET /orders/{id}, /seller/orders, /seller/returns   where the emails link (pages below)
//
// They answer GET and HEAD (405 otherwise) and are served in maintenance
// mode too; none is rate limited.

// Ready reports whether the process can serve and the state of each of
// its checks ("ok" or why not). The platform passes its readiness registry
// (what the admin port's /readyz reports).
type Ready func(ctx context.Context) (ready bool, checks map[string]string)

// serveSite serves the pages outside the route table; false when path is
// not one of them.
func (g *Gateway) serveSite(ctx *fasthttp.RequestCtx) bool {
	var h func(*fasthttp.RequestCtx)
	switch p := string(ctx.Path()); p {
	case "/":
		h = serveHome
	case "/health":
		h = func(ctx *fasthttp.RequestCtx) { g.serveHealth(ctx, nil) }
	case "/readyz":
		h = g.serveReady
	default:
		if p == redoc.path {
			h = serveDocsAsset
			break
		}
		if h = linkPage(p); h == nil {
			return false
		}
	}
	if !ctx.IsGet() && !ctx.IsHead() {
		ctx.Response.Header.SetCanonical(hAllow, []byte("GET, HEAD"))
		writeError(ctx, fasthttp.StatusMethodNotAllowed, contracts.CodeMethodNotAllowed, "method not allowed")
		return true
	}
	h(ctx)
	return true
}

// serveReady answers 200 when the process can serve, 503 otherwise, with
// the name of each check and "ok" or "failing" (the reasons are on the
// admin port only: they may name internal addresses).
func (g *Gateway) serveReady(ctx *fasthttp.RequestCtx) {
	ready, checks := !g.closing.Load(), map[string]string{}
	if g.ready != nil {
		rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		ok, cs := g.ready(rctx)
		cancel()
		ready = ready && ok
		for name, state := range cs {
			if state != "ok" {
				state = "failing"
			}
			checks[name] = state
		}
	}
	if g.closing.Load() {
		checks["shutdown"] = "failing"
	}
	body, _ := json.Marshal(struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}{ready, checks})
	ctx.Response.Header.SetCanonical(hContentType, vJSON)
	ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
	if !ready {
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
	}
	ctx.SetBody(body)
}

// The home page. It stands in for the storefront, which a later change
// serves at /: replace serveHome (and this page) then; nothing else
// depends on it.

const homeStyle = `body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#222}` +
	`code,pre{font-family:ui-monospace,monospace;background:#f4f4f4}pre{padding:.75rem;overflow:auto}` +
	`a{color:#0b57d0}li{margin:.25rem 0}`

var (
	homeHTML = []byte(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OpenCommerce</title>
<style>` + homeStyle + `</style>
</head>
<body>
<h1>OpenCommerce</h1>
<p>This is the OpenCommerce gateway. The storefront is not served here yet; the API is.</p>
<ul>
<li><a href="` + DocsPath + `">API reference</a> — every operation with an example request and answer, and its errors</li>
<li><a href="` + OpenAPIPath + `">OpenAPI document</a> (JSON, OpenAPI 3.1)</li>
<li><a href="/health">/health</a> — the gateway is alive; <a href="/readyz">/readyz</a> — it can serve (503 while not)</li>
</ul>
<h2>Signing in</h2>
<p>Create an account, sign in, then send the access token with each request:</p>
<pre>curl -X POST localhost:8080` + APIPrefix + `/auth/register -H 'Content-Type: application/json' \
  -d '{"email":"ada@example.com","password":"correct horse battery staple","name":"Ada"}'
curl -X POST localhost:8080` + APIPrefix + `/auth/login -H 'Content-Type: application/json' \
  -d '{"email":"ada@example.com","password":"correct horse battery staple"}'
curl localhost:8080` + APIPrefix + `/users/me -H 'Authorization: Bearer &lt;access_token&gt;'</pre>
<p>Access tokens are short-lived: <code>POST ` + APIPrefix + `/auth/refresh</code> with the refresh token gets new ones.
New accounts are customers; the first admin comes from <code>OC_USER_BOOTSTRAP_ADMIN_EMAIL</code> and
<code>OC_USER_BOOTSTRAP_ADMIN_PASSWORD</code> or <code>opencommerce user create-admin</code>, and an admin makes sellers
(<code>PATCH ` + APIPrefix + `/admin/users/{id}</code>).</p>
</body>
</html>
`)
	homeCSP = "default-src 'none'; style-src '" + cspHash(homeStyle) + "'; base-uri 'none'; form-action 'none'; " +
		"frame-ancestors 'none'"
	homeJSON, _ = json.Marshal(map[string]any{
		"name": "OpenCommerce",
		"links": map[string]string{
			"docs":    DocsPath,
			"openapi": OpenAPIPath,
			"health":  "/health",
			"ready":   "/readyz",
			"login":   APIPrefix + "/auth/login",
		},
		"sign_in": "POST " + APIPrefix + "/auth/register, then POST " + APIPrefix + "/auth/login; send the access_token " +
			"as Authorization: Bearer <token>",
	})
)

// addVary adds name to the answer's Vary header (which may name Origin).
func addVary(ctx *fasthttp.RequestCtx, name string) {
	if v := ctx.Response.Header.PeekBytes(hVary); len(v) > 0 {
		name = string(v) + ", " + name
	}
	ctx.Response.Header.Set("Vary", name)
}

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// serveHome answers the home page: HTML, or JSON for a client that asks for
// JSON and not HTML.
func serveHome(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	addVary(ctx, "Accept")
	h.Set("Cache-Control", cacheRevalidate)
	accept := string(ctx.Request.Header.Peek("Accept"))
	if strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html") {
		h.SetCanonical(hContentType, vJSON)
		ctx.SetBody(homeJSON)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", homeCSP)
	ctx.SetBody(homeHTML)
}

// The pages the notification emails link to (<notification.shop-url> +
// /orders/{id}, /seller/orders, /seller/returns). Like the home page they
// stand in for the storefront: until it serves these paths they say what
// the link is about and how to see it through the API. They show nothing
// but what the URL holds (no token reaches them). The storefront replaces
// linkPage (and these pages); nothing else depends on them.

// maxLinkID bounds the order id or number a link page echoes.
const maxLinkID = 64

// linkPage returns the handler of an email link's page at path p, nil when
// p is not one.
func linkPage(p string) func(*fasthttp.RequestCtx) {
	switch p {
	case "/seller/orders":
		return sitePage("Orders with your products", "<p>This link lists the orders that hold your products.</p>",
			"GET "+APIPrefix+"/seller/orders", "the orders with your products (only your lines, shipments, returns and totals)")
	case "/seller/returns":
		return sitePage("Return requests", "<p>This link lists the return requests of your lines.</p>",
			"GET "+APIPrefix+"/seller/returns", "the return requests of your lines, newest first")
	}
	id, ok := strings.CutPrefix(p, "/orders/")
	if !ok || !linkID(id) {
		return nil
	}
	esc := html.EscapeString(id)
	return sitePage("Order "+esc, "<p>This link is about your order <strong>"+esc+"</strong>.</p>",
		"GET "+APIPrefix+"/orders/"+esc, "the order with its lines, payment, shipments and returns (by its id, or by its "+
			"number as the email shows it)")
}

// linkID reports whether id looks like an order id or number: 1..64 of
// letters, digits, '-', '_' and a leading '#'.
func linkID(id string) bool {
	if id == "" || len(id) > maxLinkID {
		return false
	}
	for i, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '#' && i == 0
		if !ok {
			return false
		}
	}
	return true
}

// sitePage answers a small HTML page: title, what the link is (intro),
// and the API call that shows it.
func sitePage(title, intro, call, what string) func(*fasthttp.RequestCtx) {
	body := []byte(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>` + title + ` · OpenCommerce</title>
<style>` + homeStyle + `</style>
</head>
<body>
<h1>` + title + `</h1>
` + intro + `
<p>The storefront is not served here yet. To see it, sign in (<code>POST ` + APIPrefix + `/auth/login</code>) and call</p>
<pre>` + call + `
Authorization: Bearer &lt;access_token&gt;</pre>
<p>It answers ` + what + `.</p>
<ul>
<li><a href="` + DocsPath + `">API reference</a> — how to sign in and every operation</li>
<li><a href="/">OpenCommerce home</a></li>
</ul>
</body>
</html>
`)
	return func(ctx *fasthttp.RequestCtx) {
		h := &ctx.Response.Header
		h.Set("Cache-Control", cacheRevalidate)
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", homeCSP)
		h.Set("Referrer-Policy", "no-referrer")
		ctx.SetBody(body)
	}
}
