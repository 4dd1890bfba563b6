package product

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencommerce/opencommerce/contracts"
)

// pgSearch is the PostgreSQL adapter of searchStore: the statements of
// product.list (search.go), its facets (facets.go), the analysis of a
// search text (searchq.go) and product.suggest (suggest.go). The query
// plans these statements were measured with are in the package doc.
type pgSearch struct {
	pool *pgxpool.Pool
}

var _ searchStore = pgSearch{}

// Count implements searchStore.
func (s pgSearch) Count(ctx context.Context, q *listQuery) (int64, error) {
	sqlText, args := q.countSQL()
	var n int64
	err := s.pool.QueryRow(ctx, sqlText, q.run(args)...).Scan(&n)
	return n, err
}

// Keys implements searchStore.
func (s pgSearch) Keys(ctx context.Context, q *listQuery) ([]cursor, error) {
	sqlText, args := q.build()
	return s.pageKeys(ctx, q, sqlText, args, true)
}

// TermKeys implements searchStore. A cached statement: its one index
// condition needs no plan per word, and planning cost more than the scan
// (1.8 ms vs 0.1 ms at 100k products).
func (s pgSearch) TermKeys(ctx context.Context, q *listQuery) ([]cursor, error) {
	sqlText, args := q.termsSQL()
	if sqlText == "" {
		return nil, fmt.Errorf("the term table does not serve %q", q.q)
	}
	return s.pageKeys(ctx, q, sqlText, args, false)
}

// InexactKeys implements searchStore.
func (s pgSearch) InexactKeys(ctx context.Context, q *listQuery) ([]cursor, error) {
	sqlText, args := q.rankedSQL(true)
	return s.pageKeys(ctx, q, sqlText, args, true)
}

// sqlArgs collects the arguments of one statement.
type sqlArgs []any

func (a *sqlArgs) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// filters returns the WHERE conditions on products (unqualified columns)
// of q's filters and match, not of its cursor.
func (q *listQuery) filters(args *sqlArgs) []string {
	var where []string
	if q.m != nil {
		where = append(where, q.m.where(args))
	}
	switch q.status {
	case "":
		where = append(where, "status = 'active'")
	case "any":
	default:
		where = append(where, "status = "+args.add(q.status))
	}
	if q.sellerID != "" {
		where = append(where, "seller_id = "+args.add(q.sellerID))
	}
	if q.featured {
		where = append(where, "featured")
	}
	if len(q.categories) > 0 {
		cats := make([]string, len(q.categories)) // text: QueryExecModeExec cannot encode []uuid.UUID
		for i, id := range q.categories {
			cats[i] = id.String()
		}
		where = append(where, "category_path && "+args.add(cats)+"::uuid[]")
	}
	where = append(where, q.priceFilters(args, "")...)
	if q.inStock != nil {
		cond := inStockSQL("products")
		if !*q.inStock {
			cond = "NOT " + cond
		}
		where = append(where, cond)
	}
	if q.minRating > 0 {
		where = append(where, "rating_avg >= "+args.add(q.minRating))
	}
	for _, pf := range q.props {
		objs := make([]string, len(pf.values))
		for i, v := range pf.values {
			b, _ := json.Marshal([]contracts.Property{{Key: pf.key, Value: v}})
			objs[i] = string(b)
		}
		a := args.add(objs) + "::jsonb[]"
		where = append(where, "(properties @> ANY("+a+") OR EXISTS (SELECT 1 FROM product_variants pv WHERE pv.product_id = products.id AND pv.properties @> ANY("+a+")))")
	}
	return where
}

// inStockSQL is the condition "has available units" of the product row
// named t: on the product itself or on any variant (as StockStatus).
func inStockSQL(t string) string {
	return "(" + t + ".stock > 0 OR EXISTS (SELECT 1 FROM product_variants sv WHERE sv.product_id = " + t + ".id AND sv.stock > 0))"
}

func (q *listQuery) priceFilters(args *sqlArgs, prefix string) []string {
	var prices []string
	if q.minPrice != nil {
		prices = append(prices, prefix+"price >= "+args.add(*q.minPrice))
	}
	if q.maxPrice != nil {
		prices = append(prices, prefix+"price <= "+args.add(*q.maxPrice))
	}
	return prices
}

// countSQL is the count of q's matches.
func (q *listQuery) countSQL() (string, sqlArgs) {
	var args sqlArgs
	return "SELECT count(*) FROM products WHERE " + strings.Join(q.filters(&args), " AND "), args
}

