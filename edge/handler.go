package edge

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/edge/cache"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/filedata"
)

// Header names and values written on the hot path, as bytes so fasthttp
// copies them without normalising or allocating.
var (
	hRequestID      = []byte("X-Request-ID")
	hContentType    = []byte("Content-Type")
	vJSON           = []byte("application/json")
	hNosniff        = []byte("X-Content-Type-Options")
	vNosniff        = []byte("nosniff")
	hFrame          = []byte("X-Frame-Options")
	vDeny           = []byte("DENY")
	hReferrer       = []byte("Referrer-Policy")
	vNoReferrer     = []byte("no-referrer")
	hHSTS           = []byte("Strict-Transport-Security")
	hCacheControl   = []byte("Cache-Control")
	vNoStore        = []byte("no-store")
	hRetryAfter     = []byte("Retry-After")
	argAccessToken  = []byte("access_token")
	hAllow          = []byte("Allow")
	hVary           = []byte("Vary")
	vOrigin         = []byte("Origin")
	hACAO           = []byte("Access-Control-Allow-Origin")
	hACEH           = []byte("Access-Control-Expose-Headers")
	vExposed        = []byte("X-Request-ID, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset")
	hWWWAuth        = []byte("WWW-Authenticate")
	vBearer         = []byte(`Bearer realm="opencommerce"`)
	vBearerInvalid  = []byte(`Bearer realm="opencommerce", error="invalid_token"`)
	hRLLimit        = []byte("RateLimit-Limit")
	hRLRemaining    = []byte("RateLimit-Remaining")
	hRLReset        = []byte("RateLimit-Reset")
	hAuthorization  = []byte("Authorization")
	hOriginReq      = []byte("Origin")
	hIdempotencyKey = []byte(contracts.HeaderIdempotencyKey)
	hXFF            = []byte("X-Forwarded-For")
	bearerPrefix    = []byte("bearer ")
	emptyObject     = []byte("{}")
)

// identityHeaders are request headers a client might use to claim an
// identity. The gateway never forwards client headers, and it deletes these
// so no later code (a custom handler, a proxy) can trust them by accident.
var identityHeaders = []string{
	contracts.HeaderActorID, contracts.HeaderActorRole, "X-User-Id", "X-User-Role", "X-User",
	"X-Forwarded-User", "X-Auth-User", "X-Remote-User", "Remote-User", "X-Authenticated-User",
	filedata.HeaderActorID, filedata.HeaderActorRole, filedata.HeaderInternalToken,
}

// reqState is per-request scratch space, pooled.
type reqState struct {
	params  [maxParams]param
	nparams int
	rid     [64]byte
	ridLen  int
	key     []byte
	env     []byte
	body    []byte // a streamed JSON body (readBody)
	// bodyDone: the request body was read (readBody); otherwise Handler
	// makes sure an unread body cannot turn the answer into a connection
	// reset.
	bodyDone bool
	pairs    []kv
	actor    contracts.Actor
	authed   bool
	route    *route // the route being served (nil: none, or 405)
	queried  bool   // pairs hold the query arguments
}

type kv struct{ k, v []byte }

// readBody reads the request body of a JSON route, at most limit bytes. The
// server streams request bodies (for uploads), so the body is read here,
// from the stream, and never more than limit+1 bytes of it: a declared
// length above limit is refused before reading, a chunked body when it
// passes limit. On refusal it writes the answer (413 with a lingering
// close, 408, 400) and returns false. The bytes live in st until the
// request ends.
func (g *Gateway) readBody(ctx *fasthttp.RequestCtx, st *reqState, limit int) ([]byte, bool) {
	st.bodyDone = true
	s := ctx.RequestBodyStream()
	if s == nil { // read whole already (a built RequestCtx, or not streaming)
		b := ctx.Request.Body()
		if len(b) > limit {
			g.tooLarge(ctx, limit)
			return nil, false
		}
		return b, true
	}
	if cl := ctx.Request.Header.ContentLength(); cl > limit {
		g.tooLarge(ctx, limit)
		return nil, false
	}
	buf := st.body[:0]
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(max(cap(buf), 4<<10), limit+1-len(buf)))
		}
		n, err := s.Read(buf[len(buf):min(cap(buf), limit+1)])
		buf = buf[:len(buf)+n]
		st.body = buf
		if len(buf) > limit {
			g.tooLarge(ctx, limit)
			return nil, false
		}
		if errors.Is(err, io.EOF) {
			return buf, true
		}
		if err != nil {
			ctx.SetConnectionClose()
			var te interface{ Timeout() bool }
			if errors.As(err, &te) && te.Timeout() {
				writeError(ctx, fasthttp.StatusRequestTimeout, contracts.CodeDeadlineExceeded, "request body not received in time")
			} else {
				writeError(ctx, fasthttp.StatusBadRequest, contracts.CodeInvalidArgument, "malformed request body")
			}
			return nil, false
		}
	}
}

