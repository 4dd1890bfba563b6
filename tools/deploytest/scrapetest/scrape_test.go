package scrapetest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/platform"
	"github.com/opencommerce/opencommerce/platform/platformtest"
	"github.com/opencommerce/opencommerce/tools/deploytest"
)

// A real Prometheus scrapes a running platform and every PromQL expression
// of the dashboards and recording rules returns data after some traffic.
//
// Two platforms run: one with every module (job "opencommerce", target
// "all") and a second gateway-only one on the same vhost (job "gateway"),
// so that Prometheus has several targets as in a deployment. Prometheus
// runs with the repository's prometheus.yml, whose Consul discovery is
// swapped for a target file, and its rule files, every interval shortened
// to 1s.
func TestPrometheusScrapesThePlatformAndEveryExpressionHasData(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		testenv.Unavailable(t, "prometheus (apt-get install prometheus, or scripts/deps.sh --test)", err)
	}
	root, err := deploytest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}

	a := platformtest.Start(t, platformtest.Options{Tweak: wideRates})
	b := platformtest.Start(t, platformtest.Options{Targets: "gateway", AMQPURL: a.AMQPURL, Tweak: func(c *platform.Config) {
		c.NATS.URL, c.NATS.Prefix = a.Config.NATS.URL, a.Config.NATS.Prefix
	}})

	targets := []targetGroup{
		{Targets: []string{hostOf(t, a.AdminURL)}, Labels: map[string]string{"job": "opencommerce", "target": "all"}},
		{Targets: []string{hostOf(t, b.AdminURL)}, Labels: map[string]string{"job": "gateway", "target": "gateway"}},
	}
	prom := startPrometheus(t, bin, root, targets)
	prom.awaitTargetsUp(t, len(targets)+1) // and Prometheus itself

	// Two rounds of traffic with scrapes between them: a counter series is
	// born with its first increment, which rate() cannot see; the second
	// round moves every series the first one made.
	start := time.Now()
	shop := setUp(t, a, b)
	shop.round(t)
	// Barrier: every target scraped after the first round, so the second
	// round's increments are seen against a sample of the first.
	prom.awaitScrapedAfter(t, time.Now())
	shop.round(t)
	t.Logf("traffic took %v", time.Since(start).Round(time.Millisecond))

	exprs := expressions(t, root)
	start = time.Now()
	empty, nan := prom.awaitData(t, exprs, 30*time.Second)
	t.Logf("waited %v for data", time.Since(start).Round(time.Millisecond))
	if len(empty)+len(nan) > 0 {
		t.Errorf("of %d expressions, %d returned no data and %d only NaN after the traffic:", len(exprs), len(empty), len(nan))
		for _, e := range empty {
			t.Errorf("  no data: %s\n      %s", e.where, e.query)
		}
		for _, e := range nan {
			t.Errorf("  only NaN: %s\n      %s", e.where, e.query)
		}
	}
	t.Logf("%d expressions checked against %d scrape targets", len(exprs), len(targets)+1)
}

// wideRates opens platform A's gateway rate classes: the test signs in
// several accounts from one IP. Platform B keeps the defaults, so that the
// test can run into its login limit.
func wideRates(c *platform.Config) {
	c.Services.Gateway.RateLogin = "1000/1s:1000"
	c.Services.Gateway.RateSearch = "1000/1s:1000"
	c.Services.Gateway.RateCheckout = "1000/1s:1000"
	c.Services.Gateway.RateDefault = "5000/1s:5000"
}

func hostOf(t *testing.T, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		t.Fatalf("base URL %q: %v", base, err)
	}
	return u.Host
}

// ---- Prometheus ----

// targetGroup is one entry of a file_sd target file.
type targetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

type prometheus struct {
	base string
	log  *bytes.Buffer
	http *http.Client
}

