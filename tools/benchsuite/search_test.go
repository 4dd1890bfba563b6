package benchsuite_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/tools/benchsuite"
)

// TestRunSearchSmoke: a short bench-search run on a small catalogue,
// seeded through product.seed and searched through product.list and
// product.suggest on two product services in process (search caches on
// and off), measures every figure without errors.
func TestRunSearchSmoke(t *testing.T) {
	t.Parallel()
	res, err := benchsuite.RunSearch(context.Background(), benchsuite.SearchOptions{
		Servers:  benchsuite.LocalTestServers(t),
		Products: 500, Duration: 300 * time.Millisecond, InFlight: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Figures) != 9 || res.Active == 0 {
		t.Fatalf("figures %d, active products %d", len(res.Figures), res.Active)
	}
	for _, f := range res.Figures {
		if f.Requests == 0 || f.Errors != 0 {
			t.Errorf("%s: %d requests, %d errors", f.Name, f.Requests, f.Errors)
		}
	}
	var out bytes.Buffer
	res.Format(&out)
	if !strings.Contains(out.String(), benchsuite.SearchMixFacets) {
		t.Errorf("format:\n%s", out.String())
	}
}
