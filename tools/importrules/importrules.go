// Package importrules states the dependency direction of the module as
// imports allowed and forbidden, and checks a package graph against it
// (TestModuleImports runs it on the whole tree, tests included).
//
// The layers, from the bottom:
//
//   - contracts/...: the wire contracts; imports nothing of the module.
//   - internal/...: the shared runtime; imports only internal/... and
//     contracts.
//   - services/<name>/...: one service; imports only internal, contracts
//     and services/<name>/... (never another service).
//   - edge/...: the gateway; imports only edge/..., internal and contracts.
//   - platform/...: the composition root; imports services, edge, internal
//     and contracts (never tools or cmd).
//   - tools/...: load generator, benchmarks, deploy tests, demo; import
//     platform, edge, internal, contracts and other tools (never a
//     service).
//   - cmd/...: the binary; imports platform, tools, edge, internal and
//     contracts (never a service).
//
// Two imports are allowed in tests only (TestExceptions lists them with
// their reasons): a service's tests may use the gateway's stream hub
// (edge/stream, edge/stream/streamtest) to watch what a browser receives,
// and the end-to-end tests (platform/e2e, a package of tests nothing
// imports) may drive tools against the platform.
package importrules

import (
	"fmt"
	"slices"
	"strings"
)

// Module is the module path the rules are written for.
const Module = "github.com/opencommerce/opencommerce"

// Package is one package of the graph: its path inside the module ("edge",
// "services/user/postgres") and its direct imports, the module's own
// imports as module-relative paths (others are ignored).
type Package struct {
	Path        string
	Imports     []string // of the package's non-test files
	TestImports []string // of its _test.go files (both test packages)
}

// Violation is one forbidden import.
type Violation struct {
	From, To string
	Test     bool   // the import is in a _test.go file
	Rule     string // the rule it breaks
}

func (v Violation) String() string {
	where := ""
	if v.Test {
		where = " (in a test)"
	}
	return fmt.Sprintf("%s imports %s%s: %s", v.From, v.To, where, v.Rule)
}

// layer returns the layer of a module-relative path and, for a service,
// the service's name.
func layer(path string) (string, string) {
	first, rest, _ := strings.Cut(path, "/")
	if first == "services" {
		name, _, _ := strings.Cut(rest, "/")
		return first, name
	}
	return first, ""
}

// rules maps each layer to the layers it may import and the rule's text.
var rules = map[string]struct {
	may  []string
	text string
}{
	"contracts": {[]string{"contracts"}, "contracts imports nothing of the module"},
	"internal":  {[]string{"internal", "contracts"}, "internal/... imports only internal/... and contracts"},
	"services":  {[]string{"internal", "contracts"}, "a service imports only internal, contracts and its own packages (never another service)"},
	"edge":      {[]string{"edge", "internal", "contracts"}, "edge imports only edge/..., internal and contracts"},
	"platform":  {[]string{"platform", "services", "edge", "internal", "contracts"}, "platform imports services, edge, internal and contracts (never tools or cmd)"},
	"tools":     {[]string{"tools", "platform", "edge", "internal", "contracts"}, "tools import platform, edge, internal, contracts and tools (never a service)"},
	"cmd":       {[]string{"cmd", "platform", "tools", "edge", "internal", "contracts"}, "cmd imports platform, tools, edge, internal and contracts (never a service)"},
}

// Exception is an import allowed in tests only, with its reason.
type Exception struct {
	From, To string // path prefixes: From's tests may import To
	Why      string
}

// TestExceptions are the imports allowed in _test.go files beyond the
// rules.
var TestExceptions = []Exception{
	{"services/", "edge/stream", "a service's tests may watch the gateway's stream hub (edge/stream, streamtest) " +
		"to see what a browser receives from the service's pushes, without starting the gateway"},
	{"platform/e2e", "tools/", "the end-to-end tests (a package of tests only, which nothing imports) drive tools " +
		"(the demo seeder) against the whole platform"},
}

// Allowed reports whether from may import to (module-relative paths) in
// non-test code, and the rule that decides.
func Allowed(from, to string) (bool, string) {
	fl, fsvc := layer(from)
	tl, tsvc := layer(to)
	r, ok := rules[fl]
	if !ok {
		return false, fmt.Sprintf("%s is in no layer (contracts, internal, services, edge, platform, tools, cmd): add it to the rules", from)
	}
	if fl == "services" && tl == "services" {
		return fsvc == tsvc, r.text
	}
	return slices.Contains(r.may, tl), r.text
}

// under reports whether path is prefix or inside it ("edge/stream" holds
// edge/stream/streamtest; "services/" every service).
func under(path, prefix string) bool {
	p := strings.TrimSuffix(prefix, "/")
	return path == p || strings.HasPrefix(path, p+"/")
}

func excepted(list []Exception, from, to string) bool {
	for _, e := range list {
		if under(from, e.From) && under(to, e.To) {
			return true
		}
	}
	return false
}

// Check returns every forbidden import of pkgs, sorted.
func Check(pkgs []Package) []Violation {
	var out []Violation
	for _, p := range pkgs {
		for _, imp := range p.Imports {
			if ok, rule := Allowed(p.Path, imp); !ok {
				out = append(out, Violation{From: p.Path, To: imp, Rule: rule})
			}
		}
		for _, imp := range p.TestImports {
			if ok, rule := Allowed(p.Path, imp); !ok && !excepted(TestExceptions, p.Path, imp) {
				out = append(out, Violation{From: p.Path, To: imp, Test: true, Rule: rule})
			}
		}
	}
	slices.SortFunc(out, func(a, b Violation) int { return strings.Compare(a.String(), b.String()) })
	return slices.Compact(out)
}
