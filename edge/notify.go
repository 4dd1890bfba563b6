package edge

import (
	"github.com/valyala/fasthttp"

	"github.com/opencommerce/opencommerce/contracts"
)

// serveSSE serves GET /notifications/stream: the caller's notifications as
// Server-Sent Events from the hub (Deps.Stream). The route needs a signed-in
// user, so req.Actor.ID is verified; the client's address is the one the
// rate limits see, for the hub's per-address cap.
func (g *Gateway) serveSSE(ctx *fasthttp.RequestCtx, req *Request) {
	if g.hub == nil {
		g.streamsOff(ctx)
		return
	}
	g.hub.SSE(ctx, req.Actor.ID, g.clientIP(ctx))
}

// serveWS serves GET /ws: the same notifications over WebSocket.
func (g *Gateway) serveWS(ctx *fasthttp.RequestCtx, req *Request) {
	if g.hub == nil {
		g.streamsOff(ctx)
		return
	}
	g.hub.WS(ctx, req.Actor.ID, g.clientIP(ctx))
}

func (g *Gateway) streamsOff(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.SetCanonical(hRetryAfter, g.retry)
	writeError(ctx, fasthttp.StatusServiceUnavailable, contracts.CodeUnavailable, "real-time notifications are not configured")
}
