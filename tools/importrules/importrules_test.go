package importrules_test

import (
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/tools/importrules"
)

// TestModuleImports checks the whole tree, tests included, against the
// dependency direction (package doc): a failure names each offending
// import and the rule it breaks.
func TestModuleImports(t *testing.T) {
	pkgs, err := importrules.Load("../..")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages of the module; want the whole tree", len(pkgs))
	}
	for _, v := range importrules.Check(pkgs) {
		t.Errorf("forbidden import: %s", v)
	}
}

// TestCheckerCatchesForbiddenImports runs the checker on a fixture module
// (testdata/fixture, not the real tree) where the gateway imports a
// service and a service's test imports another service: both are
// reported, by name, and nothing else.
func TestCheckerCatchesForbiddenImports(t *testing.T) {
	pkgs, err := importrules.Load("testdata/fixture")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range importrules.Check(pkgs) {
		got = append(got, v.String())
	}
	want := []string{
		"edge/auth imports services/user: edge imports only edge/..., internal and contracts",
		"services/order imports services/user (in a test): a service imports only internal, contracts and its own packages (never another service)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRules spells the rules out pair by pair, allowed and forbidden.
func TestRules(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		allowed  bool
	}{
		{"contracts/schemagen", "contracts", true},
		{"contracts", "internal/bus", false},
		{"internal/svc", "internal/bus", true},
		{"internal/svc", "contracts", true},
		{"internal/token", "services/user", false},
		{"internal/svc", "edge", false},
		{"services/user", "services/user/account", true},
		{"services/user/postgres", "internal/pg", true},
		{"services/order", "services/product", false},
		{"services/notification", "edge/stream", false},
		{"edge", "edge/auth", true},
		{"edge/auth", "internal/token", true},
		{"edge", "services/file", false},
		{"edge", "platform", false},
		{"platform", "services/order", true},
		{"platform", "edge/stream", true},
		{"platform", "tools/demo", false},
		{"platform", "cmd/opencommerce", false},
		{"tools/benchsuite", "platform", true},
		{"tools/benchsuite", "tools/loadgen", true},
		{"tools/benchsuite", "services/product", false},
		{"cmd/opencommerce", "tools/loadgen", true},
		{"cmd/opencommerce", "platform", true},
		{"cmd/opencommerce", "services/user", false},
		{"nomad", "contracts", false}, // no layer: the rules must be extended first
	} {
		if got, rule := importrules.Allowed(tc.from, tc.to); got != tc.allowed {
			t.Errorf("%s → %s: allowed %v, want %v (%s)", tc.from, tc.to, got, tc.allowed, rule)
		}
	}
}
