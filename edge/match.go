package edge

import (
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/opencommerce/opencommerce/contracts"
)

// Paths are matched by fasthttp/router's radix tree. Each path of the
// table is registered once, under the router's wild method, and its
// handler picks the route of the request's method: the path is found
// first, then the method, so a path that exists under other methods is
// 405 with Allow (PUT /products/featured is 405, not PUT
// /products/{id}), OPTIONS is the CORS preflight, and HEAD of a file's
// bytes is answered like GET. Static segments win over parameters; there
// are no redirects (a trailing slash is 404, as an unknown path is).
//
// The gateway looks the handler up itself (Router.Lookup with no
// RequestCtx) rather than running Router.Handler, for three reasons: the
// router would store each path parameter as a user value (three
// allocations per parameter; the lookup costs one, the router's own copy),
// while the gateway keeps parameters as sub-slices of the request path in
// per-request state; Router.Handler matches the raw path, the gateway the
// decoded one (/orders/%23100042); and the gateway's 404 and 405 are JSON
// and fall back to the site pages (site.go). BENCHMARKS.md compares the
// router with the matcher the gateway had before.

const maxParams = 4

// stateKey is the RequestCtx user value holding the request's *reqState
// while the router's handler runs.
const stateKey = "oc.edge.state"

type segment struct {
	static string // "" for a parameter
	param  string // parameter name
}

// pattern is one path with the routes of each method.
type pattern struct {
	path     string // full path, with prefix
	segs     []segment
	byMethod map[string]*route
	allow    string // "GET, OPTIONS, POST" for 405 and preflight
}

type param struct {
	name string
	val  []byte
}

// newRouter registers each path of the route table with a fasthttp/router,
// with the handler serve makes for its pattern.
func newRouter(routes []*route, serve func(*pattern) fasthttp.RequestHandler) (r *router.Router, err error) {
	var order []*pattern
	byShape := map[string]*pattern{}
	for _, rt := range routes {
		full := rt.FullPath()
		segs, err := splitPattern(full)
		if err != nil {
			return nil, err
		}
		// Two spellings of one shape ("/x/{id}" and "/x/{key}") would be
		// one path to the router: refuse them with a clear message.
		shape := shapeOf(segs)
		p := byShape[shape]
		if p == nil {
			p = &pattern{path: full, segs: segs, byMethod: map[string]*route{}}
			if n := strings.Count(full, "{"); n > maxParams {
				return nil, fmt.Errorf("edge: route %s has more than %d parameters", full, maxParams)
			}
			byShape[shape] = p
			order = append(order, p)
		} else if p.path != full {
			return nil, fmt.Errorf("edge: routes %s and %s differ only in parameter names", p.path, full)
		}
		if _, dup := p.byMethod[rt.Method]; dup {
			return nil, fmt.Errorf("edge: route %s %s registered twice", rt.Method, full)
		}
		p.byMethod[rt.Method] = rt
	}
	defer func() { // the router panics on a conflict it cannot represent
		if v := recover(); v != nil {
			r, err = nil, fmt.Errorf("edge: route table: %v", v)
		}
	}()
	r = router.New()
	r.RedirectTrailingSlash, r.RedirectFixedPath = false, false
	for _, p := range order {
		methods := make([]string, 0, len(p.byMethod)+1)
		for meth := range p.byMethod {
			methods = append(methods, meth)
		}
		methods = append(methods, fasthttp.MethodOptions)
		slices.Sort(methods)
		p.allow = strings.Join(methods, ", ")
		r.ANY(p.path, serve(p))
	}
	return r, nil
}

// lookup finds the handler of the request's path (nil: no route has the
// path). It does not allocate for a path without parameters and allocates
// once per parameter (the router's copy of its value).
func (g *Gateway) lookup(ctx *fasthttp.RequestCtx) fasthttp.RequestHandler {
	p := ctx.Path()
	// The router reads the path during the lookup only (it copies what
	// it keeps), so it may see the request's bytes.
	h, _ := g.router.Lookup(router.MethodWild, unsafe.String(unsafe.SliceData(p), len(p)), nil)
	return h
}

// servePath is the router's handler of pattern p: the route of the
// request's method, the CORS preflight, HEAD of a file's bytes (answered
// like GET, without the body), else 405 with Allow.
func (g *Gateway) servePath(ctx *fasthttp.RequestCtx, p *pattern) {
	st := ctx.UserValue(stateKey).(*reqState)
	if !p.params(ctx.Path(), st) {
		writeError(ctx, fasthttp.StatusNotFound, contracts.CodeNotFound, "no such route")
		return
	}
	if ctx.IsOptions() {
		g.preflight(ctx, p)
		return
	}
	rt := p.byMethod[string(ctx.Method())]
	if rt == nil && ctx.IsHead() {
		if get := p.byMethod[fasthttp.MethodGet]; get != nil && (get.Custom == CustomDownload || get.Custom == CustomThumbnail) {
			rt = get
		}
	}
	if rt == nil {
		ctx.Response.Header.SetCanonical(hAllow, []byte(p.allow))
		writeError(ctx, fasthttp.StatusMethodNotAllowed, contracts.CodeMethodNotAllowed, "method not allowed")
		return
	}
	st.route = rt
	g.serveRoute(ctx, rt, st)
}

// params fills st's path parameters from path, which the router matched
// to p: each is a sub-slice of path. An empty one ("/products//reviews"
// before normalising, "/products/" against "/products/{id}") is no match:
// false.
func (p *pattern) params(path []byte, st *reqState) bool {
	st.nparams = 0
	rest := path[1:]
	for i, s := range p.segs {
		end := len(rest)
		for j, c := range rest {
			if c == '/' {
				end = j
				break
			}
		}
		if s.param != "" {
			if end == 0 {
				return false
			}
			st.params[st.nparams] = param{name: s.param, val: rest[:end]}
			st.nparams++
		}
		if i < len(p.segs)-1 {
			if end == len(rest) {
				return false
			}
			rest = rest[end+1:]
		}
	}
	return true
}

func splitPattern(p string) ([]segment, error) {
	if !strings.HasPrefix(p, "/") || (len(p) > 1 && strings.HasSuffix(p, "/")) {
		return nil, fmt.Errorf("edge: bad route path %q", p)
	}
	var segs []segment
	for s := range strings.SplitSeq(p[1:], "/") {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") && len(s) > 2 && !strings.Contains(s, ":") {
			segs = append(segs, segment{param: s[1 : len(s)-1]})
			continue
		}
		if s == "" || strings.ContainsAny(s, "{}:*") {
			return nil, fmt.Errorf("edge: bad route path %q", p)
		}
		segs = append(segs, segment{static: s})
	}
	return segs, nil
}

func shapeOf(segs []segment) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		if s.param != "" {
			b.WriteString("{}")
		} else {
			b.WriteString(s.static)
		}
	}
	return b.String()
}