// ignoreBody lets a route without a body ignore one: a declared body over
// MaxBody is refused (413) as it always was; any other is left unread
// (Handler's lingerIfUnread sees to the connection).
func (g *Gateway) ignoreBody(ctx *fasthttp.RequestCtx) bool {
	if ctx.RequestBodyStream() != nil && ctx.Request.Header.ContentLength() > g.cfg.MaxBody {
		g.tooLarge(ctx, g.cfg.MaxBody)
		return false
	}
	return true
}

// lingerIfUnread gives a request whose body is left unread a lingering
// close when fasthttp could not drain it after the answer (chunked, or
// over 256 KiB), so the client reads the answer, not a reset.
func lingerIfUnread(ctx *fasthttp.RequestCtx) {
	if ctx.RequestBodyStream() == nil {
		return
	}
	if cl := ctx.Request.Header.ContentLength(); cl == -1 || cl > 256<<10 {
		lingerClose(ctx)
	}
}

// tooLarge answers 413 for a body over limit and closes the connection
// with a lingering close, so the client, which may still be sending, reads
// the 413 instead of a connection reset.
func (g *Gateway) tooLarge(ctx *fasthttp.RequestCtx, limit int) {
	writeError(ctx, fasthttp.StatusRequestEntityTooLarge, contracts.CodePayloadTooLarge,
		"body larger than "+strconv.Itoa(limit)+" bytes")
	lingerClose(ctx)
}

// lingerClose makes the connection close after this answer, draining what
// the client still sends first (see lingerConn).
func lingerClose(ctx *fasthttp.RequestCtx) {
	ctx.SetConnectionClose()
	if lc, ok := ctx.Conn().(*lingerConn); ok {
		lc.linger.Store(true)
	}
}

// requestConfig is the server's HeaderReceived hook: file transfers get
// Config.FileTimeout instead of the short read (upload) and write
// (download) timeouts of API calls. Notification streams keep the defaults:
// the hub moves the write deadline on every write itself.
func (g *Gateway) requestConfig(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	path := h.RequestURI()
	if !bytes.HasPrefix(path, filesPath) {
		return fasthttp.RequestConfig{}
	}
	rest := path[len(filesPath):]
	if i := bytes.IndexByte(rest, '?'); i >= 0 {
		rest = rest[:i]
	}
	switch {
	case h.IsPost() && len(rest) == 0:
		return fasthttp.RequestConfig{ReadTimeout: g.cfg.FileTimeout}
	case (h.IsGet() || h.IsHead()) && len(rest) > 1 && rest[0] == '/':
		return fasthttp.RequestConfig{WriteTimeout: g.cfg.FileTimeout}
	}
	return fasthttp.RequestConfig{}
}

var filesPath = []byte(APIPrefix + "/files")

var statePool = sync.Pool{New: func() any { return &reqState{key: make([]byte, 0, 256), env: make([]byte, 0, 1024)} }}

func (st *reqState) reset() {
	st.nparams, st.ridLen = 0, 0
	st.key, st.env, st.pairs, st.body = st.key[:0], st.env[:0], st.pairs[:0], st.body[:0]
	st.actor, st.authed, st.queried, st.bodyDone, st.route = contracts.Actor{}, false, false, false, nil
	if cap(st.env) > 1<<20 { // do not pin huge buffers in the pool
		st.env = make([]byte, 0, 1024)
	}
	if cap(st.body) > 256<<10 {
		st.body = nil
	}
}

