// Package edge is the OpenCommerce gateway: the single public entry point.
// It serves the declarative route table (routes.go) over fasthttp and turns
// each request into one RPC over RabbitMQ carrying a contracts.Envelope,
// writing the service's reply back untouched.
//
// The request path, in order: request id → security and CORS headers →
// route match (404/405 JSON) → query parameters the route declares (400
// naming another) → maintenance (503) → identity (client identity headers
// are dropped; a bearer token is verified locally and checked against the
// session revocations, 401/403)
// → catalogue cache (anonymous public GETs) → discovery (503 at once when
// the service has no healthy instance) → rate limit (429, GCRA in Redis with
// a local fallback) → body checks (415/413/400) → RPC with a per-request
// deadline (504) → reply status from x-status.
//
// Choices worth knowing:
//   - Paths are matched by fasthttp/router's radix tree (match.go), looked
//     up without a RequestCtx so path parameters stay sub-slices of the
//     request path (one allocation each, the router's copy, instead of the
//     three of its user values); static beats parameter, 405 with Allow,
//     JSON 404, no redirects.
//   - Cache hits are not charged to the rate limiter: they cost the
//     platform nothing the limiter protects, and charging them would put a
//     Redis round trip on the fastest path.
//   - The Redis limiter pipelines: the GCRA steps of requests waiting at
//     the same moment go to Redis in one pipeline (ratelimit's batcher),
//     each still its own atomic script run, so limits are exact and a busy
//     gateway pays far fewer round trips than requests.
//   - Only anonymous requests read and fill the cache; a signed-in caller
//     may see more than the public (a seller's drafts).
//   - A 413 for an oversize body is followed by a lingering close (drain
//     what the client still sends, then close), so the client reads the
//     413 instead of a connection reset (fasthttp #1348).
//   - Request bodies are streamed (fasthttp StreamRequestBody, server limit
//     Config.UploadMaxBody): POST /files flows to the file service's data
//     port without being buffered, and a JSON route reads at most its own
//     limit from the stream (a declared length above it is refused unread).
//   - Session revocations (disable, role or password change, log out
//     everywhere) reach every instance by its own queue on oc.events and
//     are checked in memory on every signed-in request (revocations.go);
//     an instance that was not listening loads them by one RPC first.
//   - Files and notification streams are custom routes: uploads and
//     downloads go to a healthy file instance (Deps.Files), SSE and
//     WebSocket to the stream hub (Deps.Stream); 503 when either is absent.
package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/router"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/edge/auth"
	"github.com/opencommerce/opencommerce/edge/cache"
	"github.com/opencommerce/opencommerce/edge/ratelimit"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/discovery"
	"github.com/opencommerce/opencommerce/internal/filedata"
)

// RPC is what the gateway needs of the bus client (*bus.Client). Call
// returns an error only for transport failures (*contracts.Error
// unavailable or deadline_exceeded); a reply of any status is a nil error.
type RPC interface {
	Call(ctx context.Context, service, method string, body []byte, opt bus.CallOptions) (bus.Reply, error)
}

// Discovery tells whether a service has a healthy instance
// (*discovery.Watcher). It must be cheap and safe for concurrent use.
type Discovery interface {
	HasHealthy(service string) bool
}

// Deps are the gateway's collaborators.
type Deps struct {
	Log     *slog.Logger
	Metrics prometheus.Registerer // nil: a private registry
	// RPC is required.
	RPC RPC
	// Discovery nil means every service is assumed healthy.
	Discovery Discovery
	// Redis holds shared rate-limit state (nil: limits are per instance).
	Redis       redis.Scripter
	RedisPrefix string
	// JWKS fetches the key set; nil calls user.jwks over RPC.
	JWKS auth.Fetcher
	// Files picks a healthy file service instance for uploads and
	// downloads (*discovery.Watcher; its Instance.DataURL is the data
	// port). nil: the file routes answer 503.
	Files FileInstances
	// Stream serves the real-time notification routes (*stream.Hub). nil:
	// they answer 503. Pass a nil interface, not a nil *stream.Hub.
	Stream StreamHub
	// Ready is what GET /readyz on the public port reports (the process's
	// readiness, as on the admin port). nil: ready until Shutdown.
	Ready Ready
	// Broker carries session revocations to this instance (revocations.go;
	// *bus.Conn). nil: no revocation feed, tokens are valid until they
	// expire (tests of other parts); pass a nil interface, not a nil
	// *bus.Conn.
	Broker Broker
}

