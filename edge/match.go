package edge

import (
	"fmt"
	"slices"
	"strings"
)

// The gateway matches paths itself instead of using fasthttp/router: the
// router copies every path parameter into a new string, a new slice and an
// interface value (three allocations per parameter), which alone would
// exceed the allocation budget of a cached read. This matcher keeps
// parameters as sub-slices of the request path in per-request state, and
// gives the same answers as the router for this table: static segments win
// over parameters, 405 with Allow when the path exists under another
// method, no redirects.

const maxParams = 4

type segment struct {
	static string // "" for a parameter
	param  string // parameter name
}

// pattern is one path with the routes of each method.
type pattern struct {
	path     string // full path, with prefix
	segs     []segment
	statics  int // number of static segments (more wins)
	params   []string
	byMethod map[string]*route
	allow    string // "GET, POST" for 405 and preflight
}

type matcher struct {
	bySegs map[int][]*pattern // by segment count, most specific first
}

type param struct {
	name string
	val  []byte
}

func splitPattern(p string) ([]segment, error) {
	if !strings.HasPrefix(p, "/") || (len(p) > 1 && strings.HasSuffix(p, "/")) {
		return nil, fmt.Errorf("edge: bad route path %q", p)
	}
	var segs []segment
	for s := range strings.SplitSeq(p[1:], "/") {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") && len(s) > 2 {
			segs = append(segs, segment{param: s[1 : len(s)-1]})
			continue
		}
		if s == "" || strings.ContainsAny(s, "{}") {
			return nil, fmt.Errorf("edge: bad route path %q", p)
		}
		segs = append(segs, segment{static: s})
	}
	return segs, nil
}

func newMatcher(routes []*route) (*matcher, error) {
	m := &matcher{bySegs: map[int][]*pattern{}}
	byPath := map[string]*pattern{}
	var order []*pattern
	for _, rt := range routes {
		full := rt.FullPath()
		segs, err := splitPattern(full)
		if err != nil {
			return nil, err
		}
		// Two spellings of one shape ("/x/{id}" and "/x/{key}") would make
		// matching depend on order: refuse them.
		shape := shapeOf(segs)
		p := byPath[shape]
		if p == nil {
			p = &pattern{path: full, segs: segs, byMethod: map[string]*route{}}
			for _, s := range segs {
				if s.param == "" {
					p.statics++
				} else {
					p.params = append(p.params, s.param)
				}
			}
			if len(p.params) > maxParams {
				return nil, fmt.Errorf("edge: route %s has more than %d parameters", full, maxParams)
			}
			byPath[shape] = p
			order = append(order, p)
		} else if p.path != full {
			return nil, fmt.Errorf("edge: routes %s and %s differ only in parameter names", p.path, full)
		}
		if _, dup := p.byMethod[rt.Method]; dup {
			return nil, fmt.Errorf("edge: route %s %s registered twice", rt.Method, full)
		}
		p.byMethod[rt.Method] = rt
	}
	for _, p := range order {
		methods := make([]string, 0, len(p.byMethod)+1)
		for meth := range p.byMethod {
			methods = append(methods, meth)
		}
		methods = append(methods, "OPTIONS")
		slices.Sort(methods)
		p.allow = strings.Join(methods, ", ")
		m.bySegs[len(p.segs)] = append(m.bySegs[len(p.segs)], p)
	}
	for n, ps := range m.bySegs {
		// Most specific first: more static segments, earlier static segments.
		slices.SortStableFunc(ps, func(a, b *pattern) int {
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

// match finds the pattern of path and fills params (values are sub-slices
// of path). It does not allocate.
func (m *matcher) match(path []byte, params *[maxParams]param) (*pattern, int) {
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
