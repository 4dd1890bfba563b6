package benchsuite

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/pg"
	"github.com/opencommerce/opencommerce/internal/redisx"
	"github.com/opencommerce/opencommerce/services/product"
)

// SearchOptions configure RunSearch.
type SearchOptions struct {
	PGURL    string // the PostgreSQL server; a fresh database is made and dropped
	RedisURL string // the document cache (keys under a fresh prefix, deleted after)
	// Database, when set, names a product database seeded before (by a
	// run of product.Seed) to measure instead; it is neither seeded nor
	// dropped.
	Database string
	Products int           // catalogue size (product.Seed, in SQL)
	Duration time.Duration // measuring time of each figure, in Rounds interleaved slices
	InFlight int           // queries in flight (pool connections as many)
	Progress io.Writer     // notes while running (nil: none)
}

// SearchResults is what RunSearch measured.
type SearchResults struct {
	Time     time.Time     `json:"time"`
	Command  string        `json:"command"`
	Machine  Machine       `json:"machine"`
	Products int           `json:"products"`
	Active   int           `json:"active"`
	SeedTime time.Duration `json:"seed_duration_ns"`
	Figures  []Figure      `json:"figures"`
}

// Names of the search figures.
const (
	SearchBarePK    = "bare indexed SELECT by primary key"
	SearchBarePage  = "bare indexed SELECT of a 20-row page"
	SearchWord      = "search, one word"
	SearchTypo      = "search, a typo"
	SearchPrefix    = "search, word + prefix"
	SearchMixFacets = "search, typo or prefix, with all facets"
	SearchMixCached = "search, typo or prefix, with all facets, page cache"
	SuggestCached   = "suggest (service's cache)"
	SuggestUncached = "suggest, uncached"
)