// Handler is the gateway's fasthttp handler (what the server runs); exposed
// for tests and benchmarks that drive it with a built RequestCtx.
func (g *Gateway) Handler(ctx *fasthttp.RequestCtx) {
	st := statePool.Get().(*reqState)
	st.reset()
	start := time.Now()
	g.m.inflight.Inc()
	defer func() {
		rt := st.route
		if p := recover(); p != nil {
			g.log.Error("panic serving request", "panic", p, "path", string(ctx.Path()), "request_id", string(st.rid[:st.ridLen]))
			ctx.Response.Reset()
			g.baseHeaders(ctx, st)
			writeError(ctx, fasthttp.StatusInternalServerError, contracts.CodeInternal, "internal error")
		}
		if !st.bodyDone && (rt == nil || rt.Custom != CustomUpload) {
			lingerIfUnread(ctx) // answered before the body was needed: 404, 401, 429, a custom route...
		}
		code := ctx.Response.StatusCode()
		if rt != nil {
			rt.observe(code, time.Since(start))
		} else {
			g.m.observeUnmatched(code, time.Since(start))
		}
		g.m.inflight.Dec()
		ctx.RemoveUserValue(stateKey)
		statePool.Put(st)
	}()
	g.requestID(ctx, st)
	g.baseHeaders(ctx, st)

	h := g.lookup(ctx)
	if h == nil {
		if !g.serveSite(ctx) {
			writeError(ctx, fasthttp.StatusNotFound, contracts.CodeNotFound, "no such route")
		}
		return
	}
	ctx.SetUserValue(stateKey, st)
	h(ctx) // servePath
}

// baseHeaders writes the headers of every response: request id, security
// headers, CORS for an allowed origin.
func (g *Gateway) baseHeaders(ctx *fasthttp.RequestCtx, st *reqState) {
	h := &ctx.Response.Header
	h.SetCanonical(hRequestID, st.rid[:st.ridLen])
	h.SetCanonical(hNosniff, vNosniff)
	h.SetCanonical(hFrame, vDeny)
	h.SetCanonical(hReferrer, vNoReferrer)
	if g.cfg.HSTS != "" {
		h.SetCanonical(hHSTS, []byte(g.cfg.HSTS))
	}
	if origin := ctx.Request.Header.PeekBytes(hOriginReq); len(origin) > 0 {
		h.SetCanonical(hVary, vOrigin)
		if g.originAllowed(origin) {
			h.SetCanonical(hACAO, origin)
			h.SetCanonical(hACEH, vExposed)
		}
	}
}

func (g *Gateway) originAllowed(origin []byte) bool {
	ls := g.live.Load()
	if ls.corsAny {
		return true
	}
	_, ok := ls.cors[string(origin)]
	return ok
}

var (
	ridPrefix [12]byte
	ridSeq    atomic.Uint64
)

func init() {
	var b [6]byte
	_, _ = rand.Read(b[:])
	hex.Encode(ridPrefix[:], b[:])
}

// requestID takes a valid client X-Request-ID (1..64 of [A-Za-z0-9._:+=/-])
// or makes one: a random per-process prefix and a counter.
func (g *Gateway) requestID(ctx *fasthttp.RequestCtx, st *reqState) {
	in := ctx.Request.Header.PeekBytes(hRequestID)
	if validRequestID(in) {
		st.ridLen = copy(st.rid[:], in)
		return
	}
	b := append(st.rid[:0], ridPrefix[:]...)
	b = append(b, '-')
	b = strconv.AppendUint(b, ridSeq.Add(1), 36)
	st.ridLen = len(b)
}

func validRequestID(b []byte) bool {
	if len(b) == 0 || len(b) > 64 {
		return false
	}
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '+', c == '=', c == '/':
		default:
			return false
		}
	}
	return true
}

