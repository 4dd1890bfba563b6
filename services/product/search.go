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

// maxCategoryFilters bounds the repeatable category parameter; the
// property filter has the same bound.
const (
	maxCategoryFilters = 20
	maxPropertyFilters = 20
)

// listQuery is a validated product.list request.
type listQuery struct {
	q          string
	categories []uuid.UUID
	minPrice   *int64
	maxPrice   *int64
	inStock    *bool
	minRating  int
	props      []propFilter // one per key, in the order first seen
	facets     []string     // contracts.Facet*, deduplicated
	sort       string
	limit      int
	after      *cursor
	total      bool
	sellerID   string
	status     string // "" = active only, "any" = every status
	featured   bool
	gin        bool // never read product_search_terms (tests compare both paths)

	m *match // the analysed q (analyse), nil without q
}

// propFilter is the property filter of one key: any of values.
type propFilter struct {
	key    string
	values []string
}

// cursor is the position after the last item of a page: the sort key of
// that item and its id. It travels base64url(JSON) and is only valid with
// the sort it was made for. The relevance key is (SKU hit, tier, rank,
// units sold, rating, id); see rankOrder.
type cursor struct {
	Sort  string    `json:"s"`
	SKU   int32     `json:"k,omitempty"`
	Tier  int32     `json:"l,omitempty"`
	Rank  float32   `json:"r,omitempty"`
	Sold  int64     `json:"u,omitempty"`
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

// parseList validates product.list params: the text and catalogue
// filters, the sort and page, and whose products (and in which status)
// actor may list.
func parseList(actor contracts.Actor, p contracts.Params) (*listQuery, error) {
	q := &listQuery{q: strings.TrimSpace(p.Get("q")), sort: p.Get("sort")}
	if len(q.q) > 200 {
		return nil, contracts.InvalidArgument("q", "q must be at most 200 characters")
	}
	err := q.parseCategories(p)
	if err == nil {
		err = q.parsePrices(p)
	}
	if err == nil {
		err = q.parseFilters(p)
	}
	if err == nil {
		err = q.parseSort()
	}
	if err == nil {
		err = q.parsePage(p)
	}
	if err == nil {
		err = q.parseSeller(actor, p)
	}
	if err != nil {
		return nil, err
	}
	return q, nil
}

// parseCategories reads category (repeated, or comma-separated).
func (q *listQuery) parseCategories(p contracts.Params) error {
	cats := p["category"]
	if len(cats) > maxCategoryFilters {
		return contracts.InvalidArgument("category", "at most %d categories", maxCategoryFilters)
	}
	for _, cs := range cats {
		for _, s := range strings.Split(cs, ",") { // category=a,b is accepted too
			if s == "" {
				continue
			}
			id, err := uuid.Parse(s)
			if err != nil {
				return contracts.InvalidArgument("category", "category must be a category id")
			}
			q.categories = append(q.categories, id)
		}
	}
	return nil
}

// parsePrices reads min_price and max_price.
func (q *listQuery) parsePrices(p contracts.Params) error {
	for _, f := range []struct {
		name string
		dst  **int64
	}{{"min_price", &q.minPrice}, {"max_price", &q.maxPrice}} {
		if s := p.Get(f.name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				return contracts.InvalidArgument(f.name, "%s must be a non-negative integer amount in minor units", f.name)
			}
			*f.dst = &n
		}
	}
	if q.minPrice != nil && q.maxPrice != nil && *q.minPrice > *q.maxPrice {
		return contracts.InvalidArgument("min_price", "min_price exceeds max_price")
	}
	return nil
}

// parseSort reads sort: relevance by default with a text, newest
// without one (relevance without a text is newest).
func (q *listQuery) parseSort() error {
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
		return contracts.InvalidArgument("sort", "sort must be relevance, newest, price_asc, price_desc or rating")
	}
	return nil
}

// parsePage reads limit, cursor (which must belong to the sort) and total.
func (q *listQuery) parsePage(p contracts.Params) error {
	pg, err := contracts.PageOf(p)
	if err != nil {
		return err
	}
	q.limit = pg.Limit
	if s := p.Get("cursor"); s != "" {
		c, err := decodeCursor(s)
		if err != nil {
			return err
		}
		if c.Sort != q.sort {
			return contracts.InvalidArgument("cursor", "the cursor belongs to another sort")
		}
		q.after = c
	}
	switch p.Get("total") {
	case "", "false", "0":
	case "true", "1":
		q.total = true
	default:
		return contracts.InvalidArgument("total", "total must be true or false")
	}
	return nil
}