// startPrometheus writes the derived configuration and rules under a
// temporary directory, starts Prometheus on a free port and waits until it
// is ready. The process is killed when the test ends.
func startPrometheus(t *testing.T, bin, root string, targets []targetGroup) *prometheus {
	t.Helper()
	dir := t.TempDir()
	addr := testenv.FreeAddr(t)

	sd, err := json.Marshal(targets)
	if err != nil {
		t.Fatal(err)
	}
	sdFile := filepath.Join(dir, "targets.json")
	writeFile(t, sdFile, sd)

	rulesDir := filepath.Join(dir, "rules")
	if err := os.Mkdir(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ruleFiles, _ := filepath.Glob(filepath.Join(root, "observability/prometheus/rules/*.yml"))
	if len(ruleFiles) == 0 {
		t.Fatal("no rule files under observability/prometheus/rules")
	}
	for _, f := range ruleFiles {
		writeFile(t, filepath.Join(rulesDir, filepath.Base(f)), fastRules(t, f))
	}

	cfg := deriveConfig(t, filepath.Join(root, "observability/prometheus/prometheus.yml"), sdFile, filepath.Join(rulesDir, "*.yml"), addr)
	cfgFile := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfgFile, cfg)

	p := &prometheus{base: "http://" + addr, log: &bytes.Buffer{}, http: &http.Client{Timeout: 10 * time.Second}}
	cmd := exec.Command(bin,
		"--config.file="+cfgFile,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--storage.tsdb.retention.time=1h",
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("prometheus log:\n%s", p.log)
		}
	})

	if !testenv.Poll(20*time.Second, func() bool {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("prometheus exited while starting: %v\n%s", err, p.log)
		default:
		}
		resp, err := p.http.Get(p.base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}) {
		t.Fatalf("prometheus not ready within 20s\n%s", p.log)
	}
	return p
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// deriveConfig is the repository's prometheus.yml for this test: 1s scrape
// and evaluation intervals, the given rule files, every consul_sd_configs
// replaced by the target file sdFile (relabelling that reads Consul's
// __meta labels dropped: the target file carries job and target itself),
// Prometheus's own target at addr, and no job for the Consul agent's metrics.
func deriveConfig(t *testing.T, path, sdFile, rules, addr string) []byte {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(src, &cfg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	global, _ := cfg["global"].(map[string]any)
	if global == nil {
		global = map[string]any{}
		cfg["global"] = global
	}
	global["scrape_interval"], global["scrape_timeout"], global["evaluation_interval"] = "1s", "1s", "1s"
	cfg["rule_files"] = []any{rules}

	jobs, _ := cfg["scrape_configs"].([]any)
	swapped, self := 0, 0
	var keptJobs []any
	for _, j := range jobs {
		job, _ := j.(map[string]any)
		if job == nil {
			continue
		}
		// The Consul agent's own metrics: no agent runs here (make
		// test-deploy scrapes a real one).
		if job["job_name"] == "consul" {
			continue
		}
		keptJobs = append(keptJobs, job)
		delete(job, "scrape_interval")
		delete(job, "scrape_timeout")
		if _, ok := job["consul_sd_configs"]; ok {
			delete(job, "consul_sd_configs")
			job["file_sd_configs"] = []any{map[string]any{"files": []any{sdFile}, "refresh_interval": "1s"}}
			var kept []any
			rcs, _ := job["relabel_configs"].([]any)
			for _, rc := range rcs {
				if !readsConsulMeta(rc) {
					kept = append(kept, rc)
				}
			}
			if len(kept) > 0 {
				job["relabel_configs"] = kept
			} else {
				delete(job, "relabel_configs")
			}
			swapped++
		}
		if job["job_name"] == "prometheus" {
			job["static_configs"] = []any{map[string]any{"targets": []any{addr}}}
			self++
		}
	}
	cfg["scrape_configs"] = keptJobs
	if swapped == 0 || self != 1 {
		t.Fatalf("%s: want a consul_sd_configs job and a prometheus job to rewrite; found %d and %d: update the test", path, swapped, self)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readsConsulMeta reports whether a relabel rule reads a __meta_consul_ label.
func readsConsulMeta(rc any) bool {
	m, _ := rc.(map[string]any)
	labels, _ := m["source_labels"].([]any)
	for _, l := range labels {
		if s, _ := l.(string); strings.HasPrefix(s, "__meta_consul_") {
			return true
		}
	}
	return false
}

// fastRules is a rules file with every group evaluated each second.
func fastRules(t *testing.T, path string) []byte {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := yaml.Unmarshal(src, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	groups, _ := f["groups"].([]any)
	for _, g := range groups {
		if m, ok := g.(map[string]any); ok {
			m["interval"] = "1s"
		}
	}
	out, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// awaitTargetsUp waits until Prometheus scraped n targets successfully.
func (p *prometheus) awaitTargetsUp(t *testing.T, n int) {
	t.Helper()
	var last []string
	if !testenv.Poll(20*time.Second, func() bool {
		var r struct {
			Data struct {
				ActiveTargets []struct {
					ScrapeURL string `json:"scrapeUrl"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"activeTargets"`
			} `json:"data"`
		}
		p.get(t, "/api/v1/targets?state=active", &r)
		up := 0
		last = last[:0]
		for _, tg := range r.Data.ActiveTargets {
			last = append(last, fmt.Sprintf("%s %s %s", tg.ScrapeURL, tg.Health, tg.LastError))
			if tg.Health == "up" {
				up++
			}
		}
		return up == n && len(r.Data.ActiveTargets) == n
	}) {
		t.Fatalf("want %d targets up within 20s, have:\n%s", n, strings.Join(last, "\n"))
	}
}

// awaitScrapedAfter waits until Prometheus has scraped every active
// target (successfully) after since.
func (p *prometheus) awaitScrapedAfter(t *testing.T, since time.Time) {
	t.Helper()
	var last []string
	if !testenv.Poll(30*time.Second, func() bool {
		var r struct {
			Data struct {
				ActiveTargets []struct {
					ScrapeURL  string    `json:"scrapeUrl"`
					Health     string    `json:"health"`
					LastScrape time.Time `json:"lastScrape"`
				} `json:"activeTargets"`
			} `json:"data"`
		}
		p.get(t, "/api/v1/targets?state=active", &r)
		last = last[:0]
		done := len(r.Data.ActiveTargets) > 0
		for _, tg := range r.Data.ActiveTargets {
			last = append(last, fmt.Sprintf("%s %s %s", tg.ScrapeURL, tg.Health, tg.LastScrape.Format(time.RFC3339Nano)))
			if tg.Health != "up" || !tg.LastScrape.After(since) {
				done = false
			}
		}
		return done
	}) {
		t.Fatalf("targets not all scraped after %s within 30s:\n%s", since.Format(time.RFC3339Nano), strings.Join(last, "\n"))
	}
}

func (p *prometheus) get(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := p.http.Get(p.base + path)
	if err != nil {
		t.Fatalf("prometheus %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("prometheus %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("prometheus %s: %v in %s", path, err, b)
	}
}

// query runs an instant query and returns the number of series (or 1 for a
// scalar or string) and whether every value is NaN (0/0, a quantile of no
// observations). An expression Prometheus refuses fails the test.
func (p *prometheus) query(t *testing.T, e expr) (n int, allNaN bool) {
	t.Helper()
	resp, err := p.http.PostForm(p.base+"/api/v1/query", url.Values{"query": {e.query}})
	if err != nil {
		t.Fatalf("query %s: %v", e.query, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &r); err != nil || r.Status != "success" {
		t.Fatalf("%s: Prometheus refuses %q: %d %s", e.where, e.query, resp.StatusCode, b)
	}
	if r.Data.ResultType != "vector" {
		return 1, false
	}
	allNaN = len(r.Data.Result) > 0
	for _, s := range r.Data.Result {
		allNaN = allNaN && s.Value[1] == "NaN"
	}
	return len(r.Data.Result), allNaN
}

// awaitData queries every expression until each returned a number (not
// only NaN: 0/0, a quantile of nothing) once, or until within has passed;
// it returns those that returned no series and those that returned only
// NaN.
func (p *prometheus) awaitData(t *testing.T, exprs []expr, within time.Duration) (empty, nan []expr) {
	t.Helper()
	deadline := time.Now().Add(within)
	pending := exprs
	for {
		empty, nan = nil, nil
		for _, e := range pending {
			switch n, allNaN := p.query(t, e); {
			case n == 0:
				empty = append(empty, e)
			case allNaN:
				nan = append(nan, e)
			}
		}
		pending = append(append([]expr{}, empty...), nan...)
		if len(pending) == 0 || time.Now().After(deadline) {
			return empty, nan
		}
		time.Sleep(time.Second)
	}
}

// ---- expressions ----

// expr is one PromQL expression to check and where it comes from.
type expr struct{ where, query string }

var (
	// grafanaVars are Grafana's built-in interval variables, replaced by
	// values that suit a 1s scrape interval and a short test.
	grafanaVars = strings.NewReplacer("$__rate_interval", "1m", "${__rate_interval}", "1m",
		"$__interval", "1m", "${__interval}", "1m", "$__range", "1h", "${__range}", "1h")
	// dashboardVar is a dashboard template variable, used in =~ matchers:
	// every value matches.
	dashboardVar = regexp.MustCompile(`\$\{\w+(:\w+)?\}|\$\w+`)
	labelValues  = regexp.MustCompile(`^\s*label_values\((.*),\s*(\w+)\s*\)\s*$`)
)

// substitute fills in the Grafana variables of a dashboard expression.
func substitute(q string) string {
	return dashboardVar.ReplaceAllString(grafanaVars.Replace(q), ".*")
}

// expressions lists every panel query and query variable of the
// dashboards and every recording rule's expression.
func expressions(t *testing.T, root string) []expr {
	t.Helper()
	var out []expr
	dashboards, _ := filepath.Glob(filepath.Join(root, "observability/grafana/dashboards/*.json"))
	if len(dashboards) == 0 {
		t.Fatal("no dashboards under observability/grafana/dashboards")
	}
	for _, f := range dashboards {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d deploytest.Dashboard
		if err := json.Unmarshal(src, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		name := filepath.Base(f)
		var walk func([]deploytest.Panel)
		walk = func(ps []deploytest.Panel) {
			for _, pn := range ps {
				walk(pn.Panels)
				for _, tg := range pn.Targets {
					if strings.TrimSpace(tg.Expr) != "" {
						out = append(out, expr{fmt.Sprintf("%s: panel %q", name, pn.Title), substitute(tg.Expr)})
					}
				}
			}
		}
		walk(d.Panels)
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			var q struct {
				Query string `json:"query"`
			}
			if err := json.Unmarshal(v.Query, &q); err != nil {
				_ = json.Unmarshal(v.Query, &q.Query)
			}
			m := labelValues.FindStringSubmatch(q.Query)
			if m == nil {
				t.Errorf("%s: variable %s: query %q is not label_values(<selector>, <label>): update the test", name, v.Name, q.Query)
				continue
			}
			// The values Grafana would offer: the label's values on the selector's series.
			sel, nonEmpty := strings.TrimSpace(substitute(m[1])), m[2]+`!=""`
			if strings.HasSuffix(sel, "}") {
				sel = strings.TrimSuffix(sel, "}") + "," + nonEmpty + "}"
			} else {
				sel += "{" + nonEmpty + "}"
			}
			out = append(out, expr{fmt.Sprintf("%s: variable %s", name, v.Name), fmt.Sprintf("count by (%s) (%s)", m[2], sel)})
		}
	}
	ruleFiles, _ := filepath.Glob(filepath.Join(root, "observability/prometheus/rules/*.yml"))
	for _, f := range ruleFiles {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rf, err := deploytest.ParseRules(f, src)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				if r.Record != "" {
					out = append(out, expr{fmt.Sprintf("%s: record %s", filepath.Base(f), r.Record), r.Expr})
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].where < out[j].where })
	return out
}