func (g *Gateway) preflight(ctx *fasthttp.RequestCtx, p *pattern) {
	h := &ctx.Response.Header
	h.SetCanonical(hAllow, []byte(p.allow))
	origin := ctx.Request.Header.PeekBytes(hOriginReq)
	if len(origin) == 0 {
		ctx.SetStatusCode(fasthttp.StatusNoContent)
		return
	}
	if !g.originAllowed(origin) {
		writeError(ctx, fasthttp.StatusForbidden, contracts.CodePermissionDenied, "origin not allowed")
		return
	}
	want := ctx.Request.Header.Peek("Access-Control-Request-Method")
	if _, ok := p.byMethod[string(want)]; len(want) > 0 && !ok {
		writeError(ctx, fasthttp.StatusMethodNotAllowed, contracts.CodeMethodNotAllowed, "method not allowed for this path")
		return
	}
	h.Set("Access-Control-Allow-Methods", p.allow)
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key, X-Request-ID, Last-Event-ID")
	h.Set("Access-Control-Max-Age", "600")
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// serveRoute runs the steps of one matched route in the order the package
// doc lists them. Each step either lets the request go on (true) or has
// written the answer (false).
func (g *Gateway) serveRoute(ctx *fasthttp.RequestCtx, rt *route, st *reqState) {
	if !checkParams(ctx, rt, st) {
		return
	}
	if rt.Custom == CustomHealth {
		g.serveHealth(ctx, nil)
		return
	}
	live := g.live.Load()
	if live.maintenance {
		ctx.Response.Header.SetCanonical(hRetryAfter, g.retry)
		writeError(ctx, fasthttp.StatusServiceUnavailable, contracts.CodeUnavailable, "down for maintenance")
		return
	}
	if !g.authenticate(ctx, rt, st) || !authorize(ctx, rt, st) {
		return
	}
	served, fill := g.serveFromCache(ctx, rt, st)
	if served {
		return
	}
	for _, h := range identityHeaders {
		ctx.Request.Header.Del(h)
	}
	if !g.serviceUp(ctx, rt) || (limited(rt.Route) && !g.rateLimit(ctx, rt, live, st)) {
		return
	}
	if rt.Custom != "" {
		g.serveCustom(ctx, rt, st)
		return
	}
	body, idem, ok := g.readRequest(ctx, rt, st)
	if !ok {
		return
	}
	var tok cache.Token
	if fill {
		tok = g.cache.Snapshot(rt.index)
	}
	reply, ok := g.call(ctx, rt, st, body, idem)
	if !ok {
		return
	}
	if out, ok := g.writeReply(ctx, rt, reply); ok && fill {
		tag := ""
		if rt.Cache.TagParam != "" {
			tag = st.param(rt.Cache.TagParam)
		}
		g.cache.Set(rt.index, st.key, bytes.Clone(out), tag, rt.cacheTTL, tok)
	}
}

// checkParams refuses (400) a query parameter the route does not declare
// and a path parameter or query value that is not clean text (badInput).
func checkParams(ctx *fasthttp.RequestCtx, rt *route, st *reqState) bool {
	if name := rt.undeclaredQuery(ctx); name != nil {
		writeError(ctx, fasthttp.StatusBadRequest, contracts.CodeInvalidArgument,
			"unknown query parameter "+strconv.Quote(string(name[:min(len(name), 64)]))+"; "+rt.queryHelp)
		return false
	}
	if msg := st.badInput(ctx); msg != "" {
		writeError(ctx, fasthttp.StatusBadRequest, contracts.CodeInvalidArgument, msg)
		return false
	}
	return true
}

// authenticate verifies the caller's bearer token, when there is one, and
// puts the actor in st (401 for a malformed header or a token that does
// not verify; the verifier's own 503 when it cannot tell). A signed-in
// answer is never stored by a shared cache (Cache-Control: no-store).
func (g *Gateway) authenticate(ctx *fasthttp.RequestCtx, rt *route, st *reqState) bool {
	authz := ctx.Request.Header.PeekBytes(hAuthorization)
	var queryToken []byte
	if len(authz) == 0 && (rt.Custom == CustomStream || rt.Custom == CustomWebSocket) {
		// Browsers' EventSource and WebSocket cannot send headers: the
		// streaming routes also take the access token as ?access_token=.
		queryToken = ctx.QueryArgs().PeekBytes(argAccessToken)
	}
	if len(authz) == 0 && len(queryToken) == 0 {
		return true // anonymous
	}
	var tok string
	if len(authz) > 0 {
		if len(authz) <= len(bearerPrefix) || !bytes.EqualFold(authz[:len(bearerPrefix)], bearerPrefix) {
			ctx.Response.Header.SetCanonical(hWWWAuth, vBearerInvalid)
			writeError(ctx, fasthttp.StatusUnauthorized, contracts.CodeUnauthenticated, "Authorization must be a Bearer token")
			return false
		}
		tok = string(bytes.TrimSpace(authz[len(bearerPrefix):]))
	} else {
		tok = string(queryToken)
	}
	actx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	actor, err := g.verifier.Verify(actx, tok)
	cancel()
	if err != nil {
		e := contracts.AsError(err)
		if e.Code == contracts.CodeUnauthenticated {
			ctx.Response.Header.SetCanonical(hWWWAuth, vBearerInvalid)
		} else {
			ctx.Response.Header.SetCanonical(hRetryAfter, g.retryAfter(e))
		}
		writeError(ctx, e.Code.HTTPStatus(), e.Code, e.Message)
		return false
	}
	st.actor, st.authed = actor, true
	ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
	return true
}

// authorize applies the route's Auth and Roles to the actor
// authenticate found: 401 without one on a User route, 403 for a role the
// route does not allow.
func authorize(ctx *fasthttp.RequestCtx, rt *route, st *reqState) bool {
	if rt.Auth != User {
		return true
	}
	if !st.authed {
		ctx.Response.Header.SetCanonical(hWWWAuth, vBearer)
		writeError(ctx, fasthttp.StatusUnauthorized, contracts.CodeUnauthenticated, "sign in required")
		return false
	}
	if len(rt.Roles) > 0 && !slices.Contains(rt.Roles, st.actor.Role) {
		writeError(ctx, fasthttp.StatusForbidden, contracts.CodePermissionDenied, "your role may not do this")
		return false
	}
	return true
}

// serveFromCache answers an anonymous GET of a cached route from the
// catalogue cache (served). On a miss, fill says the reply should be
// stored under st.key once it comes; a request whose key cannot be built
// (too many query arguments) neither reads nor fills the cache.
func (g *Gateway) serveFromCache(ctx *fasthttp.RequestCtx, rt *route, st *reqState) (served, fill bool) {
	if !rt.cacheable || st.authed {
		return false, false
	}
	if st.key = g.cacheKey(ctx, rt, st); st.key == nil {
		return false, false
	}
	if body, ok := g.cache.Get(rt.index, st.key); ok {
		g.m.cacheHit.Inc()
		ctx.Response.Header.SetCanonical(hContentType, vJSON)
		ctx.Response.SetBodyRaw(body)
		return true, false
	}
	g.m.cacheMiss.Inc()
	return false, true
}

// serviceUp answers 503 at once when discovery knows the route's service
// has no healthy instance, instead of letting the RPC time out.
func (g *Gateway) serviceUp(ctx *fasthttp.RequestCtx, rt *route) bool {
	if rt.service == "" || g.disc == nil || g.disc.HasHealthy(rt.service) {
		return true
	}
	ctx.Response.Header.SetCanonical(hRetryAfter, g.retry)
	writeError(ctx, fasthttp.StatusServiceUnavailable, contracts.CodeUnavailable, "service "+rt.service+" is unavailable")
	return false
}

// serveCustom hands a custom route to its handler (501 when this gateway
// has none).
func (g *Gateway) serveCustom(ctx *fasthttp.RequestCtx, rt *route, st *reqState) {
	h := g.custom[rt.Custom]
	if h == nil {
		writeError(ctx, fasthttp.StatusNotImplemented, contracts.Code("not_implemented"), "not served by this gateway yet")
		return
	}
	h(ctx, &Request{Route: &rt.Route, Actor: st.actor, RequestID: st.rid[:st.ridLen], st: st})
}

// readRequest reads and checks what the RPC carries besides the path and
// query: the JSON body of a route that takes one (413, 415, 400) and the
// Idempotency-Key header (contracts.CheckIdempotencyKey; 400).
func (g *Gateway) readRequest(ctx *fasthttp.RequestCtx, rt *route, st *reqState) (body, idem []byte, ok bool) {
	if rt.Body {
		if body, ok = g.readBody(ctx, st, rt.maxBody); !ok {
			return nil, nil, false
		}
		if len(body) > 0 && !isJSONContentType(ctx.Request.Header.ContentType()) {
			writeError(ctx, fasthttp.StatusUnsupportedMediaType, contracts.CodeUnsupportedMedia, "Content-Type must be application/json")
			return nil, nil, false
		}
		if len(body) > 0 && !json.Valid(body) {
			writeError(ctx, fasthttp.StatusBadRequest, contracts.CodeInvalidArgument, "body is not valid JSON")
			return nil, nil, false
		}
	} else if !g.ignoreBody(ctx) {
		return nil, nil, false
	}
	idem = ctx.Request.Header.PeekBytes(hIdempotencyKey)
	if len(idem) > 0 || rt.IdempotencyKey {
		if err := contracts.CheckIdempotencyKey(idem); err != nil {
			e := contracts.AsError(err)
			writeError(ctx, fasthttp.StatusBadRequest, e.Code, e.Message)
			return nil, nil, false
		}
	}
	return body, idem, true
}

// call sends the route's RPC with the request's envelope and a deadline of
// the route's timeout. On a transport failure it writes the error
// (Retry-After on 503; an internal error is logged) and returns false.
func (g *Gateway) call(ctx *fasthttp.RequestCtx, rt *route, st *reqState, body, idem []byte) (bus.Reply, bool) {
	env, err := g.envelope(ctx, st, body, idem)
	if err != nil {
		e := contracts.AsError(err)
		writeError(ctx, e.Code.HTTPStatus(), e.Code, e.Message)
		return bus.Reply{}, false
	}
	st.env = env
	rctx, cancel := context.WithTimeout(context.Background(), rt.timeout)
	reply, err := g.rpc.Call(rctx, rt.service, rt.RPC, env, bus.CallOptions{Actor: st.actor, RequestID: string(st.rid[:st.ridLen])})
	cancel()
	if err != nil {
		e := contracts.AsError(err)
		if e.Code == contracts.CodeUnavailable {
			ctx.Response.Header.SetCanonical(hRetryAfter, g.retry)
		}
		if e.Code == contracts.CodeInternal {
			g.log.Error("rpc failed", "method", rt.RPC, "err", err, "request_id", string(st.rid[:st.ridLen]))
		}
		writeError(ctx, e.Code.HTTPStatus(), e.Code, e.Message)
		return bus.Reply{}, false
	}
	return reply, true
}

// writeReply writes the service's reply: its status (the route's success
// status for "ok"), its body untouched ({} for an empty success, the code
// for an empty error), and Retry-After on a service's own 429 or 503.
// It returns the body and whether it is a plain 200 success (what the
// cache may keep).
func (g *Gateway) writeReply(ctx *fasthttp.RequestCtx, rt *route, reply bus.Reply) ([]byte, bool) {
	status := rt.status
	if reply.Status != contracts.StatusOK {
		status = contracts.StatusForHeader(reply.Status)
	}
	if status == fasthttp.StatusNoContent {
		ctx.SetStatusCode(status)
		return nil, false
	}
	out := reply.Body
	if len(out) == 0 {
		if reply.Status != contracts.StatusOK {
			code := contracts.Code(reply.Status)
			writeError(ctx, status, code, string(code))
			return nil, false
		}
		out = emptyObject
	}
	ctx.SetStatusCode(status)
	ctx.Response.Header.SetCanonical(hContentType, vJSON)
	ctx.Response.SetBody(out)
	if status == fasthttp.StatusTooManyRequests || status == fasthttp.StatusServiceUnavailable {
		// A service's own refusal (sign-in throttling, say) tells the client
		// when to come back, like the gateway's limiter does.
		ctx.Response.Header.SetCanonical(hRetryAfter, retryAfter(out))
	}
	return out, status == fasthttp.StatusOK && reply.Status == contracts.StatusOK
}

func (st *reqState) param(name string) string {
	for i := 0; i < st.nparams; i++ {
		if st.params[i].name == name {
			return string(st.params[i].val)
		}
	}
	return ""
}

// rateLimit applies the route's class to the caller (user id, else client
// IP) and writes the RateLimit headers; on refusal it writes the 429.
func (g *Gateway) rateLimit(ctx *fasthttp.RequestCtx, rt *route, live *liveState, st *reqState) bool {
	class, ok := live.classes[rt.rateClass]
	if !ok || class.Unlimited() {
		return true
	}
	var subject string
	if st.authed && st.actor.ID != "" {
		subject = "u:" + st.actor.ID
	} else {
		subject = "ip:" + g.clientIP(ctx).String()
	}
	rctx, cancel := context.WithTimeout(context.Background(), time.Second)
	r := g.limiter.Allow(rctx, class, subject)
	cancel()
	h := &ctx.Response.Header
	var num [20]byte
	h.SetCanonical(hRLLimit, strconv.AppendInt(num[:0], int64(r.Limit), 10))
	h.SetCanonical(hRLRemaining, strconv.AppendInt(num[:0], int64(r.Remaining), 10))
	h.SetCanonical(hRLReset, strconv.AppendInt(num[:0], ceilSeconds(r.Reset), 10))
	if r.Allowed {
		return true
	}
	g.m.rejected.WithLabelValues(class.Name).Inc()
	secs := max(ceilSeconds(r.RetryAfter), 1)
	h.SetCanonical(hRetryAfter, strconv.AppendInt(num[:0], secs, 10))
	writeRateLimited(ctx, class.Name, secs)
	return false
}

func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// clientIP is the peer address, or — when the peer is a trusted proxy —
// the right-most address in X-Forwarded-For that is not a trusted proxy.
func (g *Gateway) clientIP(ctx *fasthttp.RequestCtx) netip.Addr {
	var peer netip.Addr
	if ta, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		peer, _ = netip.AddrFromSlice(ta.IP)
	}
	peer = peer.Unmap()
	if len(g.proxies) == 0 || !g.trusted(peer) {
		return peer
	}
	xff := ctx.Request.Header.PeekBytes(hXFF)
	for len(xff) > 0 {
		i := bytes.LastIndexByte(xff, ',')
		part := bytes.TrimSpace(xff[i+1:])
		if i < 0 {
			xff = nil
		} else {
			xff = xff[:i]
		}
		a, err := netip.ParseAddr(string(part))
		if err != nil {
			return peer
		}
		a = a.Unmap()
		if !g.trusted(a) {
			return a
		}
		peer = a
	}
	return peer
}

