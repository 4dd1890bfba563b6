package deploytest_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/tools/deploytest"
	"gopkg.in/yaml.v3"
)

// rules parses every rules file and returns them with the recorded names
// and the expression of each recording rule.
func rules(tb testing.TB) (map[string]*deploytest.RuleFile, map[string]string) {
	tb.Helper()
	files := map[string]*deploytest.RuleFile{}
	records := map[string]string{}
	paths := glob(tb, "observability/prometheus/rules/*.yml")
	if len(paths) == 0 {
		tb.Fatal("no rules under observability/prometheus/rules")
	}
	for _, p := range paths {
		f, err := deploytest.ParseRules(p, read(tb, p))
		if err != nil {
			tb.Fatal(err)
		}
		files[p] = f
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				if r.Record != "" {
					if _, dup := records[r.Record]; dup {
						tb.Errorf("%s: %s recorded twice", p, r.Record)
					}
					records[r.Record] = r.Expr
				}
			}
		}
	}
	return files, records
}

func known(tb testing.TB) func(string) bool {
	_, records := rules(tb)
	var names []string
	for n := range records {
		names = append(names, n)
	}
	return deploytest.KnownMetrics(names)
}

var wantSLOs = []string{"gateway-availability", "gateway-latency", "checkout-success"}

func TestPrometheusRulesFollowTheRules(t *testing.T) {
	files, records := rules(t)
	isKnown := known(t)
	alerts := map[string]bool{}
	for p, f := range files {
		noProblems(t, deploytest.CheckRules(p, f, isKnown))
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				if r.Alert != "" {
					alerts[r.Alert] = true
				}
			}
		}
	}
	noProblems(t, deploytest.CheckBurnRateAlerts("observability/prometheus/rules/slo.yml",
		files["observability/prometheus/rules/slo.yml"], records, wantSLOs))
	// The operational alerts the issue asks for.
	for _, a := range []string{"OutboxLagHigh", "EventsDeadLettered", "BrokerReconnectStorm", "NoHealthyInstance"} {
		if !alerts[a] {
			t.Errorf("no alert %s", a)
		}
	}
	// Gateway per route, RPC per service and method.
	for _, r := range []string{"route_method:oc_http_requests:rate5m", "route:oc_http_requests_errors:ratio_rate5m",
		"route:oc_http_request_duration_seconds:p99_5m", "service_method:oc_rpc_server_requests:rate5m",
		"service_method:oc_rpc_server_errors:ratio_rate5m", "service_method:oc_rpc_server_duration_seconds:p99_5m"} {
		if _, ok := records[r]; !ok {
			t.Errorf("no recording rule %s", r)
		}
	}
}

