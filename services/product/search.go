package product

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/opencommerce/opencommerce/contracts"
)

// maxCategoryFilters bounds the repeatable category parameter.
const maxCategoryFilters = 20

// listQuery is a validated product.list request.
type listQuery struct {
	q          string
	categories []uuid.UUID
	minPrice   *int64
	maxPrice   *int64
	sort       string
	limit      int
	after      *cursor
	total      bool
	sellerID   string
	status     string // "" = active only, "any" = every status
	featured   bool
	gin        bool // never read product_search_terms (tests compare both paths)
}

// cursor is the position after the last item of a page: the sort key of
// that item and its id. It travels base64url(JSON) and is only valid with
// the sort it was made for.
type cursor struct {
	Sort  string    `json:"s"`
	Rank  float32   `json:"r,omitempty"`
	Price int64     `json:"p,omitempty"`
	Avg   float64   `json:"a,omitempty"`
	At    time.Time `json:"t,omitzero"`
	ID    uuid.UUID `json:"i"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (*cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 512 {
		return nil, contracts.InvalidArgument("cursor", "malformed cursor")
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.ID == uuid.Nil {
		return nil, contracts.InvalidArgument("cursor", "malformed cursor")
	}
	return &c, nil
}

// parseList validates product.list params.
func parseList(actor contracts.Actor, p contracts.Params) (*listQuery, error) {
	q := &listQuery{q: strings.TrimSpace(p.Get("q")), sort: p.Get("sort")}
	if len(q.q) > 200 {
		return nil, contracts.InvalidArgument("q", "q must be at most 200 characters")
	}
	cats := p["category"]
	if len(cats) > maxCategoryFilters {
		return nil, contracts.InvalidArgument("category", "at most %d categories", maxCategoryFilters)
	}
	for _, cs := range cats {
		for _, s := range strings.Split(cs, ",") { // category=a,b is accepted too
			if s == "" {
				continue
			}
			id, err := uuid.Parse(s)
			if err != nil {
				return nil, contracts.InvalidArgument("category", "category must be a category id")
			}
			q.categories = append(q.categories, id)
		}
	}
	for _, f := range []struct {
		name string
		dst  **int64
	}{{"min_price", &q.minPrice}, {"max_price", &q.maxPrice}} {
		if s := p.Get(f.name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				return nil, contracts.InvalidArgument(f.name, "%s must be a non-negative integer amount in minor units", f.name)
			}
			*f.dst = &n
		}
	}
	if q.minPrice != nil && q.maxPrice != nil && *q.minPrice > *q.maxPrice {
		return nil, contracts.InvalidArgument("min_price", "min_price exceeds max_price")
	}
	switch q.sort {
	case "":
		q.sort = contracts.SortNewest
		if q.q != "" {
			q.sort = contracts.SortRelevance
		}
	case contracts.SortRelevance:
		if q.q == "" {
			q.sort = contracts.SortNewest
		}
	case contracts.SortNewest, contracts.SortPriceAsc, contracts.SortPriceDesc, contracts.SortRating:
	default:
		return nil, contracts.InvalidArgument("sort", "sort must be relevance, newest, price_asc, price_desc or rating")
	}
	pg, err := contracts.PageOf(p)
	if err != nil {
		return nil, err
	}
	q.limit = pg.Limit
	if s := p.Get("cursor"); s != "" {
		c, err := decodeCursor(s)
		if err != nil {
			return nil, err
		}
		if c.Sort != q.sort {
			return nil, contracts.InvalidArgument("cursor", "the cursor belongs to another sort")
		}
		q.after = c
	}
	switch p.Get("total") {
	case "", "false", "0":
	case "true", "1":
		q.total = true
	default:
		return nil, contracts.InvalidArgument("total", "total must be true or false")
	}
	q.sellerID = p.Get("seller")
	if q.sellerID == "" {
		q.sellerID = p.Get("seller_id")
	}
	status := p.Get("status")
	if status != "" {
		if err := validStatus("status", status); err != nil {
			return nil, err
		}
	}
	// Drafts and archived products are listed only to their seller (or an
	// admin) and only when listing that seller's products.
	if q.sellerID != "" && actor.Can(q.sellerID) {
		q.status = "any"
		if status != "" {
			q.status = status
		}
	} else if status != "" && status != contracts.ProductActive {
		return nil, contracts.PermissionDenied("only a seller sees their own %s products (filter by seller)", status)
	}
	return q, nil
}

// build returns the SQL of the page query (or of the count when count is
// true) and its arguments. Each sort has its own index (see the migrations);
// the keyset condition is a row comparison matching the index order.
//
// Queries with q run with pgx.QueryExecModeExec (see run): planned for
// their actual words on every execution, so websearch_to_tsquery folds to a
// constant and the planner sees how common the words are. Under a generic
// plan of a cached prepared statement the tsquery was recomputed for every
// matching row and its selectivity guessed (a common word cost twice the
// custom plan's time, and a filtered one ten times).
//
// A relevance query over the whole public catalogue (optionally with a
// price range) has two branches, of which the planner keeps exactly one,
// chosen by numnode(tsquery) once the tsquery is a constant: a
// single-lexeme query reads product_search_terms (ts_rank precomputed per
// product and lexeme, migration 0003) in rank order from its primary key,
// so a common word costs one page of an index, not a ranking of all its
// matches; anything else (several lexemes, phrases, negations) ranks every
// match from the GIN index as before. Both give the same rank values, so
// the order and the cursors are the same either way. Relevance with
// category, seller, status or featured filters always takes the GIN path
// (those filters narrow the matches through their own indexes first).
func (q *listQuery) build(count bool) (string, []any) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	tsq, rank := "", ""
	if q.q != "" {
		tsq = "websearch_to_tsquery('english', " + arg(q.q) + ")"
		where = append(where, "search @@ "+tsq)
		rank = "ts_rank(search, " + tsq + ")"
	}
	terms := q.q != "" && !q.gin && (q.sort == contracts.SortRelevance || count) &&
		q.status == "" && q.sellerID == "" && !q.featured && len(q.categories) == 0
	single := "numnode(" + tsq + ") = 1"
	switch q.status {
	case "":
		where = append(where, "status = 'active'")
	case "any":
	default:
		where = append(where, "status = "+arg(q.status))
	}
	if q.sellerID != "" {
		where = append(where, "seller_id = "+arg(q.sellerID))
	}
	if q.featured {
		where = append(where, "featured")
	}
	if len(q.categories) > 0 {
		cats := make([]string, len(q.categories)) // text: QueryExecModeExec cannot encode []uuid.UUID
		for i, id := range q.categories {
			cats[i] = id.String()
		}
		where = append(where, "category_path && "+arg(cats)+"::uuid[]")
	}
	var prices []string
	if q.minPrice != nil {
		prices = append(prices, "price >= "+arg(*q.minPrice))
	}
	if q.maxPrice != nil {
		prices = append(prices, "price <= "+arg(*q.maxPrice))
	}
	where = append(where, prices...)
	// termsFrom is the FROM … WHERE of the term branch: products is joined
	// only when a price filter needs the price.
	termsFrom := func(cond ...string) string {
		from := "product_search_terms t"
		if len(prices) > 0 {
			from += " JOIN products p ON p.id = t.product_id"
			cond = append(cond, prices...)
		}
		return from + " WHERE " + strings.Join(append([]string{"t.term = " + tsq}, cond...), " AND ")
	}
	if count {
		gin := "SELECT count(*) FROM products WHERE " + strings.Join(where, " AND ")
		if !terms {
			return gin, args
		}
		return "SELECT CASE WHEN " + single + " THEN (SELECT count(*) FROM " + termsFrom() + ") ELSE (" + gin + ") END", args
	}
	var order, sel string
	switch q.sort {
	case contracts.SortRelevance:
		sel, order = rank, rank+" DESC, id DESC"
		if c := q.after; c != nil {
			r, id := arg(c.Rank), arg(c.ID)
			where = append(where, "("+rank+", id) < ("+r+"::real, "+id+")")
			if terms {
				return q.union(termsFrom(single, "(t.rank, t.product_id) < ("+r+"::real, "+id+")"), single, sel, where, order), args
			}
		} else if terms {
			return q.union(termsFrom(single), single, sel, where, order), args
		}
	case contracts.SortNewest:
		sel, order = "created_at", "created_at DESC, id DESC"
		if c := q.after; c != nil {
			where = append(where, "(created_at, id) < ("+arg(c.At)+", "+arg(c.ID)+")")
		}
	case contracts.SortPriceAsc:
		sel, order = "price", "price, id"
		if c := q.after; c != nil {
			where = append(where, "(price, id) > ("+arg(c.Price)+", "+arg(c.ID)+")")
		}
	case contracts.SortPriceDesc:
		sel, order = "price", "price DESC, id DESC"
		if c := q.after; c != nil {
			where = append(where, "(price, id) < ("+arg(c.Price)+", "+arg(c.ID)+")")
		}
	case contracts.SortRating:
		sel, order = "rating_avg", "rating_avg DESC, id DESC"
		if c := q.after; c != nil {
			where = append(where, "(rating_avg, id) < ("+arg(c.Avg)+"::float8, "+arg(c.ID)+")")
		}
	}
	return fmt.Sprintf("SELECT id, %s FROM products WHERE %s ORDER BY %s LIMIT %d",
		sel, strings.Join(where, " AND "), order, q.limit+1), args
}

// union is the relevance page query of a query eligible for the term
// branch: terms is the branch's FROM … WHERE, single the condition that
// selects it; the GIN branch runs otherwise. Exactly one branch returns rows.
func (q *listQuery) union(terms, single, sel string, where []string, order string) string {
	return fmt.Sprintf(`SELECT id, r FROM (
	(SELECT t.product_id AS id, t.rank AS r FROM %s ORDER BY t.rank DESC, t.product_id DESC LIMIT %d)
	UNION ALL
	(SELECT id, %s AS r FROM products WHERE NOT (%s) AND %s ORDER BY %s LIMIT %d)
) u ORDER BY r DESC, id DESC`, terms, q.limit+1, sel, single, strings.Join(where, " AND "), order, q.limit+1)
}

// run adds the execution mode to args (see build): queries with q are
// planned for their actual words; the others use the cached statement.
func (q *listQuery) run(args []any) []any {
	if q.q == "" {
		return args
	}
	return append([]any{pgx.QueryExecModeExec}, args...)
}

// count returns the number of products q matches (total=true).
func (c *core) count(ctx context.Context, q *listQuery) (int64, error) {
	sqlText, args := q.build(true)
	var n int64
	if err := c.pool.QueryRow(ctx, sqlText, q.run(args)...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count products: %w", err)
	}
	return n, nil
}

// listIDs runs the page query: the ids of the page in order, and the
// cursor after it ("" on the last page).
func (c *core) listIDs(ctx context.Context, q *listQuery) ([]string, string, error) {
	sqlText, args := q.build(false)
	rows, err := c.pool.Query(ctx, sqlText, q.run(args)...)
	if err != nil {
		return nil, "", fmt.Errorf("list products: %w", err)
	}
	defer rows.Close()
	ids := make([]string, 0, q.limit)
	var last cursor
	next := ""
	for rows.Next() {
		cur := cursor{Sort: q.sort}
		var dst any
		switch q.sort {
		case contracts.SortRelevance:
			dst = &cur.Rank
		case contracts.SortNewest:
			dst = &cur.At
		case contracts.SortPriceAsc, contracts.SortPriceDesc:
			dst = &cur.Price
		case contracts.SortRating:
			dst = &cur.Avg
		}
		if err := rows.Scan(&cur.ID, dst); err != nil {
			return nil, "", err
		}
		if len(ids) == q.limit {
			next = last.encode()
			break
		}
		ids = append(ids, cur.ID.String())
		last = cur
	}
	return ids, next, rows.Err()
}

// list is product.list: the page's documents as cached (reply JSON,
// neither decoded nor re-encoded) in the page's order.
func (c *core) list(ctx context.Context, actor contracts.Actor, q *listQuery) (*contracts.List[json.RawMessage], error) {
	ids, next, err := c.listIDs(ctx, q)
	if err != nil {
		return nil, err
	}
	docs, err := c.rawDocs(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := &contracts.List[json.RawMessage]{Items: make([]json.RawMessage, 0, len(ids)), NextCursor: next}
	for _, id := range ids {
		if d, ok := docs[id]; ok { // a product deleted between the two reads is skipped
			out.Items = append(out.Items, d.json)
		}
	}
	if q.total {
		n, err := c.count(ctx, q)
		if err != nil {
			return nil, err
		}
		out.Total = &n
	}
	return out, nil
}