func (g *Gateway) trusted(a netip.Addr) bool {
	for _, p := range g.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func isJSONContentType(ct []byte) bool {
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return bytes.EqualFold(bytes.TrimSpace(ct), vJSON)
}

// writeError writes the JSON error body of every refusal.
func writeError(ctx *fasthttp.RequestCtx, status int, code contracts.Code, msg string) {
	ctx.SetStatusCode(status)
	ctx.Response.Header.SetCanonical(hContentType, vJSON)
	ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
	b := ctx.Response.Body()[:0]
	b = append(b, `{"error":{"code":`...)
	b = appendJSONString(b, string(code))
	b = append(b, `,"message":`...)
	b = appendJSONString(b, msg)
	b = append(b, "}}"...)
	ctx.Response.SetBody(b)
}

// writeRateLimited writes the gateway's 429: the body says, as the
// Retry-After header does, when to retry (message and details.retry_after
// in seconds) and which rate class refused.
func writeRateLimited(ctx *fasthttp.RequestCtx, class string, secs int64) {
	ctx.SetStatusCode(fasthttp.StatusTooManyRequests)
	ctx.Response.Header.SetCanonical(hContentType, vJSON)
	ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
	b := ctx.Response.Body()[:0]
	b = append(b, `{"error":{"code":"`+string(contracts.CodeResourceExhausted)+`","message":"rate limit exceeded; retry in `...)
	b = strconv.AppendInt(b, secs, 10)
	if secs == 1 {
		b = append(b, ` second","details":{"retry_after":`...)
	} else {
		b = append(b, ` seconds","details":{"retry_after":`...)
	}
	b = strconv.AppendInt(b, secs, 10)
	b = append(b, `,"rate_class":`...)
	b = appendJSONString(b, class)
	b = append(b, "}}}"...)
	ctx.Response.SetBody(b)
}

// serverError answers requests fasthttp refuses before any handler: an
// oversize body (413, then a lingering close so the client reads it),
// a read timeout (408), anything unparsable (400).
func (g *Gateway) serverError(ctx *fasthttp.RequestCtx, err error) {
	var status int
	var code contracts.Code
	var msg string
	var te interface{ Timeout() bool }
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		status, code, msg = fasthttp.StatusRequestEntityTooLarge, contracts.CodePayloadTooLarge,
			"body larger than "+strconv.Itoa(g.cfg.UploadMaxBody)+" bytes"
		if lc, ok := ctx.Conn().(*lingerConn); ok {
			lc.linger.Store(true)
		}
	case errors.As(err, &te) && te.Timeout():
		status, code, msg = fasthttp.StatusRequestTimeout, contracts.CodeDeadlineExceeded, "request not received in time"
	default:
		status, code, msg = fasthttp.StatusBadRequest, contracts.CodeInvalidArgument, "malformed HTTP request"
	}
	st := statePool.Get().(*reqState)
	st.reset()
	g.requestID(ctx, st)
	g.baseHeaders(ctx, st)
	statePool.Put(st)
	writeError(ctx, status, code, msg)
	g.m.observeUnmatched(status, time.Since(ctx.Time()))
}

