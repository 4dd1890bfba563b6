package edgebench

import (
	"testing"
	"time"
)

// TestParseWrkQuantiles: the report parser reads wrk's histogram lines and
// the quantiles are exact ranks over it (p99 of 100 samples is the 99th).
func TestParseWrkQuantiles(t *testing.T) {
	out := []byte("Running 1s test @ http://x\nOCWRKH 100 97\nOCWRKH 250 1\nOCWRKH 500 1\nOCWRKH 3000 1\nOCWRK 100 1000000 2\n")
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.reqs != 100 || r.us != 1000000 || r.errs != 2 {
		t.Fatalf("summary %+v", r)
	}
	for q, want := range map[float64]time.Duration{0.5: 100 * time.Microsecond, 0.98: 250 * time.Microsecond,
		0.99: 500 * time.Microsecond, 1: 3 * time.Millisecond} {
		if got := r.hist.quantile(q); got != want {
			t.Errorf("quantile(%v) = %v, want %v", q, got, want)
		}
	}
	if _, err := parseWrk([]byte("wrk: connection refused\n")); err == nil {
		t.Fatal("output without a report parsed")
	}
}
