package loadgen_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/tools/loadgen"
)

// exactQuantile is the reference: the smallest value with at least q of
// the values at or below it.
func exactQuantile(sorted []int64, q float64) int64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

func TestHistogramQuantilesWithinRelativeError(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for name, gen := range map[string]func() int64{
		"uniform µs..s":  func() int64 { return 1000 + r.Int64N(int64(time.Second)) },
		"lognormal":      func() int64 { return int64(math.Exp(r.NormFloat64()*1.5 + 13)) },
		"small exact":    func() int64 { return r.Int64N(300) },
		"bimodal":        func() int64 { return []int64{200_000, 40_000_000}[r.IntN(2)] + r.Int64N(5000) },
		"heavy tail max": func() int64 { return int64(1 / (r.Float64() + 1e-9) * 1000) },
	} {
		t.Run(name, func(t *testing.T) {
			var h loadgen.Histogram
			vals := make([]int64, 100_000)
			for i := range vals {
				vals[i] = gen()
				h.Record(vals[i])
			}
			slices.Sort(vals)
			for _, q := range []float64{0, 0.01, 0.5, 0.9, 0.99, 0.999, 0.9999, 1} {
				want, got := exactQuantile(vals, q), h.Quantile(q)
				if q == 0 {
					want = vals[0]
				}
				if rel := math.Abs(float64(got-want)) / float64(max(want, 1)); rel > loadgen.RelativeError+1e-12 && got != want {
					t.Errorf("q=%v: got %d, want %d (relative error %.5f > %.5f)", q, got, want, rel, loadgen.RelativeError)
				}
			}
			if h.Count() != uint64(len(vals)) || h.Min() != vals[0] || h.Max() != vals[len(vals)-1] {
				t.Errorf("count/min/max = %d/%d/%d, want %d/%d/%d", h.Count(), h.Min(), h.Max(), len(vals), vals[0], vals[len(vals)-1])
			}
		})
	}
}

func TestHistogramMergeEqualsWhole(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var whole, a, b, merged loadgen.Histogram
	for i := range 50_000 {
		v := int64(math.Exp(r.NormFloat64()*2 + 12))
		whole.Record(v)
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	merged.Merge(&a)
	merged.Merge(&b)
	merged.Merge(nil)
	merged.Merge(&loadgen.Histogram{})
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
		if merged.Quantile(q) != whole.Quantile(q) {
			t.Errorf("q=%v: merged %d, whole %d", q, merged.Quantile(q), whole.Quantile(q))
		}
	}
	if merged.Count() != whole.Count() || merged.Min() != whole.Min() || merged.Max() != whole.Max() ||
		math.Abs(merged.Mean()-whole.Mean()) > 1e-6*whole.Mean() {
		t.Errorf("merged count/min/max/mean differ from the whole")
	}
}

func TestHistogramEdges(t *testing.T) {
	var h loadgen.Histogram
	if h.Quantile(0.5) != 0 || h.Mean() != 0 || h.Count() != 0 {
		t.Fatal("an empty histogram must report zeros")
	}
	h.Record(-5) // clamps to 0
	h.Record(math.MaxInt64)
	if h.Min() != 0 || h.Max() != math.MaxInt64 {
		t.Fatalf("min/max = %d/%d", h.Min(), h.Max())
	}
	if got := h.Quantile(0.5); got != 0 {
		t.Fatalf("median of {0, max} = %d, want 0", got)
	}
	if got := h.Quantile(0.99); got < loadgen.HistogramMaxValue/2 {
		t.Fatalf("p99 of {0, max} = %d, want the clamped top bucket", got)
	}
	h.Reset()
	h.RecordN(1234567, 10)
	if got := h.Quantile(0.5); got != 1234567 {
		t.Fatalf("single value: median %d, want it exactly (clamped to min/max)", got)
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h loadgen.Histogram
	b.ReportAllocs()
	for i := range b.N {
		h.Record(int64(i&0xfffff) * 1000)
	}
}