// FileInstances picks a healthy instance of a service in turn
// (*discovery.Watcher satisfies it). It must be cheap and safe for
// concurrent use.
type FileInstances interface {
	Pick(service string) (discovery.Instance, bool)
}

// StreamHub serves a verified user's notification stream (*stream.Hub):
// SSE for GET /notifications/stream, WS for GET /ws. userID is the caller
// the gateway verified, ip the client's address (trusted proxies applied)
// that the hub's per-address cap counts.
type StreamHub interface {
	SSE(ctx *fasthttp.RequestCtx, userID string, ip netip.Addr)
	WS(ctx *fasthttp.RequestCtx, userID string, ip netip.Addr)
}

// Live is the part of the configuration that changes at run time (Consul
// KV through discovery). Zero fields keep the static Config's value.
type Live struct {
	// Maintenance answers 503 to everything but /health.
	Maintenance bool
	// CORSOrigins replaces Config.CORSOrigins when non-nil.
	CORSOrigins []string
	// RateLimits replaces classes by name ("login" → "10/1m:5").
	RateLimits map[string]string
	// Classes replaces classes by name (applied after RateLimits); a class
	// with zero Rate is unlimited.
	Classes map[string]ratelimit.Class
}

type liveState struct {
	maintenance bool
	corsAny     bool
	cors        map[string]struct{}
	classes     map[string]ratelimit.Class
}

// CustomHandler serves a route marked Custom after the gateway has run its
// checks (auth, roles, rate limit). It must not keep ctx after it returns
// (fasthttp's own streaming APIs such as SetBodyStreamWriter are fine).
type CustomHandler func(ctx *fasthttp.RequestCtx, req *Request)

// Request is what the gateway learned about a request before a custom
// handler runs. Valid only during the handler.
type Request struct {
	Route     *Route
	Actor     contracts.Actor
	RequestID []byte
	st        *reqState
}

// Param returns the path parameter name ("" if absent).
func (r *Request) Param(name string) string {
	for i := 0; i < r.st.nparams; i++ {
		if r.st.params[i].name == name {
			return string(r.st.params[i].val)
		}
	}
	return ""
}

// Gateway is the edge HTTP server. Build with New; Start, then Shutdown.
type Gateway struct {
	cfg      Config
	log      *slog.Logger
	rpc      RPC
	disc     Discovery
	verifier *auth.Verifier
	limiter  ratelimit.Limiter
	shared   *ratelimit.Shared
	cache    *cache.Cache
	routes   []*route
	router   *router.Router
	proxies  []netip.Prefix
	base     liveState // from Config
	live     atomic.Pointer[liveState]
	custom   map[string]CustomHandler
	m        *metrics
	openapi  []byte
	server   *fasthttp.Server
	ln       net.Listener
	stop     context.CancelFunc
	wg       sync.WaitGroup
	retry    []byte // Retry-After seconds
	started  atomic.Bool
	closing  atomic.Bool // Shutdown has begun: Serve returning is expected
	files    FileInstances
	data     *filedata.Client
	hub      StreamHub
	ready    Ready
	broker   Broker
}

// route is a compiled Route.
type route struct {
	Route
	index     int
	service   string
	maxBody   int
	timeout   time.Duration
	cacheTTL  time.Duration
	cacheable bool
	rateClass string
	status    int
	label     string
	// query: the declared query parameter names; queryHelp ends the
	// refusal of an undeclared one ("this route takes: limit, cursor").
	query     []string
	queryHelp string
	dur       prometheus.Observer
	codes     [600]atomic.Pointer[prometheus.Counter]
	g         *Gateway
}