// parseSeller reads seller (or seller_id) and status. Drafts and archived
// products are listed only to their seller (or an admin) and only when
// listing that seller's products.
func (q *listQuery) parseSeller(actor contracts.Actor, p contracts.Params) error {
	q.sellerID = p.Get("seller")
	if q.sellerID == "" {
		q.sellerID = p.Get("seller_id")
	}
	status := p.Get("status")
	if status != "" {
		if err := validStatus("status", status); err != nil {
			return err
		}
	}
	if q.sellerID != "" && actor.Can(q.sellerID) {
		q.status = "any"
		if status != "" {
			q.status = status
		}
	} else if status != "" && status != contracts.ProductActive {
		return contracts.PermissionDenied("only a seller sees their own %s products (filter by seller)", status)
	}
	return nil
}

// parseFilters reads in_stock, min_rating, property and facets.
func (q *listQuery) parseFilters(p contracts.Params) error {
	switch s := p.Get("in_stock"); s {
	case "":
	case "true", "1", "false", "0":
		v := s == "true" || s == "1"
		q.inStock = &v
	default:
		return contracts.InvalidArgument("in_stock", "in_stock must be true or false")
	}
	if s := p.Get("min_rating"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 5 {
			return contracts.InvalidArgument("min_rating", "min_rating must be a whole number from 1 to 5")
		}
		q.minRating = n
	}
	props := p["property"]
	if len(props) > maxPropertyFilters {
		return contracts.InvalidArgument("property", "at most %d property filters", maxPropertyFilters)
	}
	for _, s := range props {
		k, v, ok := strings.Cut(s, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" || len(k) > 100 || len(v) > 200 {
			return contracts.InvalidArgument("property", "property must be key:value, such as property=color:red")
		}
		found := false
		for i := range q.props {
			if q.props[i].key == k {
				q.props[i].values = append(q.props[i].values, v)
				found = true
			}
		}
		if !found {
			q.props = append(q.props, propFilter{key: k, values: []string{v}})
		}
	}
	for _, fs := range p["facets"] {
		for _, f := range strings.Split(fs, ",") {
			switch f = strings.TrimSpace(f); f {
			case "":
			case contracts.FacetCategory, contracts.FacetPrice, contracts.FacetRating, contracts.FacetInStock, contracts.FacetProperties:
				dup := false
				for _, g := range q.facets {
					dup = dup || g == f
				}
				if !dup {
					q.facets = append(q.facets, f)
				}
			default:
				return contracts.InvalidArgument("facets", "facets must be a comma-separated list of category, price, rating, in_stock and properties; %q is none of them", f)
			}
		}
	}
	return nil
}

// prepare analyses q's search text once (see analyse).
func (c *core) prepare(ctx context.Context, q *listQuery) error {
	if q.q == "" || q.m != nil {
		return nil
	}
	m, err := c.analyse(ctx, q.q)
	if err != nil {
		return err
	}
	q.m = m
	return nil
}

// count returns the number of products q matches (total=true).
func (c *core) count(ctx context.Context, q *listQuery) (int64, error) {
	if err := c.prepare(ctx, q); err != nil {
		return 0, err
	}
	if q.m != nil && q.m.none {
		return 0, nil
	}
	n, err := c.search.Count(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("count products: %w", err)
	}
	return n, nil
}

// termsServed says the term table (product_search_terms, migrations 0003
// and 0006) serves q's exact matches: a one-word relevance query the
// lexicon knows, over the public catalogue or a price range.
func (q *listQuery) termsServed() bool {
	m := q.m
	return !q.gin && m != nil && m.single && q.sort == contracts.SortRelevance && q.status == "" && q.sellerID == "" &&
		!q.featured && len(q.categories) == 0 && q.inStock == nil && q.minRating == 0 && len(q.props) == 0
}