func (g *Gateway) serveHealth(ctx *fasthttp.RequestCtx, _ *Request) {
	ctx.Response.Header.SetCanonical(hContentType, vJSON)
	ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
	ctx.SetBodyString(`{"status":"ok"}`)
}

// retryAfter is the Retry-After value for e: its retry_after detail (whole
// seconds) when it has one, else the configured default.
func (g *Gateway) retryAfter(e *contracts.Error) []byte {
	switch v := e.Details["retry_after"].(type) {
	case int64:
		if v > 0 {
			return strconv.AppendInt(nil, v, 10)
		}
	case int:
		if v > 0 {
			return strconv.AppendInt(nil, int64(v), 10)
		}
	}
	return g.retry
}

func (g *Gateway) serveJWKS(ctx *fasthttp.RequestCtx, _ *Request) {
	actx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	raw, err := g.verifier.JWKS(actx)
	cancel()
	if err != nil {
		e := contracts.AsError(err)
		ctx.Response.Header.SetCanonical(hRetryAfter, g.retryAfter(e))
		writeError(ctx, fasthttp.StatusServiceUnavailable, contracts.CodeUnavailable, e.Message)
		return
	}
	ctx.Response.Header.SetCanonical(hContentType, vJSON)
	ctx.Response.Header.Set("Cache-Control", "public, max-age=300")
	ctx.SetBody(raw)
}

