package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a run. It marshals to JSON as written by -out
// (durations in nanoseconds, fields named *_ns).
type Report struct {
	Config          ReportConfig      `json:"config"`
	SeedDuration    time.Duration     `json:"seed_duration_ns"`
	Elapsed         time.Duration     `json:"elapsed_ns"`
	Actions         int64             `json:"actions"`
	ScheduleMaxLag  time.Duration     `json:"schedule_max_lag_ns,omitempty"`
	ScheduleBlocked int64             `json:"schedule_blocked,omitempty"`
	Endpoints       []EndpointSummary `json:"endpoints"`
	Overall         EndpointSummary   `json:"overall"`
	Orders          OrderStats        `json:"orders"`
	Consistency     *CheckResult      `json:"consistency,omitempty"`
	// RateLimited counts, per endpoint, the 429s the client waited out
	// (Retry-After) and sent again: the gateway's limits bounded the run.
	RateLimited map[string]uint64 `json:"rate_limited,omitempty"`
}

// ReportConfig records what was run.
type ReportConfig struct {
	Gateway     string        `json:"gateway"`
	Mode        string        `json:"mode"` // open or closed
	Rate        float64       `json:"rate,omitempty"`
	VUs         int           `json:"vus,omitempty"`
	Duration    time.Duration `json:"duration_ns"`
	Mix         string        `json:"mix"`
	Seed        string        `json:"seed"`
	Products    int           `json:"products"`
	Users       int           `json:"users"`
	DeclineRate float64       `json:"decline_rate"`
}

// OrderStats counts the placed orders by final status.
type OrderStats struct {
	Placed      int            `json:"placed"`
	Paid        int            `json:"paid"`
	Cancelled   int            `json:"cancelled"`
	CancelledBy map[string]int `json:"cancelled_by_reason,omitempty"`
	Unsettled   int            `json:"unsettled"`
}

// Failed reports whether the run saw errors, unsettled orders or a
// failed consistency check.
func (r *Report) Failed() bool {
	return r.Overall.Errors > 0 || r.Orders.Unsettled > 0 || (r.Consistency != nil && !r.Consistency.OK)
}

// WriteJSON writes r as indented JSON to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// fmtDur prints a latency with 3 significant digits in a fitting unit.
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Microsecond:
		return strconv.FormatInt(int64(d), 10) + "ns"
	case d < time.Millisecond:
		return strconv.FormatFloat(float64(d)/1e3, 'f', prec(float64(d)/1e3), 64) + "µs"
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/1e6, 'f', prec(float64(d)/1e6), 64) + "ms"
	default:
		return strconv.FormatFloat(d.Seconds(), 'f', prec(d.Seconds()), 64) + "s"
	}
}

func prec(v float64) int {
	switch {
	case v >= 100:
		return 0
	case v >= 10:
		return 1
	default:
		return 2
	}
}

// Format writes the human report: the run, a table per endpoint and
// overall, errors by status, orders and the consistency verdict.
func (r *Report) Format(w io.Writer) {
	c := r.Config
	how := fmt.Sprintf("closed loop, %d virtual users", c.VUs)
	if c.Mode == "open" {
		how = fmt.Sprintf("open loop at %g actions/s (latency from the scheduled send time)", c.Rate)
	}
	fmt.Fprintf(w, "load: %s for %s against %s\n", how, c.Duration, c.Gateway)
	fmt.Fprintf(w, "mix: %s; %d products (%s seed, %s), %d customers, %.0f%% declined cards\n",
		c.Mix, c.Products, c.Seed, r.SeedDuration.Round(time.Millisecond), c.Users, c.DeclineRate*100)
	fmt.Fprintf(w, "%d actions in %s", r.Actions, r.Elapsed.Round(time.Millisecond))
	if c.Mode == "open" {
		fmt.Fprintf(w, "; schedule lag max %s, %d dispatches waited for a slot", fmtDur(r.ScheduleMaxLag), r.ScheduleBlocked)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	// The endpoint column is left-aligned by padding; tabwriter aligns the
	// numbers right.
	width := len("endpoint")
	for _, s := range r.Endpoints {
		width = max(width, len(s.Endpoint))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\trequests\treq/s\terrors\tp50\tp90\tp99\tp99.9\tmax\t\n", width, "endpoint")
	row := func(s EndpointSummary) {
		l := s.Latency
		fmt.Fprintf(tw, "%-*s\t%d\t%.1f\t%d\t%s\t%s\t%s\t%s\t%s\t\n", width, s.Endpoint, s.Requests, s.PerSec, s.Errors,
			fmtDur(l.P50), fmtDur(l.P90), fmtDur(l.P99), fmtDur(l.P999), fmtDur(l.Max))
	}
	for _, s := range r.Endpoints {
		row(s)
	}
	row(r.Overall)
	_ = tw.Flush()
	fmt.Fprintln(w)
	if r.Overall.Errors == 0 {
		fmt.Fprintln(w, "errors: none")
	} else {
		var parts []string
		for _, s := range r.Endpoints {
			for _, st := range sortedKeys(s.ByStatus) {
				name := strconv.Itoa(st)
				if st == 0 {
					name = "no answer"
				}
				parts = append(parts, fmt.Sprintf("%s %s ×%d", s.Endpoint, name, s.ByStatus[st]))
			}
		}
		fmt.Fprintf(w, "errors by status: %s\n", strings.Join(parts, "; "))
	}
	if len(r.RateLimited) > 0 {
		var parts []string
		for _, ep := range sortedKeys(r.RateLimited) {
			parts = append(parts, fmt.Sprintf("%s ×%d", ep, r.RateLimited[ep]))
		}
		fmt.Fprintf(w, "rate limited (429, waited out as Retry-After said; in the latencies, not errors): %s\n", strings.Join(parts, "; "))
		fmt.Fprintf(w, "  the gateway's limits bounded this run: for a load test raise them, e.g. OC_GATEWAY_RATE_DEFAULT=100000/1s:100000 "+
			"OC_GATEWAY_RATE_SEARCH=100000/1s:100000 OC_GATEWAY_RATE_CHECKOUT=100000/1s:100000 OC_GATEWAY_RATE_LOGIN=100000/1s:100000 (README, \"Rate limits and CORS\")\n")
	}
	o := r.Orders
	fmt.Fprintf(w, "orders: %d placed, %d paid, %d cancelled", o.Placed, o.Paid, o.Cancelled)
	if len(o.CancelledBy) > 0 {
		reasons := make([]string, 0, len(o.CancelledBy))
		for k := range o.CancelledBy {
			reasons = append(reasons, k)
		}
		sort.Strings(reasons)
		var parts []string
		for _, k := range reasons {
			parts = append(parts, fmt.Sprintf("%s %d", k, o.CancelledBy[k]))
		}
		fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, ", %d unsettled\n", o.Unsettled)
	if cr := r.Consistency; cr != nil {
		verdict := "PASSED"
		if !cr.OK {
			verdict = "FAILED"
		}
		charges := "one successful charge per paid order verified"
		if !cr.ChargesKnown {
			charges = "charge counts unavailable: payment status checked only"
		}
		fmt.Fprintf(w, "consistency: %s — %d products, %d orders, %d units sold; %s\n",
			verdict, cr.ProductsChecked, cr.OrdersChecked, cr.UnitsSold, charges)
		for _, v := range cr.Violations {
			fmt.Fprintf(w, "  violation: %s\n", v)
		}
		if cr.MoreViolations > 0 {
			fmt.Fprintf(w, "  … and %d more\n", cr.MoreViolations)
		}
	}
}