// listIDs runs the page query: the ids of the page in order, and the
// cursor after it ("" on the last page). A one-word relevance query reads
// its exact matches from the term table and, when they do not fill the
// page, its prefix and typo matches (tier 0, which rank after every exact
// one) from the ranking query.
func (c *core) listIDs(ctx context.Context, q *listQuery) ([]string, string, error) {
	if err := c.prepare(ctx, q); err != nil {
		return nil, "", err
	}
	if q.m != nil && q.m.none {
		return []string{}, "", nil
	}
	var keys []cursor
	if q.termsServed() {
		if q.after == nil || q.after.Tier > 0 {
			var err error
			if keys, err = c.search.TermKeys(ctx, q); err != nil {
				return nil, "", fmt.Errorf("list products: %w", err)
			}
		}
		if len(keys) <= q.limit {
			more, err := c.search.InexactKeys(ctx, q)
			if err != nil {
				return nil, "", fmt.Errorf("list products: %w", err)
			}
			keys = append(keys, more...)
		}
	} else {
		var err error
		if keys, err = c.search.Keys(ctx, q); err != nil {
			return nil, "", fmt.Errorf("list products: %w", err)
		}
	}
	ids := make([]string, 0, min(len(keys), q.limit))
	next := ""
	for i, k := range keys {
		if i == q.limit {
			next = keys[i-1].encode()
			break
		}
		ids = append(ids, k.ID.String())
	}
	return ids, next, nil
}

// productList is the reply of product.list (contracts.ProductList) with
// the documents as cached.
type productList struct {
	Items      []json.RawMessage        `json:"items"`
	NextCursor string                   `json:"next_cursor,omitempty"`
	Total      *int64                   `json:"total,omitempty"`
	Corrected  string                   `json:"corrected,omitempty"`
	Facets     *contracts.ProductFacets `json:"facets,omitempty"`
}

// list is product.list: the page's documents as cached (reply JSON,
// neither decoded nor re-encoded) in the page's order. A public search (or
// a request for facets) reuses a page computed in the last searchPageTTL
// (searchcache.go); the documents are read fresh from the document cache.
func (c *core) list(ctx context.Context, actor contracts.Actor, q *listQuery) (*productList, error) {
	key, cacheable := q.cacheKey()
	now := time.Now()
	pg, ok := c.pages.get(key, searchPageTTL, now)
	if !cacheable || !ok {
		gen := c.pages.generation()
		var err error
		if pg, err = c.page(ctx, q); err != nil {
			return nil, err
		}
		if cacheable {
			c.pages.put(key, pg, gen, now)
		}
	}
	docs, err := c.rawDocs(ctx, pg.ids)
	if err != nil {
		return nil, err
	}
	out := &productList{Items: make([]json.RawMessage, 0, len(pg.ids)), NextCursor: pg.next, Total: pg.total,
		Corrected: pg.corrected, Facets: pg.facets}
	for _, id := range pg.ids {
		if d, ok := docs[id]; ok { // a product deleted between the two reads is skipped
			out.Items = append(out.Items, d.json)
		}
	}
	return out, nil
}

// page computes a page of q: the ids, the cursor, and the total and facets
// when asked for.
func (c *core) page(ctx context.Context, q *listQuery) (*searchPage, error) {
	ids, next, err := c.listIDs(ctx, q)
	if err != nil {
		return nil, err
	}
	pg := &searchPage{ids: ids, next: next}
	if q.m != nil {
		pg.corrected = q.m.corrected
	}
	if q.total {
		n, err := c.count(ctx, q)
		if err != nil {
			return nil, err
		}
		pg.total = &n
	}
	if len(q.facets) > 0 {
		if pg.facets, err = c.facets(ctx, q); err != nil {
			return nil, err
		}
	}
	return pg, nil
}

// cacheKey is the key of q's page in the page cache, and whether it may be
// cached at all: public searches and facet requests (a seller's own
// listing is always fresh; a plain listing is one index range anyway).
func (q *listQuery) cacheKey() (string, bool) {
	if q.status != "" || q.sellerID != "" || q.featured || q.gin || (q.q == "" && len(q.facets) == 0) {
		return "", false
	}
	var b strings.Builder
	b.WriteString(strings.ToLower(q.q))
	fmt.Fprintf(&b, "\x00%s\x00%d\x00%v\x00%v", q.sort, q.limit, q.total, q.categories)
	for _, p := range []*int64{q.minPrice, q.maxPrice} {
		if p != nil {
			fmt.Fprintf(&b, "\x00%d", *p)
		} else {
			b.WriteString("\x00-")
		}
	}
	if q.inStock != nil {
		fmt.Fprintf(&b, "\x00%v", *q.inStock)
	}
	fmt.Fprintf(&b, "\x00%d\x00%q\x00%q", q.minRating, q.props, q.facets)
	if q.after != nil {
		b.WriteString("\x00" + q.after.encode())
	}
	return b.String(), true
}