// New builds a gateway from cfg and deps. It does not listen; call Start.
func New(cfg Config, deps Deps) (*Gateway, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.RPC == nil {
		return nil, errors.New("edge: Deps.RPC is required")
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := deps.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	g := &Gateway{cfg: cfg, log: log, rpc: deps.RPC, disc: deps.Discovery, custom: map[string]CustomHandler{},
		m: newMetrics(reg), retry: strconv.AppendInt(nil, int64((cfg.RetryAfter+time.Second-1)/time.Second), 10)}
	g.proxies, _ = parseProxies(cfg.TrustedProxies)

	fetch := deps.JWKS
	if fetch == nil {
		fetch = func(ctx context.Context) ([]byte, error) {
			r, err := deps.RPC.Call(ctx, "user", contracts.MethodUserJWKS, []byte("{}"), bus.CallOptions{})
			if err != nil {
				return nil, err
			}
			if !r.OK() {
				return nil, r.Err()
			}
			return r.Body, nil
		}
	}
	g.verifier = auth.New(fetch, auth.Config{RefetchInterval: cfg.JWKSRefetch, RefreshInterval: cfg.JWKSRefresh,
		Leeway: cfg.TokenLeeway}, log)
	g.shared = ratelimit.NewShared(deps.Redis, ratelimit.SharedConfig{Prefix: deps.RedisPrefix,
		Timeout: cfg.RateRedisTimeout, Cooldown: cfg.RateCooldown}, log)
	g.limiter = g.shared

	base, err := baseLive(cfg)
	if err != nil {
		return nil, err
	}
	g.base = base
	g.live.Store(&base)

	table := Routes()
	groups := len(table)
	if cfg.CacheEntries > 0 {
		g.cache = cache.New(cfg.CacheEntries, groups)
	}
	for i := range table {
		rt, err := g.compileRoute(i, table[i])
		if err != nil {
			return nil, err
		}
		g.routes = append(g.routes, rt)
	}
	g.router, err = newRouter(g.routes, func(p *pattern) fasthttp.RequestHandler {
		return func(ctx *fasthttp.RequestCtx) { g.servePath(ctx, p) }
	})
	if err != nil {
		return nil, err
	}
	if g.openapi, err = OpenAPI(table); err != nil {
		return nil, fmt.Errorf("edge: openapi: %w", err)
	}
	g.custom[CustomHealth] = g.serveHealth
	g.custom[CustomJWKS] = g.serveJWKS
	g.custom[CustomOpenAPI] = g.serveOpenAPI
	g.custom[CustomDocs] = g.serveDocs
	g.files, g.hub, g.ready = deps.Files, deps.Stream, deps.Ready
	if g.broker = deps.Broker; g.broker != nil {
		g.verifier.RevocationsDown() // until the feed is connected
	}
	g.data = filedata.New(filedata.Config{InternalToken: cfg.FileInternalToken, UploadTimeout: cfg.FileTimeout,
		DownloadTimeout: cfg.FileTimeout, DialTimeout: cfg.FileDialTimeout,
		// What an early answer (413, 415) leaves unread is drained up to the
		// upload limit, so the client reads the answer.
		DrainLimit: int64(cfg.UploadMaxBody)})
	g.custom[CustomUpload] = g.serveUpload
	g.custom[CustomDownload] = g.serveDownload
	g.custom[CustomThumbnail] = g.serveThumbnail
	g.custom[CustomUnsubscribe] = g.serveUnsubscribe
	g.custom[CustomStream] = g.serveSSE
	g.custom[CustomWebSocket] = g.serveWS

	g.server = &fasthttp.Server{
		Handler:               g.Handler,
		ErrorHandler:          g.serverError,
		Name:                  "",
		NoDefaultServerHeader: true,
		NoDefaultDate:         false,
		ReadTimeout:           cfg.ReadTimeout,
		WriteTimeout:          cfg.WriteTimeout,
		IdleTimeout:           cfg.IdleTimeout,
		// Bodies are streamed: a JSON route reads at most its own limit
		// (readBody), the upload streams to the file service. The server
		// limit is the upload's; with streaming fasthttp only prefetches
		// up to 8 KiB of it before the handler.
		StreamRequestBody:             true,
		MaxRequestBodySize:            cfg.UploadMaxBody,
		HeaderReceived:                g.requestConfig,
		ReadBufferSize:                16 << 10,
		DisablePreParseMultipartForm:  true,
		DisableHeaderNamesNormalizing: false,
		CloseOnShutdown:               true,
		Logger:                        fasthttpLogger{log},
	}
	return g, nil
}

// compileRoute compiles entry i of the route table with the gateway's
// defaults (body limit, timeout, rate class, cache TTL) and its metrics.
func (g *Gateway) compileRoute(i int, r Route) (*route, error) {
	rt := &route{Route: r, index: i, g: g}
	rt.service = rt.Service()
	rt.maxBody = rt.MaxBody
	if rt.maxBody <= 0 {
		rt.maxBody = g.cfg.DefaultRouteBody
	}
	rt.maxBody = min(rt.maxBody, g.cfg.MaxBody)
	rt.timeout = rt.Timeout
	if rt.timeout <= 0 {
		rt.timeout = g.cfg.RouteTimeout
	}
	rt.rateClass = rt.RateClass
	if rt.rateClass == "" {
		rt.rateClass = RateDefault
	}
	rt.status = rt.SuccessStatus()
	if rt.Cache != nil {
		if rt.Method != "GET" || rt.Auth != Public || rt.RPC == "" {
			return nil, fmt.Errorf("edge: route %s %s: only public RPC GETs can be cached", rt.Method, rt.Path)
		}
		rt.cacheable = g.cache != nil
		rt.cacheTTL = rt.Cache.TTL
		if rt.cacheTTL <= 0 {
			rt.cacheTTL = g.cfg.CacheTTL
		}
	}
	if (rt.RPC == "") == (rt.Custom == "") {
		return nil, fmt.Errorf("edge: route %s %s needs exactly one of RPC and Custom", rt.Method, rt.Path)
	}
	for _, q := range rt.Query {
		rt.query = append(rt.query, q.Name)
	}
	rt.queryHelp = "this route takes no query parameters"
	if len(rt.query) > 0 {
		rt.queryHelp = "this route takes: " + strings.Join(rt.query, ", ")
	}
	rt.label = rt.FullPath()
	rt.dur = g.m.duration.WithLabelValues(rt.label, rt.Method)
	return rt, nil
}

func baseLive(cfg Config) (liveState, error) {
	ls := liveState{classes: map[string]ratelimit.Class{}}
	for name, v := range map[string]string{RateDefault: cfg.RateDefault, RateLogin: cfg.RateLogin,
		RateSearch: cfg.RateSearch, RateCheckout: cfg.RateCheckout, RateUpload: cfg.RateUpload} {
		c, err := ParseRate(name, v)
		if err != nil {
			return ls, err
		}
		ls.classes[name] = c
	}
	ls.setCORS(cfg.CORSOrigins)
	return ls, nil
}

func (ls *liveState) setCORS(origins []string) {
	ls.corsAny = false
	ls.cors = map[string]struct{}{}
	for _, o := range origins {
		if o == "*" {
			ls.corsAny = true
		}
		ls.cors[o] = struct{}{}
	}
}

// ApplyLive installs live configuration; safe to call at any time. A rate
// class that does not parse is ignored (and logged); the rest applies.
func (g *Gateway) ApplyLive(l Live) {
	ls := liveState{maintenance: l.Maintenance, corsAny: g.base.corsAny, cors: g.base.cors,
		classes: make(map[string]ratelimit.Class, len(g.base.classes))}
	for k, v := range g.base.classes {
		ls.classes[k] = v
	}
	if l.CORSOrigins != nil {
		ls.setCORS(l.CORSOrigins)
	}
	for name, v := range l.RateLimits {
		c, err := ParseRate(name, v)
		if err != nil {
			g.log.Warn("live config: bad rate limit ignored", "class", name, "value", v, "err", err)
			continue
		}
		ls.classes[name] = c
	}
	for name, c := range l.Classes {
		c.Name = name
		ls.classes[name] = c
	}
	g.live.Store(&ls)
}

// SetMaintenance turns maintenance mode on or off, keeping the rest of the
// live config.
func (g *Gateway) SetMaintenance(on bool) {
	cur := *g.live.Load()
	cur.maintenance = on
	g.live.Store(&cur)
}

// ParseRate parses a rate class "N/period[:burst]" ("10/1m:5", "100/1s");
// "0" or "off" is unlimited. The burst defaults to N.
func ParseRate(name, s string) (ratelimit.Class, error) {
	c := ratelimit.Class{Name: name}
	if s == "0" || s == "off" || s == "" {
		return c, nil
	}
	var rate, burst string
	rest := s
	if i := indexByte(rest, ':'); i >= 0 {
		rest, burst = rest[:i], rest[i+1:]
	}
	i := indexByte(rest, '/')
	if i < 0 {
		return c, fmt.Errorf("rate %q: want N/period[:burst]", s)
	}
	rate = rest[:i]
	per := rest[i+1:]
	if per != "" && (per[0] < '0' || per[0] > '9') {
		per = "1" + per
	}
	n, err := strconv.Atoi(rate)
	if err != nil || n <= 0 {
		return c, fmt.Errorf("rate %q: bad count", s)
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return c, fmt.Errorf("rate %q: bad period", s)
	}
	c.Rate, c.Period, c.Burst = n, d, n
	if burst != "" {
		b, err := strconv.Atoi(burst)
		if err != nil || b <= 0 {
			return c, fmt.Errorf("rate %q: bad burst", s)
		}
		c.Burst = b
	}
	if c.Period/time.Duration(c.Rate) <= 0 {
		return c, fmt.Errorf("rate %q: too fast to represent", s)
	}
	return c, nil
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// HandleCustom installs the handler of custom routes named name (see the
// Custom* constants); call before Start. Routes whose handler is missing
// answer 501.
func (g *Gateway) HandleCustom(name string, h CustomHandler) {
	if g.started.Load() {
		panic("edge: HandleCustom after Start")
	}
	g.custom[name] = h
}

// Verifier returns the token verifier (its key cache).
func (g *Gateway) Verifier() *auth.Verifier { return g.verifier }

// Limiter returns the shared rate limiter.
func (g *Gateway) Limiter() *ratelimit.Shared { return g.shared }

// Start listens on Config.Addr (so a port error surfaces here), serves in
// the background, and starts the key refresh. The key set is fetched once
// now; failing that is logged, not fatal (the user service may start later).
func (g *Gateway) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", g.cfg.Addr)
	if err != nil {
		return fmt.Errorf("gateway listen %s: %w", g.cfg.Addr, err)
	}
	g.started.Store(true)
	g.ln = ln
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	g.stop = cancel
	g.wg.Add(2)
	go func() {
		defer g.wg.Done()
		if err := g.server.Serve(lingerListener{ln}); err != nil && !g.closing.Load() {
			g.log.Error("gateway server stopped", "err", err)
		}
	}()
	go func() {
		defer g.wg.Done()
		fctx, fcancel := context.WithTimeout(bg, 5*time.Second)
		// Loads the key set unless a token already made it load (a second
		// fetch would only cost the user service a call).
		if _, err := g.verifier.JWKS(fctx); err != nil {
			g.log.Warn("initial jwks fetch failed; will fetch on first token", "err", err)
		}
		fcancel()
		g.verifier.Run(bg)
	}()
	if g.broker != nil {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			g.runRevocations(bg)
		}()
		g.awaitRevocations(ctx)
	}
	g.log.Info("gateway listening", "addr", ln.Addr().String())
	return nil
}

