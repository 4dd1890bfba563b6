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
	if s := p.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, contracts.InvalidArgument("limit", "limit must be a positive integer")
		}
		q.limit = n
	}
	q.limit = contracts.Page{Limit: q.limit}.Normalize().Limit
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
// true) and its arguments. Each sort has its own index (see the migration);
// the keyset condition is a row comparison matching the index order.
func (q *listQuery) build(count bool) (string, []any) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	rank := ""
	if q.q != "" {
		tsq := "websearch_to_tsquery('english', " + arg(q.q) + ")"
		where = append(where, "search @@ "+tsq)
		rank = "ts_rank(search, " + tsq + ")"
	}
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
		where = append(where, "category_path && "+arg(q.categories)+"::uuid[]")
	}
	if q.minPrice != nil {
		where = append(where, "price >= "+arg(*q.minPrice))
	}
	if q.maxPrice != nil {
		where = append(where, "price <= "+arg(*q.maxPrice))
	}
	if count {
		return "SELECT count(*) FROM products WHERE " + strings.Join(where, " AND "), args
	}
	var order, sel string
	switch q.sort {
	case contracts.SortRelevance:
		sel, order = rank, rank+" DESC, id DESC"
		if c := q.after; c != nil {
			where = append(where, "("+rank+", id) < ("+arg(c.Rank)+"::real, "+arg(c.ID)+")")
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

// listIDs runs the page query: the ids of the page in order, and the
// cursor after it ("" on the last page).
func (c *core) listIDs(ctx context.Context, q *listQuery) ([]string, string, error) {
	sqlText, args := q.build(false)
	rows, err := c.pool.Query(ctx, sqlText, args...)
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

func (c *core) list(ctx context.Context, actor contracts.Actor, q *listQuery) (*contracts.List[*contracts.Product], error) {
	ids, next, err := c.listIDs(ctx, q)
	if err != nil {
		return nil, err
	}
	docs, err := c.docs(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := &contracts.List[*contracts.Product]{Items: make([]*contracts.Product, 0, len(ids)), NextCursor: next}
	for _, id := range ids {
		if d := docs[id]; d != nil { // a product deleted between the two reads is skipped
			out.Items = append(out.Items, d)
		}
	}
	if q.total {
		sqlText, args := q.build(true)
		var n int64
		if err := c.pool.QueryRow(ctx, sqlText, args...).Scan(&n); err != nil {
			return nil, fmt.Errorf("count products: %w", err)
		}
		out.Total = &n
	}
	return out, nil
}
