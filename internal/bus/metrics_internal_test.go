package bus

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestSeriesCacheHitDoesNotAllocate: the per-call metric lookup is a
// lock-free map read once the series exists.
func TestSeriesCacheHitDoesNotAllocate(t *testing.T) {
	m := newClientMetrics(prometheus.NewRegistry())
	first := m.series.get(m.requests, m.duration, "product", "product.get")
	m.series.get(m.requests, m.duration, "cart", "cart.get")
	allocs := testing.AllocsPerRun(1000, func() {
		if m.series.get(m.requests, m.duration, "product", "product.get") != first {
			t.Fatal("series changed")
		}
	})
	if allocs != 0 {
		t.Fatalf("cache hit allocates %.1f times", allocs)
	}
}