// rankOrder is the relevance order: a product whose SKU (or a variant's)
// is the query first; then the tier (3: the words as a phrase in the name,
// 2: every word in the name, 1: every word as typed, or a synonym,
// anywhere, 0: only through a prefix or a typo correction); then ts_rank
// (the name weighs 1, the description 0.4); then units sold, then the
// average rating; then the id, so the order is total.
const rankOrder = "k DESC, tier DESC, r DESC, units_sold DESC, rating_avg DESC, id DESC"

// build returns the SQL of the page query and its arguments. Each sort
// but relevance has its own index (see the migrations); the keyset
// condition is a row comparison matching the index order. Relevance ranks
// every match (rankedSQL) unless the term table serves it (termsSQL).
//
// Queries with q run with pgx.QueryExecModeExec (see run): planned for
// their actual words on every execution, so the tsqueries fold to
// constants and the planner sees how common the words are.
func (q *listQuery) build() (string, sqlArgs) {
	if q.sort == contracts.SortRelevance && q.m != nil {
		return q.rankedSQL(false)
	}
	var args sqlArgs
	where := q.filters(&args)
	var order, sel string
	switch q.sort {
	case contracts.SortNewest:
		sel, order = "created_at", "created_at DESC, id DESC"
		if c := q.after; c != nil {
			where = append(where, "(created_at, id) < ("+args.add(c.At)+", "+args.add(c.ID)+")")
		}
	case contracts.SortPriceAsc:
		sel, order = "price", "price, id"
		if c := q.after; c != nil {
			where = append(where, "(price, id) > ("+args.add(c.Price)+", "+args.add(c.ID)+")")
		}
	case contracts.SortPriceDesc:
		sel, order = "price", "price DESC, id DESC"
		if c := q.after; c != nil {
			where = append(where, "(price, id) < ("+args.add(c.Price)+", "+args.add(c.ID)+")")
		}
	case contracts.SortRating:
		sel, order = "rating_avg", "rating_avg DESC, id DESC"
		if c := q.after; c != nil {
			where = append(where, "(rating_avg, id) < ("+args.add(c.Avg)+"::float8, "+args.add(c.ID)+")")
		}
	}
	return fmt.Sprintf("SELECT id, %s FROM products WHERE %s ORDER BY %s LIMIT %d",
		sel, strings.Join(where, " AND "), order, q.limit+1), args
}

// rankedSQL is the relevance page query that ranks every match; with
// inexact it keeps only tier 0 (the term table served the rest).
func (q *listQuery) rankedSQL(inexact bool) (string, sqlArgs) {
	var args sqlArgs
	where := q.filters(&args)
	m := q.m
	eq, mq := m.eqSQL(&args), m.mqSQL(&args)
	if inexact {
		where = append(where, "NOT (search @@ "+eq+")")
	}
	sku := "0"
	if len(m.sku) > 0 {
		sku = "(id = ANY(" + args.add(m.sku) + "::uuid[]))::int"
	}
	var cond string
	if c := q.after; c != nil && !(inexact && c.Tier > 0) {
		cond = fmt.Sprintf("WHERE (k, tier, r, units_sold, rating_avg, id) < (%s::int, %s::int, %s::real, %s::bigint, %s::float8, %s::uuid)",
			args.add(c.SKU), args.add(c.Tier), args.add(c.Rank), args.add(c.Sold), args.add(c.Avg), args.add(c.ID))
	}
	return fmt.Sprintf(`SELECT id, k, tier, r, units_sold, rating_avg FROM (
	SELECT id, k, tier, (CASE WHEN tier > 0 THEN ts_rank(search, %s) ELSE ts_rank(search, %s) END)::real AS r, units_sold, rating_avg
	FROM (SELECT id, search, units_sold, rating_avg, %s AS k, %s AS tier FROM products WHERE %s) a
) m %s ORDER BY %s LIMIT %d`, eq, mq, sku, m.tierSQL(&args, eq), strings.Join(where, " AND "), cond, rankOrder, q.limit+1), args
}

