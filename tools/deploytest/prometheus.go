package deploytest

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// RuleFile is a Prometheus rules file.
type RuleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []Rule `yaml:"rules"`
	} `yaml:"groups"`
}

// Rule is one recording or alerting rule.
type Rule struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// ParseRules parses a rules file.
func ParseRules(path string, src []byte) (*RuleFile, error) {
	var f RuleFile
	if err := yaml.Unmarshal(src, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(f.Groups) == 0 {
		return nil, fmt.Errorf("%s: no groups", path)
	}
	return &f, nil
}

// Recorded returns the names the rules record.
func (f *RuleFile) Recorded() []string {
	var out []string
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				out = append(out, r.Record)
			}
		}
	}
	return out
}

// CheckRules checks a rules file: every rule records or alerts and has an
// expression naming only known metrics; every alert has for,
// labels.severity (page or ticket) and the annotations summary and
// description.
func CheckRules(path string, f *RuleFile, known func(string) bool) []string {
	var p problems
	for _, g := range f.Groups {
		for i, r := range g.Rules {
			where := fmt.Sprintf("%s: group %s: rule %d", path, g.Name, i)
			switch {
			case r.Alert != "":
				where = fmt.Sprintf("%s: group %s: alert %s", path, g.Name, r.Alert)
			case r.Record != "":
				where = fmt.Sprintf("%s: group %s: record %s", path, g.Name, r.Record)
			default:
				p.add(where, "neither record nor alert")
			}
			if strings.TrimSpace(r.Expr) == "" {
				p.add(where, "no expr")
			}
			for _, m := range MetricNames(r.Expr) {
				if !known(m) {
					p.add(where, "expr uses %q, which is neither in the brief's metric list nor recorded", m)
				}
			}
			if r.Alert == "" {
				continue
			}
			if r.For == "" {
				p.add(where, "no for")
			}
			switch r.Labels["severity"] {
			case "page", "ticket":
			case "":
				p.add(where, "no labels.severity")
			default:
				p.add(where, "severity %q, want page or ticket", r.Labels["severity"])
			}
			for _, a := range []string{"summary", "description"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					p.add(where, "no annotations.%s", a)
				}
			}
		}
	}
	return p.list
}

