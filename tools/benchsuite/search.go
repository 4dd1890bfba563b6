package benchsuite

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/pg"
	"github.com/opencommerce/opencommerce/tools/loadgen"
)

// SearchOptions configure RunSearch.
type SearchOptions struct {
	// Servers are the shared servers; the run isolates itself on them as
	// the suite does (two Envs: fresh vhosts, a fresh database, Redis key
	// prefixes), and removes what it made.
	Servers Servers
	// Database, when set, names a product database seeded before (its name
	// is <pg.database-prefix>product, as the platform names it) to measure
	// instead; it is neither seeded nor dropped.
	Database string
	Products int           // catalogue size (seeded through product.seed)
	Duration time.Duration // measuring time of each figure, in Rounds interleaved slices
	InFlight int           // calls in flight (each product service's pool has as many connections)
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

// RunSearch measures product search through the contract on a seeded
// catalogue: product.list and product.suggest RPCs (over RabbitMQ, as the
// gateway calls them, without the gateway and its cache) to two product
// services started in this process on the same database, one with the
// service's search caches on (-product.search-cache) and one with them
// off, beside bare indexed SELECTs on that database in the same run, all
// in interleaved rounds. The catalogue is seeded through product.seed.
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
	if opt.Servers == (Servers{}) {
		opt.Servers = DefaultServers()
	}
	note := func(format string, args ...any) {
		if opt.Progress != nil {
			fmt.Fprintf(opt.Progress, format+"\n", args...)
		}
	}
	database := opt.Database
	if database != "" && !strings.HasSuffix(database, "product") {
		return nil, fmt.Errorf("bench-search: database %q: a product database is named <prefix>product", database)
	}
	cached, err := startSearchService(ctx, opt, database, true)
	if err != nil {
		return nil, err
	}
	defer cached.close(note)
	if database == "" {
		database = cached.env.DBPrefix + "product" // the second service shares the first one's fresh database
	}
	uncached, err := startSearchService(ctx, opt, database, false)
	if err != nil {
		return nil, err
	}
	defer uncached.close(note)

	res := &SearchResults{Time: time.Now().UTC(), Products: opt.Products,
		Machine: Machine{Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), OS: runtime.GOOS, Arch: runtime.GOARCH,
			Go: runtime.Version(), LoadAvg: loadAvg()}}
	if opt.Database == "" {
		note("seeding %d products (product.seed: one INSERT … SELECT over generate_series in the product service)", opt.Products)
		t0 := time.Now()
		seeder, err := loadgen.DialProductSeeder(ctx, bus.Config{URL: cached.env.AMQPURL, Name: "bench-search-seed"})
		if err != nil {
			return nil, err
		}
		err = seeder.Seed(ctx, opt.Products)
		_ = seeder.Close()
		if err != nil {
			return nil, err
		}
		res.SeedTime = time.Since(t0)
	}
	db, err := pg.Open(ctx, pg.Config{URL: opt.Servers.PGURL, MaxConns: int32(opt.InFlight), MinConns: int32(opt.InFlight)}, database, nil)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if opt.Database != "" {
		if err := db.QueryRow(ctx, `SELECT count(*) FROM products`).Scan(&res.Products); err != nil {
			return nil, err
		}
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
	if len(ids) == 0 || len(words) == 0 {
		return nil, fmt.Errorf("bench-search: %d active products, %d name words: nothing to search", len(ids), len(words))
	}
	note("seeded in %s: %d active products, %d distinct name words", res.SeedTime.Round(time.Second), len(ids), len(words))

	targets := searchTargets(db, cached.rpc, uncached.rpc, opt, ids, words)
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

// searchService is a product service started in process (the platform
// with -target=product) on an Env of its own, and an RPC client to it.
type searchService struct {
	env  *Env
	p    *Platform
	conn *bus.Conn
	rpc  *bus.Client
}

// startSearchService starts a product service with the search caches on
// or off on a fresh Env; with database set (<prefix>product), on that
// product database instead of the Env's own.
func startSearchService(ctx context.Context, opt SearchOptions, database string, searchCache bool) (*searchService, error) {
	env, err := NewEnv(ctx, opt.Servers)
	if err != nil {
		return nil, err
	}
	s := &searchService{env: env}
	dbPrefix := env.DBPrefix
	if database != "" {
		dbPrefix = strings.TrimSuffix(database, "product")
	}
	conns := strconv.Itoa(opt.InFlight)
	s.p, err = Start(ctx, env, "", []string{
		"OC_TARGET=product",
		"OC_PG_DATABASE_PREFIX=" + dbPrefix,
		"OC_PG_MAX_CONNS=" + conns, "OC_PG_MIN_CONNS=" + conns,
		"OC_PRODUCT_SEARCH_CACHE=" + strconv.FormatBool(searchCache),
	})
	if err != nil {
		s.close(nil)
		return nil, err
	}
	if s.conn, err = bus.Dial(ctx, bus.Config{URL: env.AMQPURL, Name: "bench-search"}, nil, nil); err != nil {
		s.close(nil)
		return nil, fmt.Errorf("bench-search: connect to the broker: %w", err)
	}
	if s.rpc, err = bus.NewClient(s.conn, bus.ClientConfig{}, nil, nil); err != nil {
		s.close(nil)
		return nil, err
	}
	return s, nil
}

// close stops what s started and removes its Env; note (nil: none) hears
// of failures.
func (s *searchService) close(note func(string, ...any)) {
	if note == nil {
		note = func(string, ...any) {}
	}
	if s.rpc != nil {
		_ = s.rpc.Close()
	}
	if s.conn != nil {
		_ = s.conn.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if s.p != nil {
		if err := s.p.Stop(ctx); err != nil {
			note("stop the product service: %v", err)
		}
	}
	if err := s.env.Close(ctx); err != nil {
		note("remove the bench's vhost, database and keys: %v", err)
	}
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

func searchTargets(db *pgxpool.Pool, cached, uncached *bus.Client, opt SearchOptions, ids, words []string) []*target {
	withFacets := strings.Join([]string{contracts.FacetCategory, contracts.FacetPrice, contracts.FacetRating, contracts.FacetInStock, contracts.FacetProperties}, ",")
	word := func() string { return words[mrand.IntN(len(words))] }
	prefixOf := func(w string, lo, hi int) string { return w[:min(len(w), lo+mrand.IntN(hi-lo+1))] }
	s, sc := uncached, cached
	mix := func() contracts.Params {
		q := typo(word())
		if mrand.IntN(2) == 0 {
			q = word() + " " + prefixOf(word(), 2, 4)
		}
		return contracts.Params{"q": {q}, "facets": {withFacets}}
	}
	// call makes one RPC with params in the gateway's envelope, as an
	// anonymous shopper; only an ok reply counts.
	call := func(cl *bus.Client, method string, params func() contracts.Params) func(context.Context, int) (time.Duration, bool) {
		return func(ctx context.Context, _ int) (time.Duration, bool) {
			body, err := json.Marshal(contracts.Envelope{Params: params()})
			if err != nil {
				return 0, false
			}
			t0 := time.Now()
			rep, err := cl.Call(ctx, "product", method, body, bus.CallOptions{})
			return time.Since(t0), err == nil && rep.OK()
		}
	}
	list := func(cl *bus.Client, params func() contracts.Params) func(context.Context, int) (time.Duration, bool) {
		return call(cl, contracts.MethodProductList, params)
	}
	suggest := func(cl *bus.Client) func(context.Context, int) (time.Duration, bool) {
		return call(cl, contracts.MethodProductSuggest, func() contracts.Params {
			q := prefixOf(word(), 1, 5)
			if mrand.IntN(3) == 0 {
				q = word() + " " + prefixOf(word(), 1, 3)
			}
			return contracts.Params{"q": {q}}
		})
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
		{name: SearchWord, baseline: SearchBarePage, inFlight: opt.InFlight, what: "product.list q=<a word of the names>, relevance, limit 20",
			op: list(s, func() contracts.Params { return contracts.Params{"q": {word()}} })},
		{name: SearchTypo, baseline: SearchBarePage, inFlight: opt.InFlight, what: "q=<a word of the names with one letter dropped, swapped or replaced>",
			op: list(s, func() contracts.Params { return contracts.Params{"q": {typo(word())}} })},
		{name: SearchPrefix, baseline: SearchBarePage, inFlight: opt.InFlight, what: "q=<word> <first 2–4 letters of another word>",
			op: list(s, func() contracts.Params { return contracts.Params{"q": {word() + " " + prefixOf(word(), 2, 4)}} })},
		{name: SearchMixFacets, baseline: SearchBarePage, inFlight: opt.InFlight,
			what: "half q=<typo>, half q=<word> <prefix>, with facets=" + withFacets + "; every page and its facets computed " +
				"(product.list to the product service with -product.search-cache=false, as are the three above)",
			op: list(s, mix)},
		{name: SearchMixCached, baseline: SearchBarePage, inFlight: opt.InFlight,
			what: "the same queries to the product service with -product.search-cache=true, its 5 s page cache on (as a storefront repeats its queries; " +
				"the documents still come from the Redis document cache each time)",
			op: list(sc, mix)},
		{name: SuggestCached, baseline: SearchBarePK, inFlight: opt.InFlight,
			what: "product.suggest q=<first 1–5 letters of a word> (or a word and 1–3 letters of another), the service's 10 s in-process cache on", op: suggest(sc)},
		{name: SuggestUncached, baseline: SearchBarePK, inFlight: opt.InFlight, what: "the same, every suggestion computed (-product.search-cache=false)", op: suggest(s)},
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