// termsSQL is the relevance page of the exact matches of a one-word query
// from product_search_terms (migrations 0003 and 0006): its primary key
// holds the same relevance key, so the page is one backward range scan
// however common the word. It returns "" when q is not such a query.
func (q *listQuery) termsSQL() (string, sqlArgs) {
	if !q.termsServed() {
		return "", nil
	}
	m := q.m
	var args sqlArgs
	from := "product_search_terms t"
	where := []string{"t.term = plainto_tsquery('oc_search', " + args.add(m.words[0].word) + ")"}
	if prices := q.priceFilters(&args, "p."); len(prices) > 0 {
		from += " JOIN products p ON p.id = t.product_id"
		where = append(where, prices...)
	}
	if c := q.after; c != nil {
		where = append(where, fmt.Sprintf("(0, t.tier, t.rank, t.units_sold, t.rating_avg, t.product_id) < (%s::int, %s::int, %s::real, %s::bigint, %s::float8, %s::uuid)",
			args.add(c.SKU), args.add(c.Tier), args.add(c.Rank), args.add(c.Sold), args.add(c.Avg), args.add(c.ID)))
	}
	return fmt.Sprintf(`SELECT t.product_id, 0, t.tier::int, t.rank, t.units_sold, t.rating_avg FROM %s WHERE %s
ORDER BY t.tier DESC, t.rank DESC, t.units_sold DESC, t.rating_avg DESC, t.product_id DESC LIMIT %d`,
		from, strings.Join(where, " AND "), q.limit+1), args
}

// run adds the execution mode to args (see build): queries with q are
// planned for their actual words; the others use the cached statement.
func (q *listQuery) run(args sqlArgs) []any {
	if q.q == "" {
		return args
	}
	return append([]any{pgx.QueryExecModeExec}, args...)
}

