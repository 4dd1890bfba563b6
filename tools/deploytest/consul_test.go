package deploytest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/internal/discovery"
	"github.com/opencommerce/opencommerce/tools/deploytest"
)

const gatewayKV = "consul/kv/opencommerce/gateway/config.json"

func TestConsulGatewayConfigSeedIsValid(t *testing.T) {
	noProblems(t, deploytest.CheckGatewayConfig(gatewayKV, read(t, gatewayKV)))
}

func TestConsulGatewayConfigRulesCatchBreakage(t *testing.T) {
	seed := string(read(t, gatewayKV))
	cases := []struct{ name, old, new, want string }{
		{"zero rate", `"login": { "rate": 1,`, `"login": { "rate": 0,`, "rate_limits.login: rate must be a positive number"},
		{"negative rate", `"search": { "rate": 10,`, `"search": { "rate": -1,`, "rate_limits.search: rate must be a positive"},
		{"fractional burst", `"burst": 50 }`, `"burst": 2.5 }`, "rate_limits.default: burst must be an integer"},
		{"burst below rate", `"rate": 20, "burst": 50`, `"rate": 20, "burst": 10`, "rate_limits.default: burst 10 is below rate 20"},
		{"missing class", `"upload": { "rate": 1, "burst": 3 }`, `"uploads": { "rate": 1, "burst": 3 }`, `rate_limits: no class "upload"`},
		{"unknown class", `"upload": { "rate": 1, "burst": 3 }`, `"upload": { "rate": 1, "burst": 3 }, "admin": { "rate": 1, "burst": 3 }`, "rate_limits.admin: unknown class"},
		{"origin with path", `"http://localhost:5173"`, `"http://localhost:5173/app"`, `"http://localhost:5173/app" is not an origin`},
		{"origin without scheme", `"http://localhost:5173"`, `"localhost:5173"`, `"localhost:5173" is not an origin`},
		{"unknown field", `"maintenance": false`, `"maintenance": false, "maintenence": true`, `unknown field "maintenence"`},
		{"maintenance not bool", `"maintenance": false`, `"maintenance": "no"`, "maintenance"},
		{"no maintenance", `,
  "maintenance": false`, ``, "no maintenance flag"},
		{"not JSON", `{`, `[`, gatewayKV},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(seed, c.old) {
				t.Fatalf("seed no longer contains %q: update the test", c.old)
			}
			broken := strings.Replace(seed, c.old, c.new, 1)
			wantProblem(t, deploytest.CheckGatewayConfig(gatewayKV, []byte(broken)), c.want)
		})
	}
}

func TestConsulACLPoliciesAreLeastPrivilege(t *testing.T) {
	for _, svc := range deploytest.Services {
		p := "consul/acl/" + svc.Name + ".hcl"
		noProblems(t, deploytest.CheckACLPolicy(p, read(t, p), svc))
	}
	for _, p := range glob(t, "consul/acl/*.hcl") {
		name := strings.TrimSuffix(filepath.Base(p), ".hcl")
		if !contains(deploytest.ServiceNames(), name) {
			noProblems(t, deploytest.CheckReadOnlyPolicy(p, read(t, p)))
		}
		if name == "prometheus" {
			noProblems(t, deploytest.CheckDiscoveryPolicy(p, read(t, p)))
		}
	}
}

// Prometheus' policy without agent:read: Consul discovery finds no target
// once ACLs are on.
func TestConsulDiscoveryPolicyNeedsAgentRead(t *testing.T) {
	const p = "consul/acl/prometheus.hcl"
	src := read(t, p)
	noProblems(t, deploytest.CheckDiscoveryPolicy(p, src))
	broken := removeBlocks(t, []byte(strings.Replace(string(src), `agent_prefix ""`, `key_prefix "x"`, 1)), "key_prefix")
	wantProblem(t, deploytest.CheckDiscoveryPolicy(p, broken), `no agent_prefix "" read`)
}

