package loadgen_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/tools/loadgen"
)

func sampleReport() *loadgen.Report {
	rec := loadgen.NewRecorder()
	for i := range 1000 {
		rec.Record("GET /products/{id}", 200, time.Duration(1000+i)*time.Microsecond) // 1..2 ms
	}
	for range 98 {
		rec.Record("POST /orders", 202, 20*time.Millisecond)
	}
	rec.Record("POST /orders", 409, 30*time.Millisecond)
	rec.Record("POST /orders", 0, 10*time.Second)
	per, overall := rec.Summaries(10 * time.Second)
	return &loadgen.Report{
		Config:    loadgen.ReportConfig{Gateway: "http://127.0.0.1:8080/api/v1", Mode: "open", Rate: 110, Duration: 10 * time.Second, Mix: "product=90,checkout=10", Seed: "api", Products: 50, Users: 5, DeclineRate: 0.1},
		Elapsed:   10 * time.Second,
		Actions:   1100,
		Endpoints: per, Overall: overall,
		Orders: loadgen.OrderStats{Placed: 98, Paid: 88, Cancelled: 10, CancelledBy: map[string]int{"payment_declined": 9, "out_of_stock": 1}},
		Consistency: &loadgen.CheckResult{OK: false, ProductsChecked: 40, OrdersChecked: 98, UnitsSold: 120, ChargesKnown: true,
			Violations: []string{"product p1: stock 8 + reserved 0 + sold 3 = 11, want initial 10 + adjusted 0 = 10"}},
	}
}

func TestRecorderSummaries(t *testing.T) {
	r := sampleReport()
	if len(r.Endpoints) != 2 || r.Endpoints[0].Endpoint != "GET /products/{id}" {
		t.Fatalf("endpoints %+v", r.Endpoints)
	}
	get, post := r.Endpoints[0], r.Endpoints[1]
	if get.Requests != 1000 || get.Errors != 0 || get.PerSec != 100 {
		t.Errorf("GET: %d requests, %d errors, %.1f/s", get.Requests, get.Errors, get.PerSec)
	}
	if p50 := get.Latency.P50; p50 < 1490*time.Microsecond || p50 > 1510*time.Microsecond {
		t.Errorf("GET p50 = %s, want ≈1.5ms", p50)
	}
	if post.Requests != 100 || post.Errors != 2 || post.ByStatus[409] != 1 || post.ByStatus[0] != 1 {
		t.Errorf("POST: %+v", post)
	}
	o := r.Overall
	if o.Requests != 1100 || o.Errors != 2 || o.Latency.Max != 10*time.Second || o.ByStatus[409] != 1 {
		t.Errorf("overall: %+v", o)
	}
}

func TestReportFormat(t *testing.T) {
	var b bytes.Buffer
	sampleReport().Format(&b)
	out := b.String()
	for _, want := range []string{
		"open loop at 110 actions/s",
		"endpoint", "p99.9",
		"GET /products/{id}", "1000", "100.0",
		"overall", "1100",
		"POST /orders 409 ×1", "POST /orders no answer ×1",
		"orders: 98 placed, 88 paid, 10 cancelled (out_of_stock 1, payment_declined 9), 0 unsettled",
		"consistency: FAILED — 40 products, 98 orders, 120 units sold",
		"violation: product p1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// Columns line up: every table row has the same width.
	var widths []int
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "GET /") || strings.HasPrefix(strings.TrimSpace(l), "POST /") || strings.HasPrefix(strings.TrimSpace(l), "overall") {
			widths = append(widths, len([]rune(l)))
		}
	}
	for _, w := range widths {
		if w != widths[0] {
			t.Fatalf("table rows of different widths %v:\n%s", widths, out)
		}
	}
}

func TestReportJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	r := sampleReport()
	if err := r.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back loadgen.Report
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.Overall.Requests != 1100 || back.Endpoints[1].ByStatus[409] != 1 || back.Consistency.OK || back.Orders.Paid != 88 {
		t.Fatalf("round trip lost data: %+v", back)
	}
	if !strings.Contains(string(raw), `"p999_ns"`) || !strings.Contains(string(raw), `"errors_by_status"`) {
		t.Fatalf("JSON field names changed:\n%s", raw)
	}
	if !r.Failed() {
		t.Fatal("a report with errors and a failed check must count as failed")
	}
}

func TestProgressLine(t *testing.T) {
	var h loadgen.Histogram
	h.RecordDuration(2 * time.Millisecond)
	h.RecordDuration(40 * time.Millisecond)
	line := loadgen.ProgressLine(3*time.Second, 1234.4, 2, &h, 17)
	for _, want := range []string{"3s", "1234 req/s", "errors 2", "p50 2.00ms", "p99 40.0ms", "orders 17"} {
		if !strings.Contains(line, want) {
			t.Errorf("progress %q lacks %q", line, want)
		}
	}
	if strings.Contains(line, "\n") {
		t.Error("a progress line must be one line")
	}
}
