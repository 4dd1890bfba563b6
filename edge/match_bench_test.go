package edge

import (
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// The gateway's own path matcher, which fasthttp/router replaced (match.go),
// kept here only so BenchmarkMatch can compare the two in one run
// (BENCHMARKS.md, "Routing"). It is the code as it was, renamed.

type oldPattern struct {
	path     string
	segs     []segment
	byMethod map[string]*route
}

type oldMatcher struct {
	bySegs map[int][]*oldPattern // by segment count, most specific first
}

func newOldMatcher(routes []*route) (*oldMatcher, error) {
	m := &oldMatcher{bySegs: map[int][]*oldPattern{}}
	byPath := map[string]*oldPattern{}
	var order []*oldPattern
	for _, rt := range routes {
		full := rt.FullPath()
		segs, err := splitPattern(full)
		if err != nil {
			return nil, err
		}
		shape := shapeOf(segs)
		p := byPath[shape]
		if p == nil {
			p = &oldPattern{path: full, segs: segs, byMethod: map[string]*route{}}
			byPath[shape] = p
			order = append(order, p)
		}
		p.byMethod[rt.Method] = rt
	}
	for _, p := range order {
		m.bySegs[len(p.segs)] = append(m.bySegs[len(p.segs)], p)
	}
	for n, ps := range m.bySegs {
		slices.SortStableFunc(ps, func(a, b *oldPattern) int {
			for i := range a.segs {
				as, bs := a.segs[i].param == "", b.segs[i].param == ""
				if as != bs {
					if as {
						return -1
					}
					return 1
				}
			}
			return 0
		})
		m.bySegs[n] = ps
	}
	return m, nil
}

func (m *oldMatcher) match(path []byte, params *[maxParams]param) (*oldPattern, int) {
	if len(path) == 0 || path[0] != '/' {
		return nil, 0
	}
	n := 1
	for _, c := range path[1:] {
		if c == '/' {
			n++
		}
	}
	candidates := m.bySegs[n]
next:
	for _, p := range candidates {
		rest := path[1:]
		np := 0
		for i, s := range p.segs {
			end := len(rest)
			for j, c := range rest {
				if c == '/' {
					end = j
					break
				}
			}
			seg := rest[:end]
			if s.param == "" {
				if string(seg) != s.static {
					continue next
				}
			} else {
				if len(seg) == 0 {
					continue next
				}
				params[np] = param{name: s.param, val: seg}
				np++
			}
			if i < len(p.segs)-1 {
				rest = rest[end+1:]
			}
		}
		return p, np
	}
	return nil, 0
}

type benchRequest struct {
	method string
	path   []byte
	want   *route
}

// benchRequests is one request per route of the table, parameters filled
// with a UUID, plus one path no route has.
func benchRequests(tb testing.TB, routes []*route) []benchRequest {
	tb.Helper()
	var out []benchRequest
	for _, rt := range routes {
		segs, err := splitPattern(rt.FullPath())
		if err != nil {
			tb.Fatal(err)
		}
		var b strings.Builder
		for _, s := range segs {
			b.WriteByte('/')
			if s.param != "" {
				b.WriteString("0190b5a2-7c1e-7f00-8000-000000000000")
			} else {
				b.WriteString(s.static)
			}
		}
		out = append(out, benchRequest{rt.Method, []byte(b.String()), rt})
	}
	return append(out, benchRequest{"GET", []byte(APIPrefix + "/no/such/route"), nil})
}

func benchRoutes(tb testing.TB) []*route {
	tb.Helper()
	var routes []*route
	for i, r := range Routes() {
		routes = append(routes, &route{Route: r, index: i})
	}
	return routes
}

// BenchmarkMatch compares, in one run, the old matcher and fasthttp/router
// at what the gateway asks of them: from a method and a decoded path, the
// route and its parameters (sub-slices of the path), over every route of
// the table and one unknown path (ns/op is per round of them all;
// cpu-ns/request is the process's CPU time per request, steadier than
// wall time on a shared machine).
//
//	go test ./edge -run '^$' -bench Match -count 6
func BenchmarkMatch(b *testing.B) {
	routes := benchRoutes(b)
	reqs := benchRequests(b, routes)
	b.Run("old-matcher", func(b *testing.B) {
		m, err := newOldMatcher(routes)
		if err != nil {
			b.Fatal(err)
		}
		var params [maxParams]param
		b.ReportAllocs()
		cpu := processCPU()
		for b.Loop() {
			for _, r := range reqs {
				var rt *route
				if p, _ := m.match(r.path, &params); p != nil {
					rt = p.byMethod[r.method]
				}
				if rt != r.want {
					b.Fatalf("%s %s: wrong route", r.method, r.path)
				}
			}
		}
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N*len(reqs)), "cpu-ns/request")
	})
	b.Run("fasthttp-router", func(b *testing.B) {
		var found *pattern
		r, err := newRouter(routes, func(p *pattern) fasthttp.RequestHandler {
			return func(*fasthttp.RequestCtx) { found = p }
		})
		if err != nil {
			b.Fatal(err)
		}
		g := &Gateway{router: r}
		var ctx fasthttp.RequestCtx
		st := new(reqState)
		b.ReportAllocs()
		cpu := processCPU()
		for b.Loop() {
			for _, req := range reqs {
				ctx.Request.URI().SetPathBytes(req.path)
				var rt *route
				if h := g.lookup(&ctx); h != nil {
					h(&ctx) // the gateway's handler would run servePath
					if found.params(ctx.Path(), st) {
						rt = found.byMethod[req.method]
					}
				}
				if rt != req.want {
					b.Fatalf("%s %s: wrong route", req.method, req.path)
				}
			}
		}
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N*len(reqs)), "cpu-ns/request")
	})
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