func (g *Gateway) serveOpenAPI(ctx *fasthttp.RequestCtx, _ *Request) {
	ctx.Response.Header.SetCanonical(hContentType, vJSON)
	ctx.Response.SetBodyRaw(g.openapi)
}

// OpenAPIDocument returns the served OpenAPI document.
func (g *Gateway) OpenAPIDocument() []byte { return g.openapi }

// retryAfter is the Retry-After value of a service's 429/503 error body:
// its details.retry_after in whole seconds (1 to 86400), or 1 when absent.
func retryAfter(body []byte) []byte {
	var e struct {
		Error struct {
			Details struct {
				RetryAfter float64 `json:"retry_after"`
			} `json:"details"`
		} `json:"error"`
	}
	secs := 1
	if json.Unmarshal(body, &e) == nil && e.Error.Details.RetryAfter > 1 {
		// Bounded to a day, so a bogus value cannot overflow.
		secs = int(math.Ceil(math.Min(e.Error.Details.RetryAfter, 86400)))
	}
	return strconv.AppendInt(nil, int64(secs), 10)
}

// undeclaredQuery returns the name of the first query parameter the route
// does not declare (Route.Query), or nil. The rule is the same on every
// route: a parameter the route does not know is refused (400) rather than
// ignored, so a misspelt filter ("categroy") cannot silently list
// everything; values are the service's to check. A parameter without a
// name ("?&" or "?=x") is no parameter and is skipped, as the envelope
// skips it.
func (rt *route) undeclaredQuery(ctx *fasthttp.RequestCtx) []byte {
	args := ctx.QueryArgs()
	if args.Len() == 0 {
		return nil
	}
	for k := range args.All() {
		if len(k) > 0 && !rt.declares(k) {
			return k
		}
	}
	return nil
}

