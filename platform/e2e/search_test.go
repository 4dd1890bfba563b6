package e2e_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// searchShop is a small catalogue for the search tests, made through the
// API: names, descriptions, SKUs, variants with properties, stock.
type searchShop struct {
	adm, seller, cust *client
	audio, apparel    category
	byName            map[string]string // product name → id
}

func newSearchShop(t *testing.T) *searchShop {
	t.Helper()
	env := startRoomy(t)
	c := newClient(t, env)
	s := &searchShop{adm: c.as(adminSession(c).Access), byName: map[string]string{}}
	s.seller = c.as(signUp(c, "seller@search.example.com", "seller").Access)
	s.cust = c.as(signUp(c, "shopper@search.example.com", "").Access)
	s.audio = newCategory(s.adm, "Audio", "")
	s.apparel = newCategory(s.adm, "Apparel", "")
	for _, p := range []map[string]any{
		{"name": "Wireless Bluetooth Headphones", "description": "Over-ear headphones with noise cancelling.", "category_id": s.audio.ID,
			"sku": "HP-100", "price": money{12900, "USD"}, "stock": 4, "properties": []contracts.Property{{Key: "color", Value: "black"}}},
		{"name": "Bluetooth Speaker", "description": "A loud portable speaker.", "category_id": s.audio.ID,
			"price": money{4900, "USD"}, "stock": 0, "properties": []contracts.Property{{Key: "color", Value: "red"}}},
		{"name": "Sport Earbuds", "description": "Earbuds that work like headphones on the run.", "category_id": s.audio.ID,
			"price": money{2900, "USD"}, "stock": 9},
		{"name": "Cotton T-Shirt", "description": "A soft crew-neck shirt.", "category_id": s.apparel.ID, "sku": "TS-1",
			"price": money{1900, "USD"}, "variants": []map[string]any{
				{"sku": "TS-1-RED-M", "stock": 3, "properties": []contracts.Property{{Key: "color", Value: "red"}, {Key: "size", Value: "M"}}},
				{"sku": "TS-1-BLU-L", "stock": 0, "properties": []contracts.Property{{Key: "color", Value: "blue"}, {Key: "size", Value: "L"}}},
			}},
		{"name": "Café Apron", "description": "For the barista at home.", "category_id": s.apparel.ID, "price": money{900, "USD"}, "stock": 2},
	} {
		var got product
		s.seller.must(http.StatusCreated, "POST", "/products", p).JSON(t, &got)
		s.byName[got.Name] = got.ID
	}
	return s
}

// search answers GET /products with the query pairs, signed in (the
// gateway caches only anonymous reads).
func (s *searchShop) search(t *testing.T, pairs ...string) contracts.ProductList {
	t.Helper()
	return decode[contracts.ProductList](t, s.cust.with(t).must(http.StatusOK, "GET", "/products"+query(pairs...), nil))
}

func names(l contracts.ProductList) []string {
	out := []string{}
	for _, p := range l.Items {
		out = append(out, p.Name)
	}
	return out
}

