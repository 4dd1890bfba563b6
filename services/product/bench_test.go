package product

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/pg"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

var (
	benchOnce sync.Once
	benchDB   string // the run's benchmark database, dropped by TestMain
	benchPool *pgxpool.Pool
	benchErr  error
)

// TestMain drops the benchmarks' database after the run: it is shared by
// every benchmark, so it cannot belong to the first one (testenv.PG drops
// its database when its test ends).
func TestMain(m *testing.M) {
	code := m.Run()
	if benchPool != nil {
		benchPool.Close()
		testenv.DropDatabases(benchDB)
	}
	os.Exit(code)
}

// benchCore seeds one database with OC_BENCH_PRODUCTS (default 100,000)
// products, shared by every benchmark of the run.
func benchCore(b *testing.B) *core {
	b.Helper()
	benchOnce.Do(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, testenv.PGURL)
		if err != nil {
			testenv.Unavailable(b, "PostgreSQL", err)
		}
		benchDB = testenv.Name("octbench")
		_, benchErr = conn.Exec(ctx, "CREATE DATABASE "+benchDB)
		_ = conn.Close(ctx)
		if benchErr != nil {
			return
		}
		benchPool, benchErr = pgxpool.New(ctx, testenv.WithDatabase(testenv.PGURL, benchDB))
		if benchErr != nil {
			return
		}
		if benchErr = pg.Migrate(ctx, benchPool, Migrations()); benchErr != nil {
			return
		}
		n := 100_000
		if s := os.Getenv("OC_BENCH_PRODUCTS"); s != "" {
			n, _ = strconv.Atoi(s)
		}
		benchErr = Seed(ctx, benchPool, n)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return (&core{cfg: DefaultConfig()}).onPostgres(benchPool)
}

// BenchmarkList measures product.list's page query (and count) on the
// seeded catalogue, without the cache, and logs each query's plan so the
// run shows which index it used.
func BenchmarkList(b *testing.B) {
	c := benchCore(b)
	ctx := context.Background()
	var leaf, root string
	if err := benchPool.QueryRow(ctx, `SELECT (SELECT id::text FROM categories WHERE parent_id IS NULL ORDER BY name LIMIT 1),
		(SELECT id::text FROM categories WHERE cardinality(path) = 3 ORDER BY name LIMIT 1)`).Scan(&root, &leaf); err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name   string
		params contracts.Params
	}{
		{"newest", contracts.Params{}},
		{"price_asc", contracts.Params{"sort": {"price_asc"}}},
		{"price_desc_range", contracts.Params{"sort": {"price_desc"}, "min_price": {"20000"}, "max_price": {"30000"}}},
		{"rating", contracts.Params{"sort": {"rating"}}},
		{"category_root_newest", contracts.Params{"category": {root}}},
		{"category_leaf_price", contracts.Params{"category": {leaf}, "sort": {"price_asc"}}},
		{"fts_rare_relevance", contracts.Params{"q": {"bamboo drone"}}},
		{"fts_common_relevance", contracts.Params{"q": {"wireless"}}},
		{"fts_common_price", contracts.Params{"q": {"wireless"}, "sort": {"price_asc"}}},
		{"fts_category_range", contracts.Params{"q": {"headphones"}, "category": {root}, "min_price": {"1000"}, "max_price": {"50000"}}},
		{"newest_total", contracts.Params{"total": {"true"}}},
		{"fts_common_total", contracts.Params{"q": {"wireless"}, "total": {"true"}}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			q, err := parseList(contracts.Actor{}, tc.params)
			if err != nil {
				b.Fatal(err)
			}
			// Page 3 (a keyset cursor), to measure the cursor condition too.
			for range 2 {
				_, next, err := c.listIDs(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if next == "" {
					break
				}
				q.after, _ = decodeCursor(next)
			}
			logPlan(b, c, q)
			b.ResetTimer()
			for b.Loop() {
				if _, _, err := c.listIDs(ctx, q); err != nil {
					b.Fatal(err)
				}
				if q.total {
					if _, err := c.count(ctx, q); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

func logPlan(b *testing.B, c *core, q *listQuery) {
	if err := c.prepare(context.Background(), q); err != nil {
		b.Fatal(err)
	}
	sqlText, args := q.termsSQL()
	if sqlText == "" {
		sqlText, args = q.build()
	}
	var plan []map[string]any
	var raw []byte
	if err := benchPool.QueryRow(context.Background(), "EXPLAIN (ANALYZE, FORMAT JSON) "+sqlText, q.run(args)...).Scan(&raw); err != nil {
		b.Fatal(err)
	}
	_ = json.Unmarshal(raw, &plan)
	var nodes []string
	var walk func(map[string]any)
	walk = func(n map[string]any) {
		s := fmt.Sprint(n["Node Type"])
		if ix, ok := n["Index Name"]; ok {
			s += "(" + fmt.Sprint(ix) + ")"
		}
		nodes = append(nodes, s)
		if kids, ok := n["Plans"].([]any); ok {
			for _, k := range kids {
				walk(k.(map[string]any))
			}
		}
	}
	walk(plan[0]["Plan"].(map[string]any))
	b.Logf("plan: %s; execution %.2f ms", strings.Join(nodes, " > "), plan[0]["Execution Time"])
}