func TestPrometheusRuleChecksCatchBreakage(t *testing.T) {
	_, records := rules(t)
	const p = "observability/prometheus/rules/slo.yml"
	src := string(read(t, p))
	isKnown := known(t)
	cases := []struct{ name, old, new, want string }{
		{"wrong fast window", "ratio_rate5m > (14.4 * 0.001)", "ratio_rate30m > (14.4 * 0.001)",
			"alert GatewayAvailabilityBudgetBurnFast: severity page with windows 1h & 30m at 14.4x"},
		{"wrong factor", "oc_slo:gateway_latency_errors:ratio_rate6h > (6 * 0.01)\n            and\n          oc_slo:gateway_latency_errors:ratio_rate30m > (6 * 0.01)",
			"oc_slo:gateway_latency_errors:ratio_rate6h > (3 * 0.01)\n            and\n          oc_slo:gateway_latency_errors:ratio_rate30m > (3 * 0.01)",
			"SLO gateway-latency: no page alert over 6h & 30m at 6x"},
		{"mixed thresholds", "oc_slo:checkout_errors:ratio_rate5m > (14.4 * 0.005)", "oc_slo:checkout_errors:ratio_rate5m > (14.4 * 0.05)",
			"alert CheckoutSuccessBudgetBurnFast: windows use different thresholds"},
		{"ticket pages", "          severity: ticket\n          slo: checkout-success", "          severity: page\n          slo: checkout-success",
			"alert CheckoutSuccessBudgetBurnSlow: severity page with windows 3d & 6h at 1x"},
		{"single window", "oc_slo:gateway_availability_errors:ratio_rate1h > (14.4 * 0.001)\n            and\n", "",
			"alert GatewayAvailabilityBudgetBurnFast: want `<sli>:ratio_rate<long>"},
		{"no for", "        for: 15m\n", "", "alert GatewayAvailabilityBudgetBurnMedium: no for"},
		{"no severity", "          severity: page\n          slo: gateway-latency", "          slo: gateway-latency", "alert GatewayLatencyBudgetBurnFast: no labels.severity"},
		{"no annotations", `          summary: "checkout-success SLO: error budget burning 1x too fast (3d and 6h windows)"` + "\n", "",
			"alert CheckoutSuccessBudgetBurnSlow: no annotations.summary"},
		{"typo in metric", "sum(rate(oc_http_requests_total[5m]))\n", "sum(rate(oc_http_request_total[5m]))\n",
			`record oc_slo:gateway_availability_errors:ratio_rate5m: expr uses "oc_http_request_total"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(src, c.old) {
				t.Fatalf("%s no longer contains %q: update the test", p, c.old)
			}
			f, err := deploytest.ParseRules(p, []byte(strings.Replace(src, c.old, c.new, 1)))
			if err != nil {
				t.Fatal(err)
			}
			probs := append(deploytest.CheckRules(p, f, isKnown), deploytest.CheckBurnRateAlerts(p, f, records, wantSLOs)...)
			wantProblem(t, probs, c.want)
		})
	}
	t.Run("recording over the wrong range", func(t *testing.T) {
		f, _ := deploytest.ParseRules(p, []byte(src))
		recs := map[string]string{}
		for k, v := range records {
			recs[k] = v
		}
		recs["oc_slo:gateway_availability_errors:ratio_rate3d"] = strings.ReplaceAll(recs["oc_slo:gateway_availability_errors:ratio_rate3d"], "[3d]", "[1d]")
		wantProblem(t, deploytest.CheckBurnRateAlerts(p, f, recs, wantSLOs),
			"recording rule oc_slo:gateway_availability_errors:ratio_rate3d does not compute over [3d]")
	})
	t.Run("SLO without alerts", func(t *testing.T) {
		f, _ := deploytest.ParseRules(p, []byte(src))
		wantProblem(t, deploytest.CheckBurnRateAlerts(p, f, records, append(wantSLOs, "search-latency")), "no burn-rate alerts for SLO search-latency")
	})
}

func TestMetricNames(t *testing.T) {
	cases := []struct {
		expr string
		want []string
	}{
		{`sum by (route, le) (rate(oc_http_request_duration_seconds_bucket{route=~"$route",le="0.25"}[$__rate_interval]))`, []string{"oc_http_request_duration_seconds_bucket"}},
		{`histogram_quantile(0.99, sum(rate(a_bucket[5m])) by (le)) * 1e3 / b offset 5m`, []string{"a_bucket", "b"}},
		{`x:y:ratio_rate1h > (14.4 * 0.001) and on(slo) z unless ignoring (a) w`, []string{"x:y:ratio_rate1h", "z", "w"}},
		{`label_values(oc_rpc_server_requests_total{service=~"$service"}, method)`, []string{"oc_rpc_server_requests_total"}},
		{`absent(up{job="gateway"} == 1)`, []string{"up"}},
		{`max_over_time(m[1h:5m]) - 1 > bool 2`, []string{"m"}},
	}
	for _, c := range cases {
		if got := deploytest.MetricNames(c.expr); !slices.Equal(got, c.want) {
			t.Errorf("MetricNames(%q) = %q, want %q", c.expr, got, c.want)
		}
	}
}

func TestPrometheusConfigDiscoversThroughConsul(t *testing.T) {
	const p = "observability/prometheus/prometheus.yml"
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName         string           `yaml:"job_name"`
			ConsulSDConfigs []map[string]any `yaml:"consul_sd_configs"`
			RelabelConfigs  []struct {
				SourceLabels []string `yaml:"source_labels"`
				Regex        string   `yaml:"regex"`
				Action       string   `yaml:"action"`
			} `yaml:"relabel_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(read(t, p), &cfg); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	found := false
	for _, sc := range cfg.ScrapeConfigs {
		if len(sc.ConsulSDConfigs) == 0 {
			continue
		}
		found = true
		keep := false
		for _, rc := range sc.RelabelConfigs {
			if slices.Equal(rc.SourceLabels, []string{"__meta_consul_tags"}) && rc.Regex == ".*,metrics,.*" && rc.Action == "keep" {
				keep = true
			}
		}
		if !keep {
			t.Errorf("%s: job %s: no relabel keeping __meta_consul_tags =~ .*,metrics,.*", p, sc.JobName)
		}
	}
	if !found {
		t.Errorf("%s: no scrape config with consul_sd_configs", p)
	}
	for _, rf := range cfg.RuleFiles {
		if m, _ := filepath.Glob(filepath.Join(root(t), "observability/prometheus", rf)); len(m) == 0 {
			t.Errorf("%s: rule_files %q matches nothing", p, rf)
		}
	}
}

func TestGrafanaDashboardsAreProvisionedAndUseKnownMetrics(t *testing.T) {
	// The datasource uid every dashboard refers to.
	var ds struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	const dsPath = "observability/grafana/provisioning/datasources/prometheus.yml"
	if err := yaml.Unmarshal(read(t, dsPath), &ds); err != nil || len(ds.Datasources) != 1 || ds.Datasources[0].UID == "" {
		t.Fatalf("%s: want one datasource with a uid: %v %+v", dsPath, err, ds)
	}
	uid := ds.Datasources[0].UID

	// The dashboard provider reads the folder compose mounts the dashboards on.
	var prov struct {
		Providers []struct {
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	const provPath = "observability/grafana/provisioning/dashboards/opencommerce.yml"
	if err := yaml.Unmarshal(read(t, provPath), &prov); err != nil || len(prov.Providers) == 0 {
		t.Fatalf("%s: %v", provPath, err)
	}
	compose := string(read(t, "docker-compose.yml"))
	if !strings.Contains(compose, "./observability/grafana/dashboards:"+prov.Providers[0].Options.Path) {
		t.Errorf("%s: provider path %s is not where docker-compose.yml mounts the dashboards", provPath, prov.Providers[0].Options.Path)
	}

	isKnown := known(t)
	uids := map[string]string{}
	files := glob(t, "observability/grafana/dashboards/*.json")
	if len(files) < 5 {
		t.Errorf("want at least 5 dashboards, found %v", files)
	}
	for _, p := range files {
		noProblems(t, deploytest.CheckDashboard(p, read(t, p), uid, isKnown, uids))
	}
	for _, want := range []string{"oc-gateway-red", "oc-rpc", "oc-orders", "oc-broker-outbox", "oc-saturation"} {
		if _, ok := uids[want]; !ok {
			t.Errorf("no dashboard with uid %s", want)
		}
	}
}

func TestGrafanaDashboardChecksCatchBreakage(t *testing.T) {
	const p = "observability/grafana/dashboards/rpc.json"
	src := string(read(t, p))
	isKnown := known(t)
	cases := []struct{ name, old, new, want string }{
		{"unknown metric", "oc_rpc_client_late_replies_total", "oc_rpc_late_replies_total", `expr uses "oc_rpc_late_replies_total"`},
		{"no uid", `"uid": "oc-rpc"`, `"uid": ""`, `uid "" is not a fixed uid`},
		{"other datasource", `"uid": "prometheus"`, `"uid": "P1809F7CD0C75ACF3"`, `datasource is not the provisioned uid "prometheus"`},
		{"not JSON", `{`, `[`, p + ": "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(src, c.old) {
				t.Fatalf("%s no longer contains %q: update the test", p, c.old)
			}
			wantProblem(t, deploytest.CheckDashboard(p, []byte(strings.Replace(src, c.old, c.new, 1)), "prometheus", isKnown, map[string]string{}), c.want)
		})
	}
	t.Run("duplicate uid", func(t *testing.T) {
		uids := map[string]string{"oc-rpc": "observability/grafana/dashboards/other.json"}
		wantProblem(t, deploytest.CheckDashboard(p, []byte(src), "prometheus", isKnown, uids), `uid "oc-rpc" is also the uid of observability/grafana/dashboards/other.json`)
	})
}

// promtool runs the real Prometheus checks. Without promtool the test is
// skipped, except under CI=true where it must be installed (Debian package
// "prometheus").
func promtool(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("promtool is required under CI=true (apt-get install prometheus): %v", err)
		}
		t.Skipf("promtool not installed (apt-get install prometheus): %v", err)
	}
	return bin
}

func runPromtool(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestPromtoolChecksRulesAndRunsTheirUnitTests(t *testing.T) {
	dir := filepath.Join(root(t), "observability/prometheus")
	rulesFiles, _ := filepath.Glob(filepath.Join(dir, "rules/*.yml"))
	if out, err := runPromtool(t, dir, append([]string{"check", "rules"}, rulesFiles...)...); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	tests, _ := filepath.Glob(filepath.Join(dir, "tests/*.yml"))
	if len(tests) == 0 {
		t.Fatal("no promtool unit tests under observability/prometheus/tests")
	}
	out, err := runPromtool(t, dir, append([]string{"test", "rules"}, tests...)...)
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
	// The unit tests cover the burn-rate and outbox-lag alerts at least.
	all := ""
	for _, f := range tests {
		b, _ := os.ReadFile(f)
		all += string(b)
	}
	for _, a := range []string{"GatewayAvailabilityBudgetBurnFast", "GatewayAvailabilityBudgetBurnSlow", "OutboxLagHigh"} {
		if !strings.Contains(all, "alertname: "+a) {
			t.Errorf("no promtool unit test for %s", a)
		}
	}
}

// Debian's promtool is built without Consul service discovery ("field
// consul_sd_configs not found"). Then the configuration is checked with
// each consul_sd_configs swapped for an equivalent file_sd_configs, so the
// rest (relabelling, rule files) is still checked by Prometheus itself;
// TestPrometheusConfigDiscoversThroughConsul checks the Consul part.
func TestPromtoolChecksTheConfig(t *testing.T) {
	dir := filepath.Join(root(t), "observability/prometheus")
	out, err := runPromtool(t, dir, "check", "config", "prometheus.yml")
	if err == nil {
		return
	}
	if !strings.Contains(out, "consul_sd_configs not found") {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
	t.Log("this promtool lacks Consul SD; checking with file_sd_configs in its place")
	tmp := t.TempDir()
	if err := os.CopyFS(filepath.Join(tmp), os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(read(t, "observability/prometheus/prometheus.yml"), &doc); err != nil {
		t.Fatal(err)
	}
	if !swapConsulSD(&doc) {
		t.Fatal("no consul_sd_configs found to swap")
	}
	b, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "prometheus.yml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "targets.json"), []byte(`[]`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runPromtool(t, tmp, "check", "config", "prometheus.yml"); err != nil {
		t.Fatalf("promtool check config (file_sd in place of consul_sd): %v\n%s", err, out)
	}
}

// swapConsulSD replaces every consul_sd_configs key of a YAML document with
// file_sd_configs reading targets.json; it reports whether it found one.
func swapConsulSD(n *yaml.Node) bool {
	found := false
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "consul_sd_configs" {
				n.Content[i].Value = "file_sd_configs"
				n.Content[i+1] = &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{{
					Kind: yaml.MappingNode, Content: []*yaml.Node{
						{Kind: yaml.ScalarNode, Value: "files"},
						{Kind: yaml.SequenceNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: "targets.json"}}},
					}}}}
				found = true
			}
		}
	}
	for _, c := range n.Content {
		found = swapConsulSD(c) || found
	}
	return found
}

// Every dashboard expression must be valid PromQL: promtool checks them as
// recording rules, with Grafana's variables given plausible values.
func TestPromtoolParsesDashboardExpressions(t *testing.T) {
	promtool(t)
	repl := strings.NewReplacer("$__rate_interval", "1m", "$__interval", "1m", "$__range", "1h")
	var sb strings.Builder
	sb.WriteString("groups:\n  - name: dashboards\n    rules:\n")
	n := 0
	for _, p := range glob(t, "observability/grafana/dashboards/*.json") {
		exprs, err := deploytest.DashboardExprs(read(t, p))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, e := range exprs {
			e = repl.Replace(e)
			for _, v := range []string{"$route", "$service", "$method", "$job"} {
				e = strings.ReplaceAll(e, v, ".*")
			}
			q, _ := yaml.Marshal(e)
			fmt.Fprintf(&sb, "      - record: dashboard:expr%d\n        expr: %s", n, q)
			n++
		}
	}
	f := filepath.Join(t.TempDir(), "dashboards.yml")
	if err := os.WriteFile(f, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runPromtool(t, filepath.Dir(f), "check", "rules", f)
	if err != nil {
		t.Fatalf("dashboard expressions are not valid PromQL: %v\n%s", err, out)
	}
}