// TestSearchLikeAShopper: typos, prefixes as one types, accents, SKUs of
// products and variants, a store's synonyms, and the ranking, through the
// gateway.
func TestSearchLikeAShopper(t *testing.T) {
	t.Parallel()
	s := newSearchShop(t)
	for _, tc := range []struct {
		what, q   string
		first     []string
		corrected string
		anyOrder  bool // equal rank and popularity
	}{
		{"typo", "hedphones", []string{"Wireless Bluetooth Headphones", "Sport Earbuds"}, "headphones", false},
		{"typo", "blutooth", []string{"Bluetooth Speaker", "Wireless Bluetooth Headphones"}, "bluetooth", true},
		{"prefix of the last word", "head", []string{"Wireless Bluetooth Headphones", "Sport Earbuds"}, "", false},
		{"prefix after a word", "bluetooth spe", []string{"Bluetooth Speaker"}, "", false},
		{"accent folded", "cafe", []string{"Café Apron"}, "", false},
		{"accent and case folded", "CAFÉ apron", []string{"Café Apron"}, "", false},
		{"product SKU", "hp-100", []string{"Wireless Bluetooth Headphones"}, "", false},
		{"variant SKU, any case", "ts-1-blu-l", []string{"Cotton T-Shirt"}, "", false},
		{"name over description", "headphones", []string{"Wireless Bluetooth Headphones", "Sport Earbuds"}, "", false},
	} {
		got := s.search(t, "q", tc.q)
		n := names(got)
		if tc.anyOrder && len(n) >= len(tc.first) {
			slices.Sort(n[:len(tc.first)])
		}
		if len(n) < len(tc.first) || !slices.Equal(n[:len(tc.first)], tc.first) {
			t.Errorf("%s: q=%q found %v, want first %v", tc.what, tc.q, n, tc.first)
		}
		if got.Corrected != tc.corrected {
			t.Errorf("%s: q=%q corrected %q, want %q", tc.what, tc.q, got.Corrected, tc.corrected)
		}
	}

	// Synonyms: only an admin sets them; bad sets are 400 with a reason.
	syn := map[string]any{"items": []contracts.Synonym{{Term: "Tee", Synonyms: []string{"t-shirt"}}}}
	if n := names(s.search(t, "q", "tee")); len(n) != 0 {
		t.Fatalf("q=tee before synonyms: %v", n)
	}
	wantError(t, s.cust.with(t).do("PUT", "/search/synonyms", syn), http.StatusForbidden, "permission_denied")
	wantError(t, s.seller.with(t).do("GET", "/search/synonyms", nil), http.StatusForbidden, "permission_denied")
	for _, bad := range []map[string]any{
		{"items": []contracts.Synonym{{Term: "two words", Synonyms: []string{"x"}}}},
		{"items": []contracts.Synonym{{Term: "tee", Synonyms: nil}}},
		{"items": []contracts.Synonym{{Term: "tee", Synonyms: []string{"x"}}, {Term: "TEE", Synonyms: []string{"y"}}}},
		{"items": "tee"},
	} {
		if msg := wantError(t, s.adm.with(t).do("PUT", "/search/synonyms", bad), http.StatusBadRequest, "invalid_argument"); msg == "" {
			t.Errorf("no reason for %v", bad)
		}
	}
	set := decode[contracts.Synonyms](t, s.adm.with(t).must(http.StatusOK, "PUT", "/search/synonyms", syn))
	if len(set.Items) != 1 || set.Items[0].Term != "tee" || !slices.Equal(set.Items[0].Synonyms, []string{"t-shirt"}) {
		t.Errorf("synonyms set = %+v", set)
	}
	if got := decode[contracts.Synonyms](t, s.adm.with(t).must(http.StatusOK, "GET", "/search/synonyms", nil)); len(got.Items) != 1 {
		t.Errorf("synonyms get = %+v", got)
	}
	if n := names(s.search(t, "q", "tee")); !slices.Equal(n, []string{"Cotton T-Shirt"}) {
		t.Errorf("q=tee with tee → t-shirt: %v", n)
	}

	// Web search syntax still works: an excluded word.
	if n := names(s.search(t, "q", "bluetooth -speaker")); !slices.Equal(n, []string{"Wireless Bluetooth Headphones"}) {
		t.Errorf("q=bluetooth -speaker: %v", n)
	}
}

// TestSearchFacets: facet counts over all the matches on request, and the
// same keys as filters.
func TestSearchFacets(t *testing.T) {
	t.Parallel()
	s := newSearchShop(t)
	all := s.search(t, "facets", "category,price,rating,in_stock,properties", "limit", "1")
	f := all.Facets
	if f == nil || len(all.Items) != 1 {
		t.Fatalf("facets missing: %+v", all)
	}
	cats := map[string]int64{}
	for _, c := range f.Categories {
		cats[c.Name] = c.Count
	}
	if cats["Audio"] != 3 || cats["Apparel"] != 2 {
		t.Errorf("category facet = %+v", f.Categories)
	}
	if f.InStock == nil || f.InStock.InStock != 4 || f.InStock.OutOfStock != 1 { // the t-shirt is in stock through a variant
		t.Errorf("in_stock facet = %+v", f.InStock)
	}
	var priced int64
	for _, b := range f.Price {
		priced += b.Count
		if b.Min == 10000 && b.Count != 1 { // 100.00–249.99: the headphones
			t.Errorf("price bucket %+v", b)
		}
	}
	if priced != 5 || len(f.Rating) != 4 || f.Rating[0].Min != 4 {
		t.Errorf("price facet %+v (sum %d), rating facet %+v", f.Price, priced, f.Rating)
	}
	props := map[string]int64{}
	for _, p := range f.Properties {
		for _, v := range p.Values {
			props[p.Key+":"+v.Value] = v.Count
		}
	}
	if props["color:red"] != 2 || props["color:black"] != 1 || props["size:M"] != 1 {
		t.Errorf("properties facet = %+v", f.Properties)
	}

	// Facets of a search count its matches only; no facets unless asked.
	if hp := s.search(t, "q", "bluetooth", "facets", "in_stock"); hp.Facets == nil || hp.Facets.InStock == nil ||
		hp.Facets.InStock.InStock != 1 || hp.Facets.InStock.OutOfStock != 1 || hp.Facets.Categories != nil {
		t.Errorf("q=bluetooth facets = %+v", hp.Facets)
	}
	if plain := s.search(t, "q", "bluetooth"); plain.Facets != nil {
		t.Errorf("facets without asking: %+v", plain.Facets)
	}

	// The facets' values filter.
	for _, tc := range []struct {
		pairs []string
		want  []string
	}{
		{[]string{"property", "color:red"}, []string{"Bluetooth Speaker", "Cotton T-Shirt"}},
		{[]string{"property", "color:red", "property", "size:M"}, []string{"Cotton T-Shirt"}},
		{[]string{"property", "color:black", "property", "color:blue"}, []string{"Cotton T-Shirt", "Wireless Bluetooth Headphones"}},
		{[]string{"in_stock", "false"}, []string{"Bluetooth Speaker"}},
		{[]string{"in_stock", "true", "category", s.audio.ID}, []string{"Sport Earbuds", "Wireless Bluetooth Headphones"}},
		{[]string{"min_price", "10000", "max_price", "24999"}, []string{"Wireless Bluetooth Headphones"}},
		{[]string{"min_rating", "4"}, []string{}},
	} {
		n := names(s.search(t, tc.pairs...))
		slices.Sort(n)
		if !slices.Equal(n, tc.want) {
			t.Errorf("%v: %v, want %v", tc.pairs, n, tc.want)
		}
	}

	// Bad filters are 400 with a reason.
	for _, bad := range []string{"facets=colour", "in_stock=maybe", "min_rating=9", "property=red", "property=:red"} {
		msg := wantError(t, s.cust.with(t).do("GET", "/products?"+bad, nil), http.StatusBadRequest, "invalid_argument")
		if !strings.Contains(msg, strings.SplitN(bad, "=", 2)[0]) {
			t.Errorf("%s: message %q does not name the parameter", bad, msg)
		}
	}
}