// pageKeys runs one page query and scans its sort keys; perWord plans it
// for its arguments (see run).
func (s pgSearch) pageKeys(ctx context.Context, q *listQuery, sqlText string, args sqlArgs, perWord bool) ([]cursor, error) {
	all := []any(args)
	if perWord {
		all = q.run(args)
	}
	rows, err := s.pool.Query(ctx, sqlText, all...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	keys := make([]cursor, 0, q.limit+1)
	for rows.Next() {
		cur := cursor{Sort: q.sort}
		var err error
		switch q.sort {
		case contracts.SortRelevance:
			err = rows.Scan(&cur.ID, &cur.SKU, &cur.Tier, &cur.Rank, &cur.Sold, &cur.Avg)
		case contracts.SortNewest:
			err = rows.Scan(&cur.ID, &cur.At)
		case contracts.SortPriceAsc, contracts.SortPriceDesc:
			err = rows.Scan(&cur.ID, &cur.Price)
		case contracts.SortRating:
			err = rows.Scan(&cur.ID, &cur.Avg)
		}
		if err != nil {
			return nil, err
		}
		keys = append(keys, cur)
	}
	return keys, rows.Err()
}

// analyseSQL answers, in one round trip, the products whose SKU is q and,
// per word, its folded form, whether the lexicon knows it (or, for the last
// word, knows a word it starts), its synonyms, and its nearest lexicon
// words by trigram distance (only for a word the lexicon does not know;
// a nearest-neighbour scan of the GiST index, filtered by edit distance in
// Go: trigrams alone miss a swap in a short word, "chiar" → "chair").
// The prefix test is a range on the "C"-collated primary key.
const analyseSQL = `
WITH w AS (
	SELECT i, f.w, EXISTS (SELECT 1 FROM search_words s WHERE s.word = f.w) AS known,
		i = $2 AND EXISTS (SELECT 1 FROM search_words s WHERE s.word >= f.w AND s.word < f.w || chr(1114111)) AS prefixes
	FROM unnest($1::text[]) WITH ORDINALITY AS u(t, i), LATERAL (SELECT oc_fold(u.t) AS w) f
)
SELECT ARRAY(SELECT id::text FROM products WHERE $3 AND lower(sku) = lower($4) AND status = 'active'
		UNION SELECT v.product_id::text FROM product_variants v JOIN products p ON p.id = v.product_id
		WHERE $3 AND lower(v.sku) = lower($4) AND p.status = 'active'),
	w.w, w.known, w.prefixes,
	coalesce((SELECT y.synonyms FROM search_synonyms y WHERE y.term = w.w), '{}'),
	CASE WHEN w.known OR w.prefixes THEN '{}'::text[] ELSE
		ARRAY(SELECT s.word FROM search_words s ORDER BY s.word <-> w.w, s.word LIMIT 10) END,
	length(to_tsvector('oc_search', w.w))
FROM (SELECT 1) one LEFT JOIN w ON true
ORDER BY w.i`

// Analyse implements searchStore with analyseSQL.
func (s pgSearch) Analyse(ctx context.Context, words []string, maybeSKU bool, text string) ([]string, []wordLookup, error) {
	rows, err := s.pool.Query(ctx, analyseSQL, words, len(words), maybeSKU, text)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var sku []string
	var out []wordLookup
	for rows.Next() {
		var w wordLookup
		var folded *string
		var known, prefixes *bool
		var lexemes *int
		if err := rows.Scan(&sku, &folded, &known, &prefixes, &w.synonyms, &w.near, &lexemes); err != nil {
			return nil, nil, err
		}
		if folded == nil { // no words: the one row of the SKU lookup
			continue
		}
		w.folded, w.known, w.prefixes, w.lexemes = *folded, *known, *prefixes, *lexemes
		out = append(out, w)
	}
	return sku, out, rows.Err()
}

// mqSQL is the tsquery every match satisfies.
func (m *match) mqSQL(args *sqlArgs) string {
	if m.advanced || m.mq == "" {
		return "websearch_to_tsquery('oc_search', " + args.add(m.q) + ")"
	}
	return "to_tsquery('oc_search', " + args.add(m.mq) + ")"
}

// eqSQL is the tsquery of the exact matches (tier 1 and above).
func (m *match) eqSQL(args *sqlArgs) string {
	if m.advanced || m.eq == "" {
		return m.mqSQL(args)
	}
	return "to_tsquery('oc_search', " + args.add(m.eq) + ")"
}

// tierSQL is the tier of a product row (see rankOrder); eq is eqSQL's.
func (m *match) tierSQL(args *sqlArgs, eq string) string {
	if m.advanced || m.eq == "" {
		return "(CASE WHEN search @@ " + eq + " THEN 1 ELSE 0 END)"
	}
	return fmt.Sprintf("(CASE WHEN search @@ to_tsquery('oc_search', %s) THEN 3 WHEN search @@ to_tsquery('oc_search', %s) THEN 2 WHEN search @@ %s THEN 1 ELSE 0 END)",
		args.add(m.pq), args.add(m.nq), eq)
}

// where is the match condition: the tsquery, or the SKU.
func (m *match) where(args *sqlArgs) string {
	cond := "search @@ " + m.mqSQL(args)
	if len(m.sku) > 0 {
		cond = "(" + cond + " OR id = ANY(" + args.add(m.sku) + "::uuid[]))"
	}
	return cond
}

// Facets implements searchStore: one statement over a materialised set
// of the matches.
func (s pgSearch) Facets(ctx context.Context, q *listQuery) ([][]byte, error) {
	var args sqlArgs
	where := q.filters(&args)
	cols := make([]string, 0, len(q.facets))
	for _, f := range q.facets {
		switch f {
		case contracts.FacetCategory:
			cols = append(cols, fmt.Sprintf(`(SELECT coalesce(json_agg(json_build_object('id', c.id, 'name', c.name, 'count', x.n) ORDER BY x.n DESC, c.name, c.id), '[]')
	FROM (SELECT category_id, count(*) AS n FROM m GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %d) x JOIN categories c ON c.id = x.category_id)`, maxFacetCategories))
		case contracts.FacetPrice:
			cols = append(cols, `(SELECT coalesce(json_object_agg(b, n), '{}') FROM (SELECT width_bucket(price, `+args.add(priceEdges)+`::bigint[]) AS b, count(*) AS n FROM m GROUP BY 1) x)`)
		case contracts.FacetRating:
			var parts []string
			for _, r := range ratingMins {
				parts = append(parts, fmt.Sprintf("count(*) FILTER (WHERE rating_avg >= %d)", r))
			}
			cols = append(cols, "(SELECT json_build_array("+strings.Join(parts, ", ")+") FROM m)")
		case contracts.FacetInStock:
			// One pass over the variants in stock (a hashed subplan), not a probe per match.
			cols = append(cols, "(SELECT json_build_array(count(*) FILTER (WHERE s), count(*) FILTER (WHERE NOT s)) FROM "+
				"(SELECT m.stock > 0 OR m.id IN (SELECT product_id FROM product_variants WHERE stock > 0) AS s FROM m) x)")
		case contracts.FacetProperties:
			cols = append(cols, fmt.Sprintf(`(SELECT coalesce(json_agg(json_build_object('key', k, 'value', v, 'count', n) ORDER BY kn DESC, k, n DESC, v), '[]') FROM (
	SELECT k, v, n, kn, dense_rank() OVER (ORDER BY kn DESC, k) AS ki, row_number() OVER (PARTITION BY k ORDER BY n DESC, v) AS vi
	FROM (SELECT k, v, n, sum(n) OVER (PARTITION BY k) AS kn FROM kv) a) b WHERE ki <= %d AND vi <= %d)`, maxFacetKeys, maxFacetValues))
		}
	}
	// kv (property key, value, matches) is computed only when referenced:
	// the (product, key, value) triples of the matches and of their
	// variants (joined, not probed per match), deduplicated, then counted.
	sqlText := "WITH m AS MATERIALIZED (SELECT id, category_id, price, rating_avg, stock, properties FROM products WHERE " +
		strings.Join(where, " AND ") + `), kv AS (SELECT k, v, count(*) AS n FROM (
		SELECT m.id, e->>'key' AS k, e->>'value' AS v FROM m, jsonb_array_elements(m.properties) e
		UNION SELECT vr.product_id, e->>'key', e->>'value' FROM product_variants vr JOIN m ON m.id = vr.product_id, jsonb_array_elements(vr.properties) e
	) t WHERE k IS NOT NULL AND v IS NOT NULL GROUP BY 1, 2) SELECT ` + strings.Join(cols, ", ")
	raw := make([][]byte, len(cols))
	dst := make([]any, len(cols))
	for i := range raw {
		dst[i] = &raw[i]
	}
	if err := s.pool.QueryRow(ctx, sqlText, q.run(args)...).Scan(dst...); err != nil {
		return nil, err
	}
	return raw, nil
}

// maxSuggestCategory: categories come first, at most this many (SQL text).
const maxSuggestCategory = "3"

// suggestSQL: categories whose folded name has a word starting with each
// word typed (first, by length); then distinct product names: names that
// start with the text typed, then names (weight A) matching every word, the
// last as a prefix; the most sold and best rated first within each. Each
// of the two product branches reads at most suggestCandidates rows (an
// index range of the folded names; a GIN match without ordering), so a
// one-letter prefix costs what a rare word does: popularity ranks the
// candidates, not the whole catalogue. $1 the name tsquery, $2 the folded
// text typed, $3 the category patterns, $4 the limit, $5 whether to match
// words inside names (not for a last word of one or two letters, which
// would match most of the catalogue).
const suggestSQL = `
(SELECT 'category', c.name, c.id::text, c.slug, 0 AS o FROM categories c
	WHERE (SELECT bool_and(oc_fold(c.name) ~ p) FROM unnest($3::text[]) p)
	ORDER BY length(c.name), c.name LIMIT ` + maxSuggestCategory + `)
UNION ALL
(SELECT 'product', name, id, slug, o FROM (
	SELECT DISTINCT ON (f) f, name, id, slug, o, units_sold, rating_avg FROM (
		(SELECT oc_fold(name) AS f, name, id::text, slug, 1 AS o, units_sold, rating_avg FROM products
			WHERE status = 'active' AND oc_fold(name) LIKE $2 || '%' ORDER BY oc_fold(name) USING ~<~ LIMIT ` + suggestCandidates + `)
		UNION ALL
		(SELECT oc_fold(name), name, id::text, slug, 2, units_sold, rating_avg FROM products
			WHERE $5 AND status = 'active' AND search @@ to_tsquery('oc_search', $1) LIMIT ` + suggestCandidates + `)
	) c ORDER BY f, o, units_sold DESC, rating_avg DESC, id) x
	ORDER BY o, units_sold DESC, rating_avg DESC, name LIMIT $4)`

// suggestCandidates bounds the rows each product branch of suggestSQL reads.
const suggestCandidates = "200"

// Suggest implements searchStore with suggestSQL, planned for its
// arguments: the last word is a prefix, the others whole words, each in
// the name (weight A).
func (s pgSearch) Suggest(ctx context.Context, words []string, limit int, inside bool) ([]contracts.Suggestion, error) {
	terms := make([]string, len(words))
	pats := make([]string, len(words))
	for i, w := range words {
		terms[i] = w + ":A"
		if i == len(words)-1 {
			terms[i] = w + ":*A"
		}
		pats[i] = "(^|[^[:alnum:]])" + w
	}
	rows, err := s.pool.Query(ctx, suggestSQL, pgx.QueryExecModeExec, strings.Join(terms, " & "), strings.Join(words, " "), pats, limit, inside)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []contracts.Suggestion
	for rows.Next() {
		var sg contracts.Suggestion
		var o int
		if err := rows.Scan(&sg.Kind, &sg.Text, &sg.ID, &sg.Slug, &o); err != nil {
			return nil, err
		}
		out = append(out, sg)
	}
	return out, rows.Err()
}