// burn is one window of a burn-rate condition: ratio over window > factor × budget.
var burnCond = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*):ratio_rate(\w+)\s*>\s*\(?\s*([0-9.]+)\s*\*\s*([0-9.]+)\s*\)?`)

// BurnRatePolicy is the multi-window, multi-burn-rate policy of the SRE
// workbook: for each severity, the accepted (long, short, factor) triples.
var BurnRatePolicy = map[string][][3]string{
	"page":   {{"1h", "5m", "14.4"}, {"6h", "30m", "6"}},
	"ticket": {{"3d", "6h", "1"}},
}

// CheckBurnRateAlerts checks the SLO alerts (those with a label "slo"):
// each compares one SLI's ratio over a long and a short window with the
// same factor and budget, the windows and factor match its severity in
// BurnRatePolicy, every SLO has every window pair of the policy, the
// recording rule of each window exists and computes over that window, and
// the SLOs named in wantSLOs exist.
func CheckBurnRateAlerts(path string, f *RuleFile, records map[string]string, wantSLOs []string) []string {
	var p problems
	have := map[string]map[string]bool{} // slo -> "long/short/factor"
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			slo := r.Labels["slo"]
			if r.Alert == "" || slo == "" {
				continue
			}
			where := fmt.Sprintf("%s: alert %s", path, r.Alert)
			conds := burnCond.FindAllStringSubmatch(r.Expr, -1)
			if len(conds) != 2 || !strings.Contains(r.Expr, " and") {
				p.add(where, "want `<sli>:ratio_rate<long> > (f * budget) and <sli>:ratio_rate<short> > (f * budget)`, got %q", r.Expr)
				continue
			}
			long, short := conds[0], conds[1]
			if long[1] != short[1] {
				p.add(where, "windows compare different SLIs %s and %s", long[1], short[1])
			}
			if long[3] != short[3] || long[4] != short[4] {
				p.add(where, "windows use different thresholds (%s*%s, %s*%s)", long[3], long[4], short[3], short[4])
			}
			if b, err := strconv.ParseFloat(long[4], 64); err != nil || b <= 0 || b >= 1 {
				p.add(where, "error budget %q is not in (0, 1)", long[4])
			}
			sev := r.Labels["severity"]
			ok := false
			for _, w := range BurnRatePolicy[sev] {
				if w == [3]string{long[2], short[2], long[3]} {
					ok = true
				}
			}
			if !ok {
				p.add(where, "severity %s with windows %s & %s at %sx; the policy allows %v", sev, long[2], short[2], long[3], BurnRatePolicy[sev])
			}
			if have[slo] == nil {
				have[slo] = map[string]bool{}
			}
			have[slo][long[2]+"/"+short[2]+"/"+long[3]] = true
			for _, c := range [][]string{long, short} {
				rec := c[1] + ":ratio_rate" + c[2]
				expr, found := records[rec]
				if !found {
					p.add(where, "no recording rule %s", rec)
				} else if !strings.Contains(expr, "["+c[2]+"]") {
					p.add(where, "recording rule %s does not compute over [%s]", rec, c[2])
				}
			}
		}
	}
	for _, slo := range wantSLOs {
		if have[slo] == nil {
			p.add(path, "no burn-rate alerts for SLO %s", slo)
		}
	}
	slos := make([]string, 0, len(have))
	for s := range have {
		slos = append(slos, s)
	}
	sort.Strings(slos)
	for _, slo := range slos {
		for sev, ws := range BurnRatePolicy {
			for _, w := range ws {
				if !have[slo][w[0]+"/"+w[1]+"/"+w[2]] {
					p.add(path, "SLO %s: no %s alert over %s & %s at %sx", slo, sev, w[0], w[1], w[2])
				}
			}
		}
	}
	return p.list
}

var (
	promStrings   = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	promMatchers  = regexp.MustCompile(`\{[^{}]*\}`)
	promRanges    = regexp.MustCompile(`\[[^\[\]]*\]`)
	promGrouping  = regexp.MustCompile(`(?i)\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	promOffset    = regexp.MustCompile(`(?i)\boffset\s+-?[0-9a-z]+`)
	promVariables = regexp.MustCompile(`\$\{[^}]*\}|\$\w+`)
	promNumbers   = regexp.MustCompile(`(?i)(^|[^a-z0-9_:])(0x[0-9a-f]+|[0-9]*\.?[0-9]+(e[+-]?[0-9]+)?)`)
	promIdents    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	promKeywords  = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "inf": true, "nan": true,
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true, "offset": true, "atan2": true}
)

// MetricNames returns the metric names a PromQL expression reads, without
// a full parser: strings, label matchers, ranges, grouping clauses, Grafana
// variables and numbers are dropped, function names (followed by "(") and
// keywords are skipped. Grafana's label_values(<selector>, <label>) reads
// only its selector.
func MetricNames(expr string) []string {
	e := promStrings.ReplaceAllString(expr, `""`)
	e = promVariables.ReplaceAllString(e, " ")
	for {
		n := promMatchers.ReplaceAllString(e, " ")
		n = promRanges.ReplaceAllString(n, " ")
		if n == e {
			break
		}
		e = n
	}
	e = promGrouping.ReplaceAllString(e, " ")
	e = promOffset.ReplaceAllString(e, " ")
	if i := strings.Index(e, "label_values("); i >= 0 {
		inner := e[i+len("label_values("):]
		if j := strings.LastIndex(inner, ","); j >= 0 {
			inner = inner[:j]
		}
		e = inner
	}
	e = promNumbers.ReplaceAllString(e, "$1 ")
	seen := map[string]bool{}
	var out []string
	for _, m := range promIdents.FindAllStringSubmatch(e, -1) {
		if m[1] != "" || promKeywords[strings.ToLower(m[0])] || seen[m[0]] {
			continue
		}
		seen[m[0]] = true
		out = append(out, m[0])
	}
	return out
}