// TestSearchSuggest: suggestions for a search box, categories and product
// names, with typos and accents.
func TestSearchSuggest(t *testing.T) {
	t.Parallel()
	s := newSearchShop(t)
	suggest := func(q string) []string {
		t.Helper()
		r := decode[contracts.SuggestReply](t, s.cust.with(t).must(http.StatusOK, "GET", "/products/suggest"+query("q", q), nil))
		out := []string{}
		for _, it := range r.Items {
			out = append(out, it.Kind+":"+it.Text)
			if it.ID == "" || it.Slug == "" {
				t.Errorf("suggestion without id or slug: %+v", it)
			}
		}
		return out
	}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"blue", []string{"product:Bluetooth Speaker", "product:Wireless Bluetooth Headphones"}},
		{"wireless bl", []string{"product:Wireless Bluetooth Headphones"}},
		{"aud", []string{"category:Audio"}},
		{"app", []string{"category:Apparel"}},
		{"caf", []string{"product:Café Apron"}},
		{"blutooth", []string{"product:Bluetooth Speaker", "product:Wireless Bluetooth Headphones"}},
		{"zzzz", []string{}},
	} {
		if got := suggest(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("suggest %q = %v, want %v", tc.q, got, tc.want)
		}
	}
	r := decode[contracts.SuggestReply](t, s.cust.with(t).must(http.StatusOK, "GET", "/products/suggest?q=b&limit=1", nil))
	if len(r.Items) != 1 {
		t.Errorf("limit=1: %+v", r.Items)
	}
	for _, bad := range []string{"", "?q=", "?q=" + strings.Repeat("a", 101), "?q=a&limit=11", "?q=a&limit=x"} {
		wantError(t, s.cust.with(t).do("GET", "/products/suggest"+bad, nil), http.StatusBadRequest, "invalid_argument")
	}
}

// TestSearchRanksBestSellersFirst: among equally relevant products the one
// that sold more units comes first (units sold follow paid orders).
func TestSearchRanksBestSellersFirst(t *testing.T) {
	t.Parallel()
	s := newSearchShop(t)
	var a, b product
	s.seller.must(http.StatusCreated, "POST", "/products", map[string]any{"name": "Enamel Mug", "description": "Camp mug.",
		"category_id": s.apparel.ID, "price": money{1200, "USD"}, "stock": 10}).JSON(t, &a)
	s.seller.must(http.StatusCreated, "POST", "/products", map[string]any{"name": "Enamel Mug", "description": "Camp mug.",
		"category_id": s.apparel.ID, "price": money{1200, "USD"}, "stock": 10}).JSON(t, &b)
	ids := func() []string {
		var out []string
		for _, p := range s.search(t, "q", "enamel mug").Items {
			out = append(out, p.ID)
		}
		return out
	}
	// Equal rank, nothing sold: the newer one (greater id) first.
	if got := ids(); !slices.Equal(got, []string{b.ID, a.ID}) {
		t.Fatalf("before any sale: %v, want [b a] = %v", got, []string{b.ID, a.ID})
	}
	o := placeOrder(s.cust, newKey(), checkoutOf(cardOK, line(a.ID, 2)))
	awaitOrder(s.cust, o.ID, contracts.OrderStatusPaid)
	testenv.Eventually(t, "the product that sold first", func() bool {
		return slices.Equal(ids(), []string{a.ID, b.ID})
	})
}
