package product

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
)

// priceEdges are the lower bounds (minor units) of the price buckets after
// the first: 0–9.99, 10–24.99, 25–49.99, 50–99.99, 100–249.99, 250–499.99,
// 500 and more.
var priceEdges = []int64{1000, 2500, 5000, 10000, 25000, 50000}

// ratingMins are the thresholds of the rating facet.
var ratingMins = []int{4, 3, 2, 1}

// Bounds of the category and property facets.
const (
	maxFacetCategories = 50
	maxFacetKeys       = 20
	maxFacetValues     = 20
)

// facets counts q's matches (every page, the current filters) by the
// facets asked for, in one statement over the matches.
func (c *core) facets(ctx context.Context, q *listQuery) (*contracts.ProductFacets, error) {
	out := &contracts.ProductFacets{}
	if err := c.prepare(ctx, q); err != nil {
		return nil, err
	}
	if q.m != nil && q.m.none {
		return out, nil
	}
	// Facets do not depend on the sort or the page, and typos of a word
	// correct to the same query: they are kept by what is matched.
	key, cacheable := q.facetKey()
	now := time.Now()
	if f, ok := c.facetSets.get(key, searchPageTTL, now); cacheable && ok {
		return f, nil
	}
	gen := c.facetSets.generation()
	raw, err := c.search.Facets(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("facets: %w", err)
	}
	f := &contracts.ProductFacets{}
	for i, name := range q.facets {
		if err := setFacet(f, name, raw[i]); err != nil {
			return nil, fmt.Errorf("facets: %s: %w", name, err)
		}
	}
	if cacheable {
		c.facetSets.put(key, f, gen, now)
	}
	return f, nil
}

// facetKey identifies the matches of an analysed public q and the facets
// asked for; see listQuery.cacheKey.
func (q *listQuery) facetKey() (string, bool) {
	if q.status != "" || q.sellerID != "" || q.featured {
		return "", false
	}
	var b strings.Builder
	if m := q.m; m != nil {
		fmt.Fprintf(&b, "%v\x00%q\x00%q\x00%q\x00%q\x00%q", m.advanced, m.q, m.mq, m.eq, m.sku, q.facets)
	} else {
		fmt.Fprintf(&b, "\x00%q", q.facets)
	}
	fmt.Fprintf(&b, "\x00%v", q.categories)
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
	fmt.Fprintf(&b, "\x00%d\x00%q", q.minRating, q.props)
	return b.String(), true
}

// setFacet decodes one facet column into out.
func setFacet(out *contracts.ProductFacets, f string, raw []byte) error {
	switch f {
	case contracts.FacetCategory:
		out.Categories = []contracts.CategoryFacet{}
		return json.Unmarshal(raw, &out.Categories)
	case contracts.FacetPrice:
		var byBucket map[int]int64
		if err := json.Unmarshal(raw, &byBucket); err != nil {
			return err
		}
		out.Price = make([]contracts.PriceFacet, 0, len(priceEdges)+1)
		for b := 0; b <= len(priceEdges); b++ {
			pf := contracts.PriceFacet{Count: byBucket[b]}
			if b > 0 {
				pf.Min = priceEdges[b-1]
			}
			if b < len(priceEdges) {
				hi := priceEdges[b] - 1
				pf.Max = &hi
			}
			out.Price = append(out.Price, pf)
		}
	case contracts.FacetRating:
		var counts []int64
		if err := json.Unmarshal(raw, &counts); err != nil || len(counts) != len(ratingMins) {
			return fmt.Errorf("rating counts %s: %v", raw, err)
		}
		out.Rating = make([]contracts.RatingFacet, len(ratingMins))
		for i, r := range ratingMins {
			out.Rating[i] = contracts.RatingFacet{Min: r, Count: counts[i]}
		}
	case contracts.FacetInStock:
		var counts [2]int64
		if err := json.Unmarshal(raw, &counts); err != nil {
			return err
		}
		out.InStock = &contracts.InStockFacet{InStock: counts[0], OutOfStock: counts[1]}
	case contracts.FacetProperties:
		var rows []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
			Count int64  `json:"count"`
		}
		if err := json.Unmarshal(raw, &rows); err != nil {
			return err
		}
		out.Properties = []contracts.PropertyFacet{}
		for _, r := range rows {
			i := slices.IndexFunc(out.Properties, func(p contracts.PropertyFacet) bool { return p.Key == r.Key })
			if i < 0 {
				out.Properties = append(out.Properties, contracts.PropertyFacet{Key: r.Key})
				i = len(out.Properties) - 1
			}
			out.Properties[i].Values = append(out.Properties[i].Values, contracts.ValueCount{Value: r.Value, Count: r.Count})
		}
	}
	return nil
}