func TestConsulACLPolicyRulesCatchBreakage(t *testing.T) {
	order := deploytest.Services[3]
	if order.Name != "order" {
		t.Fatal("Services order changed: update the test")
	}
	const p = "consul/acl/order.hcl"
	src := read(t, p)
	cases := []struct {
		name string
		edit func(testing.TB, []byte) []byte
		want string
	}{
		{"write on another service", func(tb testing.TB, s []byte) []byte {
			return append(s, "\nservice \"user\" {\n  policy = \"write\"\n}\n"...)
		}, `consul/acl/order.hcl: service "user": names a service order neither owns nor reads`},
		{"write on a dependency", func(tb testing.TB, s []byte) []byte {
			return setAttr(tb, s, "policy", `"write"`, "service=redis")
		}, `service "redis": policy "write" on a service order only reads`},
		{"every service", func(tb testing.TB, s []byte) []byte {
			return append(s, "\nservice_prefix \"\" {\n  policy = \"read\"\n}\n"...)
		}, `service_prefix "": service_prefix rules are not needed`},
		{"another service's keys", func(tb testing.TB, s []byte) []byte {
			return append(s, "\nkey_prefix \"opencommerce/gateway/\" {\n  policy = \"read\"\n}\n"...)
		}, `key_prefix "opencommerce/gateway/": outside order's own prefix`},
		{"writes its keys", func(tb testing.TB, s []byte) []byte {
			return setAttr(tb, s, "policy", `"write"`, "key_prefix=opencommerce/order/")
		}, `key_prefix "opencommerce/order/": policy "write", want read`},
		{"operator", func(tb testing.TB, s []byte) []byte {
			return append(s, "\noperator = \"write\"\n"...)
		}, `attribute "operator" grants a whole resource`},
		{"cannot register", func(tb testing.TB, s []byte) []byte {
			return setAttr(tb, s, "policy", `"read"`, "service=order")
		}, `no write on its own service "order"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantProblem(t, deploytest.CheckACLPolicy(p, c.edit(t, src), order), c.want)
		})
	}
}

// What a Nomad job's templates look up in Consul must be allowed by the
// service's ACL policy, or the template blocks forever under ACLs.
func TestConsulACLPoliciesAllowWhatNomadTemplatesRead(t *testing.T) {
	for _, svc := range deploytest.Services {
		p := nomadFile(svc.Name)
		services, keys, err := deploytest.NomadTemplateLookups(p, read(t, p))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range services {
			if !contains(svc.Reads, s) && !contains(svc.Own, s) {
				t.Errorf("%s: templates read service %q, which consul/acl/%s.hcl does not allow", p, s, svc.Name)
			}
		}
		for _, k := range keys {
			if !strings.HasPrefix(k, "opencommerce/"+svc.Name+"/") {
				t.Errorf("%s: templates read key %q outside opencommerce/%s/", p, k, svc.Name)
			}
		}
	}
}

func TestConsulConfigFilesParse(t *testing.T) {
	for _, svc := range deploytest.Services {
		p := "consul/config-entries/" + svc.Name + ".hcl"
		noProblems(t, deploytest.CheckConfigEntry(p, read(t, p), svc.Name))
	}
	// The agent configuration is HCL too.
	if err := deploytest.ParseHCL("consul/agent/dev.hcl", read(t, "consul/agent/dev.hcl")); err != nil {
		t.Error(err)
	}
	// Every KV seed file is JSON, and the seed script can reach it.
	for _, p := range glob(t, "consul/kv/*/*/*.json") {
		if err := deploytest.ValidJSON(read(t, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(root(t), "consul/seed.sh")); err != nil || fi.Mode()&0o111 == 0 {
		t.Errorf("consul/seed.sh missing or not executable: %v", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// The seed must also be accepted by the gateway's own parser, so the two
// rule sets cannot drift apart.
func TestConsulGatewayConfigSeedParsesInTheGateway(t *testing.T) {
	cfg, err := discovery.ParseGatewayConfig(read(t, gatewayKV))
	if err != nil {
		t.Fatalf("%s: the gateway rejects it: %v", gatewayKV, err)
	}
	for _, c := range deploytest.RateClasses {
		if l := cfg.Limit(c); l.Rate <= 0 || l.Burst < 1 {
			t.Errorf("%s: class %s: limit %+v", gatewayKV, c, l)
		}
	}
}