// badInput checks the path parameters and query values the same way on
// every route: a NUL byte, invalid UTF-8 or a bidirectional
// override/isolate control (U+202A–U+202E, U+2066–U+2069) is refused with
// a message naming the parameter ("" when all are clean). Clean input
// allocates nothing.
func (st *reqState) badInput(ctx *fasthttp.RequestCtx) string {
	for i := 0; i < st.nparams; i++ {
		if what := badText(st.params[i].val); what != "" {
			return "path parameter " + strconv.Quote(st.params[i].name) + " " + what
		}
	}
	args := ctx.QueryArgs()
	if args.Len() == 0 {
		return ""
	}
	for k, v := range args.All() {
		if what := badText(k); what != "" {
			return "a query parameter name " + what
		}
		if what := badText(v); what != "" {
			return "query parameter " + strconv.Quote(string(k[:min(len(k), 64)])) + " " + what
		}
	}
	return ""
}

// badText says what is wrong with b as text ("" when nothing is).
func badText(b []byte) string {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c == 0 {
				return "contains a NUL byte"
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return "is not valid UTF-8"
		}
		if bus.IsBidiControl(r) {
			return "contains the bidirectional control character U+" + strconv.FormatInt(int64(r), 16)
		}
		i += size
	}
	return ""
}

func (rt *route) declares(name []byte) bool {
	for _, q := range rt.query {
		if q == string(name) { // no allocation: a comparison
			return true
		}
	}
	return false
}