// Addr returns the listening address (after Start), else Config.Addr.
func (g *Gateway) Addr() string {
	if g.ln != nil {
		return g.ln.Addr().String()
	}
	return g.cfg.Addr
}

// Shutdown stops accepting connections, lets every accepted request finish
// (until ctx ends), ends open notification streams (closing the hub when it
// has a Close(ctx) method), closes idle connections and stops background
// work.
// Readiness (/readyz) is the caller's to flip first.
func (g *Gateway) Shutdown(ctx context.Context) error {
	if !g.started.Load() {
		return nil
	}
	g.closing.Store(true)
	// Open notification streams would hold the server's shutdown until ctx
	// ends: end them (the hub tells clients to reconnect elsewhere).
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		if c, ok := g.hub.(interface{ Close(context.Context) error }); ok {
			_ = c.Close(ctx)
		}
	}()
	err := g.server.ShutdownWithContext(ctx)
	// fasthttp closes only the listeners Serve has already registered: a
	// Shutdown that runs before the Serve goroutine got that far would leave
	// it accepting for ever (and the wait below hanging). Closing the
	// listener here ends Serve in every order.
	_ = g.ln.Close()
	<-hubDone
	g.data.CloseIdleConnections()
	if g.stop != nil {
		g.stop()
	}
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	return err
}

type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug("fasthttp: " + fmt.Sprintf(format, args...))
}
