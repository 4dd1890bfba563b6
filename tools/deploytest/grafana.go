package deploytest

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// Dashboard is the part of a Grafana dashboard that the checks read.
type Dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []Panel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Datasource *DatasourceRef  `json:"datasource"`
			Query      json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

// Panel is a dashboard panel; rows hold nested panels.
type Panel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource *DatasourceRef `json:"datasource"`
	Targets    []struct {
		Expr       string         `json:"expr"`
		Datasource *DatasourceRef `json:"datasource"`
	} `json:"targets"`
	Panels []Panel `json:"panels"`
}

// DatasourceRef names a datasource by uid.
type DatasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

var uidRe = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,40}$`)

// CheckDashboard checks one dashboard: valid JSON with a fixed uid (at most
// 40 letters, digits, - or _) and a title, panel ids unique, every query on
// the datasource uid datasourceUID, every expression reading only known
// metrics. uids maps uids already seen to their file, to catch duplicates.
func CheckDashboard(path string, src []byte, datasourceUID string, known func(string) bool, uids map[string]string) []string {
	var d Dashboard
	if err := json.Unmarshal(src, &d); err != nil {
		return []string{fmt.Sprintf("%s: %v", path, err)}
	}
	var p problems
	if !uidRe.MatchString(d.UID) {
		p.add(path, "uid %q is not a fixed uid (1-40 of [a-zA-Z0-9_-])", d.UID)
	} else if other, dup := uids[d.UID]; dup {
		p.add(path, "uid %q is also the uid of %s", d.UID, other)
	} else {
		uids[d.UID] = path
	}
	if d.Title == "" {
		p.add(path, "no title")
	}
	ids := map[int]bool{}
	exprs := 0
	var walk func(ps []Panel)
	walk = func(ps []Panel) {
		for _, pn := range ps {
			where := fmt.Sprintf("%s: panel %q", path, pn.Title)
			if ids[pn.ID] {
				p.add(where, "id %d used twice", pn.ID)
			}
			ids[pn.ID] = true
			walk(pn.Panels)
			if pn.Type == "row" || pn.Type == "text" {
				continue
			}
			if len(pn.Targets) == 0 {
				p.add(where, "no query")
			}
			for _, t := range pn.Targets {
				ds := t.Datasource
				if ds == nil {
					ds = pn.Datasource
				}
				if ds == nil || ds.UID != datasourceUID {
					p.add(where, "datasource is not the provisioned uid %q", datasourceUID)
				}
				if t.Expr == "" {
					p.add(where, "empty expr")
				}
				exprs++
				for _, m := range MetricNames(t.Expr) {
					if !known(m) {
						p.add(where, "expr uses %q, which is neither in the brief's metric list nor recorded", m)
					}
				}
			}
		}
	}
	walk(d.Panels)
	if exprs == 0 {
		p.add(path, "no panel with a query")
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		where := fmt.Sprintf("%s: variable %s", path, v.Name)
		if v.Datasource == nil || v.Datasource.UID != datasourceUID {
			p.add(where, "datasource is not the provisioned uid %q", datasourceUID)
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			_ = json.Unmarshal(v.Query, &q.Query)
		}
		for _, m := range MetricNames(q.Query) {
			if !known(m) {
				p.add(where, "query uses %q, which is neither in the brief's metric list nor recorded", m)
			}
		}
	}
	return p.list
}

// DashboardExprs returns every panel expression of a dashboard.
func DashboardExprs(src []byte) ([]string, error) {
	var d Dashboard
	if err := json.Unmarshal(src, &d); err != nil {
		return nil, err
	}
	var out []string
	var walk func(ps []Panel)
	walk = func(ps []Panel) {
		for _, pn := range ps {
			walk(pn.Panels)
			for _, t := range pn.Targets {
				out = append(out, t.Expr)
			}
		}
	}
	walk(d.Panels)
	return out, nil
}
