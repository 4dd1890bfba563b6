package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"net/url"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
)

// serveUnsubscribe is the link of every notification email's
// List-Unsubscribe header and footer (RFC 8058). GET never changes
// anything (mail scanners follow links): it answers a page whose button
// POSTs to the same URL. POST — the mail client's one-click request, whose
// body is "List-Unsubscribe=One-Click", or that button — asks the
// notification service to turn the email off; the token is the proof, no
// sign-in is needed. Browsers get a page, other clients JSON.
func (g *Gateway) serveUnsubscribe(ctx *fasthttp.RequestCtx, req *Request) {
	token := string(ctx.QueryArgs().Peek("token"))
	if token == "" {
		g.unsubscribeAnswer(ctx, fasthttp.StatusBadRequest, "This unsubscribe link has no token; use the link from the email as it is.", nil)
		return
	}
	if ctx.IsGet() {
		ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
		ctx.Response.Header.Set("Content-Type", "text/html; charset=utf-8")
		ctx.Response.Header.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
		ctx.SetBodyString(unsubscribePage("Unsubscribe", "Stop getting these emails?",
			`<form method="post" action="?token=`+html.EscapeString(url.QueryEscape(token))+`">`+
				`<button type="submit">Unsubscribe</button></form>`))
		return
	}
	env, _ := json.Marshal(contracts.Envelope{Params: contracts.Params{"token": {token}}})
	rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	reply, err := g.rpc.Call(rctx, "notification", contracts.MethodNotificationUnsubscribe, env, bus.CallOptions{RequestID: string(req.RequestID)})
	cancel()
	if err != nil {
		e := contracts.AsError(err)
		ctx.Response.Header.SetCanonical(hRetryAfter, g.retry)
		g.unsubscribeAnswer(ctx, e.Code.HTTPStatus(), "We could not unsubscribe you just now; please try the link again in a minute.", e)
		return
	}
	if reply.Status != contracts.StatusOK {
		var body struct{ Error *contracts.Error }
		_ = json.Unmarshal(reply.Body, &body)
		e := body.Error
		if e == nil {
			e = &contracts.Error{Code: contracts.Code(reply.Status), Message: reply.Status}
		}
		g.unsubscribeAnswer(ctx, contracts.StatusForHeader(reply.Status), e.Message, e)
		return
	}
	var done contracts.Unsubscribed
	_ = json.Unmarshal(reply.Body, &done)
	if !wantsHTML(ctx) {
		ctx.Response.Header.SetCanonical(hContentType, vJSON)
		ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
		ctx.SetBody(reply.Body)
		return
	}
	g.unsubscribeAnswer(ctx, fasthttp.StatusOK, done.Message, nil)
}

// unsubscribeAnswer writes the outcome as a page for a browser, else as
// the API's JSON (an error body when e is set).
func (g *Gateway) unsubscribeAnswer(ctx *fasthttp.RequestCtx, status int, msg string, e *contracts.Error) {
	if !wantsHTML(ctx) && e != nil {
		writeError(ctx, status, e.Code, e.Message)
		return
	}
	if !wantsHTML(ctx) {
		writeError(ctx, status, contracts.CodeInvalidArgument, msg)
		return
	}
	ctx.SetStatusCode(status)
	ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
	ctx.Response.Header.Set("Content-Type", "text/html; charset=utf-8")
	ctx.Response.Header.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	title := "Unsubscribed"
	if status != fasthttp.StatusOK {
		title = "Unsubscribe failed"
	}
	ctx.SetBodyString(unsubscribePage(title, html.EscapeString(msg), ""))
}

// wantsHTML says the client is a browser (a form post or a page view).
func wantsHTML(ctx *fasthttp.RequestCtx) bool {
	return bytes.Contains(ctx.Request.Header.Peek("Accept"), []byte("text/html"))
}

func unsubscribePage(title, text, extra string) string {
	return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
		`<title>` + title + ` · OpenCommerce</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}` +
		`button{font:inherit;padding:.5rem 1rem}</style></head><body><main><h1>` + title + `</h1><p>` + text + `</p>` + extra + `</main></body></html>`
}
