package edge

import (
	"bytes"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/opencommerce/opencommerce/edge/docs"
)

// The API reference page: GET /api/v1/docs is an HTML page that renders the
// served OpenAPI document with Redoc. The Redoc bundle is embedded in the
// binary (edge/docs) and served by the gateway under a path with a hash of
// its content, so it is cached for ever and a new bundle gets a new path;
// the page itself is revalidated on every load. Nothing comes from a CDN.
//
// Redoc starts itself on the <redoc> element, so the page has no inline
// script. Its Content-Security-Policy allows only this origin, plus what
// Redoc needs: inline styles (styled-components writes <style> elements),
// data: images (its icons) and a worker made from a blob: URL (its search
// index). Checked in a headless Chromium: the page renders every operation
// and the only request the policy blocks is Redoc's own logo from its CDN,
// which the page's style hides.

// CustomDocs names the reference page's route (Route.Custom).
const CustomDocs = "docs"

const (
	// DocsPath is the reference page's path.
	DocsPath = APIPrefix + "/docs"
	// OpenAPIPath is the OpenAPI document's path.
	OpenAPIPath = APIPrefix + "/openapi.json"
	docsCSP     = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
		"font-src 'self' data:; connect-src 'self'; worker-src blob:; base-uri 'none'; form-action 'none'; " +
		"frame-ancestors 'none'"
	// cacheImmutable is for content under a hashed path.
	cacheImmutable = "public, max-age=31536000, immutable"
	// cacheRevalidate is for pages that must be fetched again on each load.
	cacheRevalidate = "no-cache"
)

// docsAsset is the Redoc bundle and its path.
type docsAsset struct {
	docs.Asset
	path string
}

var (
	docsPage []byte
	redoc    docsAsset
)

func init() {
	a := docs.Redoc()
	redoc = docsAsset{Asset: a, path: DocsPath + "/" + a.Name}
	docsPage = []byte(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OpenCommerce API reference</title>
<style>img[src^="https:"]{display:none}</style>
</head>
<body>
<noscript>This page needs JavaScript. The API is described by <a href="` + OpenAPIPath + `">the OpenAPI document</a>
and by docs/API.md in the repository.</noscript>
<redoc spec-url="` + OpenAPIPath + `" sort-props-alphabetically="false" expand-responses="200,201,202"></redoc>
<script src="` + redoc.path + `"></script>
</body>
</html>
`)
}

// DocsAssetPath is the path of the reference page's script (it changes
// with the bundle's content).
func DocsAssetPath() string { return redoc.path }

// serveDocs serves the reference page (the route GET /docs).
func (g *Gateway) serveDocs(ctx *fasthttp.RequestCtx, _ *Request) {
	h := &ctx.Response.Header
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", cacheRevalidate)
	h.Set("Content-Security-Policy", docsCSP)
	ctx.SetBody(docsPage)
}

// serveDocsAsset serves the Redoc bundle, gzipped when the client takes it.
func serveDocsAsset(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.Set("Content-Type", redoc.ContentType)
	h.Set("Cache-Control", cacheImmutable)
	addVary(ctx, "Accept-Encoding")
	if acceptsGzip(ctx.Request.Header.Peek("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		ctx.Response.SetBodyRaw(redoc.Gzip)
		return
	}
	ctx.Response.SetBodyRaw(redoc.Plain)
}

// acceptsGzip reports whether an Accept-Encoding value takes gzip (and does
// not refuse it with q=0).
func acceptsGzip(v []byte) bool {
	for part := range bytes.SplitSeq(v, []byte(",")) {
		name, params, _ := bytes.Cut(bytes.TrimSpace(part), []byte(";"))
		if !bytes.EqualFold(bytes.TrimSpace(name), []byte("gzip")) {
			continue
		}
		_, q, found := bytes.Cut(bytes.ReplaceAll(params, []byte(" "), nil), []byte("q="))
		if !found {
			return true
		}
		f, err := strconv.ParseFloat(string(q), 64)
		return err == nil && f > 0
	}
	return false
}
