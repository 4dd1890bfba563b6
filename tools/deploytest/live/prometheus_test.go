package live_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// checkPrometheus runs the Prometheus built from its Go module (Debian's
// cannot read consul_sd_configs) with the repository's configuration
// against a Consul agent with ACLs on (default deny), holding a token of
// the policy consul/acl/prometheus.hcl and nothing else, and wants every
// opencommerce process of the deployment discovered and scraped.
func (c *cluster) checkPrometheus(t *testing.T) {
	// A second Consul, with ACLs: the deployment's services are mirrored
	// into it (the first one runs without ACLs, as consul/agent/dev.hcl).
	const mgmt = "3f0c3bb8-6a36-4a49-a77e-2f1a4cdbe0a1"
	httpPort := freePort(t)
	acl := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	dir := filepath.Join(c.dir, "acl")
	_ = os.MkdirAll(dir, 0o755)
	p := start(t, dir, "consul-acl", nil, c.tl.consul, "agent", "-dev",
		"-config-file", filepath.Join(c.root, "consul/agent/dev.hcl"),
		"-node", "oc-deploy-acl", "-bind", "127.0.0.1", "-client", "127.0.0.1",
		"-http-port", fmt.Sprint(httpPort), "-dns-port", "-1", "-grpc-port", "-1",
		"-serf-lan-port", fmt.Sprint(freePort(t)), "-serf-wan-port", fmt.Sprint(freePort(t)),
		"-server-port", fmt.Sprint(freePort(t)),
		"-hcl", `ports { grpc_tls = -1 }`,
		"-hcl", `acl { enabled = true
default_policy = "deny"
tokens { initial_management = "`+mgmt+`" } }`)
	auth := []string{"X-Consul-Token", mgmt}
	eventually(t, time.Minute, "the ACL agent answers with its management token", func() (bool, string) {
		if p.exited() {
			t.Fatalf("consul-acl exited:\n%s", p.tail())
		}
		st, b, _, err := call("GET", acl+"/v1/agent/self", nil, nil, auth...)
		return st == 200, fmt.Sprintf("%d %.200s %v", st, b, err)
	})
	rules, err := os.ReadFile(filepath.Join(c.root, "consul/acl/prometheus.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	var pol struct{ ID string }
	if st, b, _, err := call("PUT", acl+"/v1/acl/policy", map[string]any{"Name": "prometheus", "Rules": string(rules)}, &pol, auth...); st != 200 {
		t.Fatalf("create policy: %d %s %v", st, b, err)
	}
	var tok struct{ SecretID string }
	if st, b, _, err := call("PUT", acl+"/v1/acl/token", map[string]any{"Policies": []map[string]string{{"ID": pol.ID}}}, &tok, auth...); st != 200 {
		t.Fatalf("create token: %d %s %v", st, b, err)
	}

	// Mirror every registered instance (address, port, tags, meta).
	var names map[string][]string
	call("GET", c.consul+"/v1/catalog/services", nil, &names)
	want := map[string]bool{}
	for name := range names {
		var insts []struct {
			ServiceID, ServiceAddress string
			ServicePort               int
			ServiceTags               []string
			ServiceMeta               map[string]string
		}
		call("GET", c.consul+"/v1/catalog/service/"+name, nil, &insts)
		for _, in := range insts {
			reg := map[string]any{"ID": in.ServiceID, "Name": name, "Address": in.ServiceAddress, "Port": in.ServicePort,
				"Tags": in.ServiceTags, "Meta": in.ServiceMeta}
			if st, b, _, err := call("PUT", acl+"/v1/agent/service/register", reg, nil, auth...); st != 200 {
				t.Fatalf("mirror %s: %d %s %v", name, st, b, err)
			}
			if slices.Contains(in.ServiceTags, "metrics") {
				want[fmt.Sprintf("%s:%d", in.ServiceAddress, in.ServicePort)] = true
			}
		}
	}
	if len(want) < len(jobs) {
		t.Fatalf("only %d instances tagged metrics in Consul: %v", len(want), want)
	}

	// The repository's configuration, pointed at the ACL agent with the
	// Prometheus token (as the Nomad job does with replace()).
	raw, err := os.ReadFile(filepath.Join(c.root, "observability/prometheus/prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(strings.ReplaceAll(string(raw), "consul:8500", strings.TrimPrefix(acl, "http://"))), &cfg); err != nil {
		t.Fatal(err)
	}
	delete(cfg, "rule_files") // discovery and scraping only
	sds := 0
	for _, sc := range cfg["scrape_configs"].([]any) {
		for _, sd := range asSlice(sc.(map[string]any)["consul_sd_configs"]) {
			sd.(map[string]any)["token"] = tok.SecretID
			sd.(map[string]any)["refresh_interval"] = "2s"
			sds++
		}
		sc.(map[string]any)["scrape_interval"] = "2s"
		sc.(map[string]any)["scrape_timeout"] = "1s"
	}
	if sds == 0 {
		t.Fatal("observability/prometheus/prometheus.yml has no consul_sd_configs")
	}
	out, _ := yaml.Marshal(cfg)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, out, 0o644); err != nil {
		t.Fatal(err)
	}
	promPort := freePort(t)
	prom := fmt.Sprintf("http://127.0.0.1:%d", promPort)
	pp := start(t, dir, "prometheus", nil, c.tl.prometheus, "--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"), fmt.Sprintf("--web.listen-address=127.0.0.1:%d", promPort))
	eventually(t, 2*time.Minute, "prometheus scrapes every opencommerce instance found in Consul", func() (bool, string) {
		if pp.exited() {
			t.Fatalf("prometheus exited:\n%s", pp.tail())
		}
		var res struct {
			Data struct {
				ActiveTargets []struct {
					ScrapeURL string
					Health    string
					LastError string
					Labels    map[string]string
				}
			}
		}
		call("GET", prom+"/api/v1/targets?state=active", nil, &res)
		up := map[string]bool{}
		var bad []string
		for _, tg := range res.Data.ActiveTargets {
			if tg.Labels["job"] == "prometheus" || tg.Labels["job"] == "consul" {
				continue
			}
			u, err := url.Parse(tg.ScrapeURL)
			if err == nil && tg.Health == "up" {
				up[u.Host] = true
			} else {
				bad = append(bad, tg.ScrapeURL+" "+tg.Health+" "+tg.LastError)
			}
		}
		for w := range want {
			if !up[w] {
				return false, fmt.Sprintf("%s not up; %d targets up, not up: %v", w, len(up), bad)
			}
		}
		return true, ""
	})
	t.Logf("prometheus discovered and scraped %d instances through Consul with ACLs on", len(want))
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
