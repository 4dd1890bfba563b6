package benchsuite

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/pg"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/tools/loadgen"
)

// TestUncachedServiceComputesEverySearch: bench-search's two product
// services share one catalogue, and products another instance adds show
// at once in the searches of the one started with
// -product.search-cache=false, where a cached page would hide them for up
// to 5 s: its figures are searches computed, not cache hits.
func TestUncachedServiceComputesEverySearch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opt := SearchOptions{Servers: LocalTestServers(t), InFlight: 2}
	cached, err := startSearchService(ctx, opt, "", true)
	if err != nil {
		testenv.Unavailable(t, "RabbitMQ management API", err)
	}
	t.Cleanup(func() { cached.close(t.Logf) })
	uncached, err := startSearchService(ctx, opt, cached.env.DBPrefix+"product", false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { uncached.close(t.Logf) })

	// Seeding through the cached service clears that service's caches
	// only, as a write on another instance would leave the uncached one's.
	seed := func(n int) {
		t.Helper()
		s, err := loadgen.DialProductSeeder(ctx, bus.Config{URL: cached.env.AMQPURL, Name: "search-test-seed"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Seed(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	seed(100)
	db, err := pg.Open(ctx, pg.Config{URL: opt.Servers.PGURL, MaxConns: 1}, cached.env.DBPrefix+"product", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var word string
	if err := db.QueryRow(ctx, `SELECT w FROM products, regexp_split_to_table(lower(name), '[^a-z]+') AS w
		WHERE status = 'active' AND length(w) >= 4 GROUP BY w ORDER BY count(*) DESC, w LIMIT 1`).Scan(&word); err != nil {
		t.Fatal(err)
	}
	matches := func(cl *bus.Client) int {
		t.Helper()
		body, _ := json.Marshal(contracts.Envelope{Params: contracts.Params{"q": {word}, "limit": {"100"}}})
		rep, err := cl.Call(ctx, "product", contracts.MethodProductList, body, bus.CallOptions{})
		if err == nil {
			err = rep.Err()
		}
		if err != nil {
			t.Fatalf("product.list q=%s: %v", word, err)
		}
		var l contracts.ProductList
		if err := json.Unmarshal(rep.Body, &l); err != nil {
			t.Fatal(err)
		}
		return len(l.Items)
	}
	before := matches(uncached.rpc)
	if before == 0 || before == 100 {
		t.Fatalf("q=%s matches %d products of 100: want some, and room for more on the page", word, before)
	}
	seed(100)
	if after := matches(uncached.rpc); after <= before {
		t.Errorf("q=%s: %d matches after 100 more products, %d before: the uncached service answered a cached page", word, after, before)
	}
}
