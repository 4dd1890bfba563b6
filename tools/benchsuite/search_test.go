package benchsuite_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/tools/benchsuite"
)

// TestRunSearchSmoke: a short bench-search run on a small catalogue
// measures every figure without errors and removes its database.
func TestRunSearchSmoke(t *testing.T) {
	t.Parallel()
	_ = testenv.PG(t)
	_, _ = testenv.Redis(t)
	res, err := benchsuite.RunSearch(context.Background(), benchsuite.SearchOptions{
		PGURL: testenv.PGURL, RedisURL: "redis://" + testenv.RedisAddr + "/0",
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