// RunSearch measures product search in process on a seeded catalogue (the
// product service's search code through product.Searcher: the analysis,
// page and facet queries, the documents from the Redis document cache, the
// reply JSON; no gateway or RPC), beside bare indexed SELECTs on the same
// database in the same run, all in interleaved rounds.
func RunSearch(ctx context.Context, opt SearchOptions) (*SearchResults, error) {
	if opt.Duration <= 0 {
		opt.Duration = 6 * time.Second
	}
	if opt.InFlight <= 0 {
		opt.InFlight = 16
	}
	if opt.Products <= 0 {
		opt.Products = 100_000
	}
	note := func(format string, args ...any) {
		if opt.Progress != nil {
			fmt.Fprintf(opt.Progress, format+"\n", args...)
		}
	}
	var b [5]byte
	_, _ = rand.Read(b[:])
	prefix := "ocbench_search_" + hex.EncodeToString(b[:]) + "_"
	name := prefix + "product"
	if opt.Database != "" {
		name = opt.Database
	}
	db, err := pg.Open(ctx, pg.Config{URL: opt.PGURL, MaxConns: int32(opt.InFlight), MinConns: int32(opt.InFlight)}, name, nil)
	if err != nil {
		return nil, err
	}
	defer func() {
		db.Close()
		if opt.Database != "" {
			return
		}
		cctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := pg.DropDatabases(cctx, opt.PGURL, prefix); err != nil {
			note("drop the bench database: %v", err)
		}
	}()
	if err := pg.Migrate(ctx, db, product.Migrations()); err != nil {
		return nil, err
	}
	res := &SearchResults{Time: time.Now().UTC(), Products: opt.Products,
		Machine: Machine{Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), OS: runtime.GOOS, Arch: runtime.GOARCH,
			Go: runtime.Version(), LoadAvg: loadAvg()}}
	if opt.Database == "" {
		note("seeding %d products (product.Seed: one INSERT … SELECT over generate_series)", opt.Products)
		t0 := time.Now()
		if err := product.Seed(ctx, db, opt.Products); err != nil {
			return nil, err
		}
		res.SeedTime = time.Since(t0)
	} else if err := db.QueryRow(ctx, `SELECT count(*) FROM products`).Scan(&res.Products); err != nil {
		return nil, err
	}
	var ids []string
	rows, err := db.Query(ctx, `SELECT id::text FROM products WHERE status = 'active'`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	res.Active = len(ids)
	words, err := nameWords(ctx, db)
	if err != nil {
		return nil, err
	}
	note("seeded in %s: %d active products, %d distinct name words", res.SeedTime.Round(time.Second), len(ids), len(words))

	ropt, err := redis.ParseURL(opt.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("redis.url: %w", err)
	}
	rdb := redis.NewClient(ropt)
	defer rdb.Close()
	rprefix := strings.TrimSuffix(prefix, "_") + ":"
	defer func() {
		if err := redisx.DeleteKeys(context.Background(), rdb, rprefix); err != nil {
			note("delete the bench's Redis keys: %v", err)
		}
	}()
	targets := searchTargets(db, rdb, rprefix, opt, ids, words)
	note("warming up")
	for _, t := range targets {
		t.measure(ctx, 300*time.Millisecond)
		t.hist.Reset()
		t.n, t.errs, t.elapsed = 0, 0, 0
	}
	for r := range Rounds {
		for _, t := range targets {
			note("round %d/%d: %s", r+1, Rounds, t.name)
			t.measure(ctx, opt.Duration/Rounds)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
	}
	byName := map[string]Figure{}
	for _, t := range targets {
		byName[t.name] = t.figure()
	}
	for _, t := range targets {
		f := byName[t.name]
		if bl, ok := byName[f.Baseline]; ok && bl.PerSec > 0 {
			f.Ratio = f.PerSec / bl.PerSec
		}
		res.Figures = append(res.Figures, f)
	}
	return res, nil
}

// nameWords are the distinct lower-case words of the active products'
// names: what shoppers type.
func nameWords(ctx context.Context, db *pgxpool.Pool) ([]string, error) {
	rows, err := db.Query(ctx, `SELECT DISTINCT w FROM products, regexp_split_to_table(lower(name), '[^a-z]+') AS w
		WHERE status = 'active' AND length(w) >= 4 ORDER BY w`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var w string
		if err := rows.Scan(&w); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// typo makes one edit in w: a letter dropped, two swapped or one replaced.
func typo(w string) string {
	b := []byte(w)
	i := 1 + mrand.IntN(len(b)-2)
	switch mrand.IntN(3) {
	case 0:
		return string(append(b[:i:i], b[i+1:]...))
	case 1:
		b[i], b[i+1] = b[i+1], b[i]
	default:
		b[i] = byte('a' + mrand.IntN(26))
	}
	return string(b)
}

func searchTargets(db *pgxpool.Pool, rdb redis.UniversalClient, rprefix string, opt SearchOptions, ids, words []string) []*target {
	withFacets := strings.Join([]string{contracts.FacetCategory, contracts.FacetPrice, contracts.FacetRating, contracts.FacetInStock, contracts.FacetProperties}, ",")
	word := func() string { return words[mrand.IntN(len(words))] }
	prefixOf := func(w string, lo, hi int) string { return w[:min(len(w), lo+mrand.IntN(hi-lo+1))] }
	s := product.NewSearcher(db, rdb, rprefix, false)
	sc := product.NewSearcher(db, rdb, rprefix, true)
	mix := func() contracts.Params {
		q := typo(word())
		if mrand.IntN(2) == 0 {
			q = word() + " " + prefixOf(word(), 2, 4)
		}
		return contracts.Params{"q": {q}, "facets": {withFacets}}
	}
	list := func(s *product.Searcher, params func() contracts.Params) func(context.Context, int) (time.Duration, bool) {
		return func(ctx context.Context, _ int) (time.Duration, bool) {
			p := params()
			t0 := time.Now()
			_, err := s.List(ctx, p)
			return time.Since(t0), err == nil
		}
	}
	suggest := func(s *product.Searcher) func(context.Context, int) (time.Duration, bool) {
		return func(ctx context.Context, _ int) (time.Duration, bool) {
			q := prefixOf(word(), 1, 5)
			if mrand.IntN(3) == 0 {
				q = word() + " " + prefixOf(word(), 1, 3)
			}
			t0 := time.Now()
			_, err := s.Suggest(ctx, contracts.Params{"q": {q}})
			return time.Since(t0), err == nil
		}
	}
	return []*target{
		{name: SearchBarePK, inFlight: opt.InFlight,
			what: fmt.Sprintf("pgx pool (%d connections), SELECT id, name, price FROM products WHERE id = $1 over the %d active products", opt.InFlight, len(ids)),
			op: func(ctx context.Context, _ int) (time.Duration, bool) {
				t0 := time.Now()
				var id, name string
				var price int64
				err := db.QueryRow(ctx, `SELECT id::text, name, price FROM products WHERE id = $1`, ids[mrand.IntN(len(ids))]).Scan(&id, &name, &price)
				return time.Since(t0), err == nil
			}},
		{name: SearchBarePage, inFlight: opt.InFlight,
			what: "SELECT id, name, price FROM products WHERE status = 'active' AND price >= $1 ORDER BY price, id LIMIT 20 (index products_active_price)",
			op: func(ctx context.Context, _ int) (time.Duration, bool) {
				t0 := time.Now()
				rows, err := db.Query(ctx, `SELECT id::text, name, price FROM products WHERE status = 'active' AND price >= $1 ORDER BY price, id LIMIT 20`, mrand.Int64N(100_000))
				if err != nil {
					return time.Since(t0), false
				}
				n := 0
				for rows.Next() {
					n++
				}
				rows.Close()
				return time.Since(t0), rows.Err() == nil && n > 0
			}},
		{name: SearchWord, baseline: SearchBarePage, inFlight: opt.InFlight, what: "q=<a word of the names>, relevance, limit 20",
			op: list(s, func() contracts.Params { return contracts.Params{"q": {word()}} })},
		{name: SearchTypo, baseline: SearchBarePage, inFlight: opt.InFlight, what: "q=<a word of the names with one letter dropped, swapped or replaced>",
			op: list(s, func() contracts.Params { return contracts.Params{"q": {typo(word())}} })},
		{name: SearchPrefix, baseline: SearchBarePage, inFlight: opt.InFlight, what: "q=<word> <first 2–4 letters of another word>",
			op: list(s, func() contracts.Params { return contracts.Params{"q": {word() + " " + prefixOf(word(), 2, 4)}} })},
		{name: SearchMixFacets, baseline: SearchBarePage, inFlight: opt.InFlight,
			what: "half q=<typo>, half q=<word> <prefix>, with facets=" + withFacets + "; every page and its facets computed",
			op:   list(s, mix)},
		{name: SearchMixCached, baseline: SearchBarePage, inFlight: opt.InFlight,
			what: "the same queries with the service's 5 s page cache on (as a storefront repeats its queries; " +
				"the documents still come from the Redis document cache each time)",
			op: list(sc, mix)},
		{name: SuggestCached, baseline: SearchBarePK, inFlight: opt.InFlight,
			what: "q=<first 1–5 letters of a word> (or a word and 1–3 letters of another), the service's 10 s in-process cache on", op: suggest(sc)},
		{name: SuggestUncached, baseline: SearchBarePK, inFlight: opt.InFlight, what: "the same, every suggestion computed", op: suggest(s)},
	}
}

// Format prints the figures as a table.
func (r *SearchResults) Format(w io.Writer) {
	fmt.Fprintf(w, "%s\n%d products (%d active), seeded in %s; %d cores, %s, load %s\n\n", r.Command, r.Products, r.Active,
		r.SeedTime.Round(time.Second), r.Machine.Cores, r.Machine.Go, r.Machine.LoadAvg)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tin flight\tper s\tp50\tp99\tp99.9\terrors\tvs\tratio")
	for _, f := range r.Figures {
		ratio := ""
		if f.Ratio > 0 {
			ratio = fmt.Sprintf("%.3f", f.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%d\t%s\t%s\n", f.Name, f.InFlight, f.PerSec, dur(f.Latency.P50), dur(f.Latency.P99),
			dur(f.Latency.P999), f.Errors, f.Baseline, ratio)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	for _, f := range r.Figures {
		fmt.Fprintf(w, "- %s: %s\n", f.Name, f.What)
	}
}
