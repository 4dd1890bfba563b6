package product_test

import (
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
)

type plist = contracts.List[contracts.Product]

func names(l plist) []string {
	out := make([]string, len(l.Items))
	for i, p := range l.Items {
		out[i] = p.Name
	}
	return out
}

// all pages through product.list with a small page size and checks that
// pages neither repeat nor skip anything.
func all(t *testing.T, h *harness, params contracts.Params) []contracts.Product {
	t.Helper()
	var out []contracts.Product
	seen := map[string]bool{}
	cursor := ""
	for range 100 {
		p := contracts.Params{"limit": {"2"}}
		for k, v := range params {
			p[k] = v
		}
		if cursor != "" {
			p["cursor"] = []string{cursor}
		}
		page := ok[plist](h, anonymous, contracts.MethodProductList, p, nil)
		for _, it := range page.Items {
			if seen[it.ID] {
				t.Fatalf("duplicate %s across pages", it.Name)
			}
			seen[it.ID] = true
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
	t.Fatal("too many pages")
	return nil
}

func TestSearch(t *testing.T) {
	t.Parallel()
	h := start(t)
	elec := h.category("Electronics", nil)
	audio := h.category("Audio", elec)
	phones := h.category("Headphones", audio)
	home := h.category("Home", nil)
	mk := func(name, desc string, cat *contracts.Category, price int64) contracts.Product {
		return h.product(seller, contracts.ProductInput{Name: name, Description: desc, CategoryID: cat.ID, Price: contracts.USD(price)})
	}
	a := mk("Wireless Headphones", "Over-ear, great sound.", phones, 9900)
	b := mk("Studio Monitor Speaker", "Pairs with wireless headphones and turntables.", audio, 25000)
	c := mk("Desk Lamp", "Warm light.", home, 3000)
	d := mk("Bluetooth Earbuds", "Tiny wireless earbuds.", phones, 4900)
	e := mk("Radio", "Wireless radio receiver.", elec, 1500)
	draft := h.product(seller, contracts.ProductInput{Name: "Wireless Secret Prototype", CategoryID: phones.ID, Price: contracts.USD(1), Status: contracts.ProductDraft})

	// Relevance: the name match (weight A) outranks the description match.
	rel := ok[plist](h, anonymous, contracts.MethodProductList, contracts.Params{"q": {"wireless headphones"}, "total": {"true"}}, nil)
	if got := names(rel); !slices.Equal(got, []string{a.Name, b.Name}) || rel.Total == nil || *rel.Total != 2 {
		t.Fatalf("relevance %v total %v", got, rel.Total)
	}
	// Drafts never show to the public.
	wl := all(t, h, contracts.Params{"q": {"wireless"}})
	if len(wl) != 4 || slices.ContainsFunc(wl, func(p contracts.Product) bool { return p.ID == draft.ID }) {
		t.Fatalf("wireless: %v", wl)
	}
	if wl[0].ID != a.ID && wl[0].ID != d.ID && wl[0].ID != e.ID { // name matches first
		t.Fatalf("first wireless hit %s", wl[0].Name)
	}

	// Category filter includes sub-categories; repeatable.
	ids := func(ps []contracts.Product) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = p.ID
		}
		sort.Strings(out)
		return out
	}
	want := func(ps ...contracts.Product) []string { return ids(ps) }
	if got := ids(all(t, h, contracts.Params{"category": {audio.ID}})); !slices.Equal(got, want(a, b, d)) {
		t.Fatalf("audio subtree %v", got)
	}
	if got := ids(all(t, h, contracts.Params{"category": {phones.ID, home.ID}})); !slices.Equal(got, want(a, c, d)) {
		t.Fatalf("phones+home %v", got)
	}
	// Price range (inclusive).
	if got := ids(all(t, h, contracts.Params{"min_price": {"3000"}, "max_price": {"9900"}})); !slices.Equal(got, want(a, c, d)) {
		t.Fatalf("price range %v", got)
	}
	// Sorts, paged two at a time.
	byName := func(ps []contracts.Product) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = p.Name
		}
		return out
	}
	if got := byName(all(t, h, contracts.Params{"sort": {"price_asc"}})); !slices.Equal(got, []string{e.Name, c.Name, d.Name, a.Name, b.Name}) {
		t.Fatalf("price_asc %v", got)
	}
	if got := byName(all(t, h, contracts.Params{"sort": {"price_desc"}})); !slices.Equal(got, []string{b.Name, a.Name, d.Name, c.Name, e.Name}) {
		t.Fatalf("price_desc %v", got)
	}
	if got := byName(all(t, h, contracts.Params{"sort": {"newest"}})); !slices.Equal(got, []string{e.Name, d.Name, c.Name, b.Name, a.Name}) {
		t.Fatalf("newest %v", got)
	}
	// Rating: reviews (by customers who bought) make c best, then a.
	h.buy(customer, c.ID)
	h.buy(customer, a.ID)
	h.buy(customer2, a.ID)
	ok[contracts.Review](h, customer, contracts.MethodProductReviewsCreate, id(c.ID), contracts.ReviewInput{Rating: 5, Body: "great"})
	ok[contracts.Review](h, customer, contracts.MethodProductReviewsCreate, id(a.ID), contracts.ReviewInput{Rating: 4, Body: "good"})
	ok[contracts.Review](h, customer2, contracts.MethodProductReviewsCreate, id(a.ID), contracts.ReviewInput{Rating: 3, Body: "ok"})
	if got := byName(all(t, h, contracts.Params{"sort": {"rating"}})); !slices.Equal(got[:2], []string{c.Name, a.Name}) || len(got) != 5 {
		t.Fatalf("rating %v", got)
	}
	// Total with a filter, beyond one page.
	page := ok[plist](h, anonymous, contracts.MethodProductList, contracts.Params{"limit": {"1"}, "total": {"true"}, "category": {elec.ID}}, nil)
	if len(page.Items) != 1 || page.Total == nil || *page.Total != 4 || page.NextCursor == "" {
		t.Fatalf("total page %+v", page)
	}
	// Sellers see their drafts when filtering by themselves; others cannot.
	mine := ok[plist](h, seller, contracts.MethodProductList, contracts.Params{"seller": {seller.ID}, "status": {"draft"}}, nil)
	if len(mine.Items) != 1 || mine.Items[0].ID != draft.ID {
		t.Fatalf("own drafts %v", names(mine))
	}
	if l := ok[plist](h, seller2, contracts.MethodProductList, contracts.Params{"seller": {seller.ID}}, nil); len(l.Items) != 5 {
		t.Fatalf("other seller sees %v", names(l))
	}
	h.fails(contracts.CodePermissionDenied, customer, contracts.MethodProductList, contracts.Params{"status": {"draft"}}, nil)
	// Bad input.
	for _, p := range []contracts.Params{
		{"sort": {"cheapest"}}, {"min_price": {"-1"}}, {"max_price": {"x"}}, {"min_price": {"5"}, "max_price": {"4"}},
		{"category": {"not-a-uuid"}}, {"cursor": {"!!"}}, {"limit": {"0"}}, {"total": {"maybe"}},
		{"sort": {"price_asc"}, "cursor": {page.NextCursor}}, // a newest cursor used with another sort
	} {
		h.fails(contracts.CodeInvalidArgument, anonymous, contracts.MethodProductList, p, nil)
	}
	// The page size is bounded.
	if l := ok[plist](h, anonymous, contracts.MethodProductList, contracts.Params{"limit": {"100000"}}, nil); len(l.Items) != 5 {
		t.Fatalf("limit: %d", len(l.Items))
	}
}

func TestReviewsCommentsReactions(t *testing.T) {
	t.Parallel()
	h := start(t)
	cat := h.category("Misc", nil)
	p := h.product(seller, contracts.ProductInput{Name: "Kettle", CategoryID: cat.ID, Price: contracts.USD(100)})

	// Concurrent reviews keep the average exact.
	const n = 30
	var wg sync.WaitGroup
	sum := 0
	for i := range n {
		r := 1 + i%5
		sum += r
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := contracts.Actor{ID: "rev-" + string(rune('A'+i)), Role: contracts.RoleCustomer}
			h.buy(a, p.ID)
			ok[contracts.Review](h, a, contracts.MethodProductReviewsCreate, id(p.ID), contracts.ReviewInput{Rating: r, Body: "x"})
		}()
	}
	wg.Wait()
	got := ok[contracts.Product](h, anonymous, contracts.MethodProductGet, id(p.ID), nil)
	if got.Rating.Count != n || got.Rating.Average != float64(sum)/n {
		t.Fatalf("rating %+v, want %v", got.Rating, float64(sum)/n)
	}
	// Only customers who bought the product review it, and their reviews
	// say so; one review per user; rating bounds; sellers cannot review
	// themselves.
	h.fails(contracts.CodePermissionDenied, customer, contracts.MethodProductReviewsCreate, id(p.ID), contracts.ReviewInput{Rating: 5, Body: "nice"})
	h.buy(customer, p.ID)
	first := ok[contracts.Review](h, customer, contracts.MethodProductReviewsCreate, id(p.ID), contracts.ReviewInput{Rating: 5, Body: "nice"})
	if !first.VerifiedPurchase || first.Images == nil {
		t.Fatalf("review %+v: want a verified purchase and an (empty) image list", first)
	}
	h.fails(contracts.CodePermissionDenied, customer2, contracts.MethodProductReviewsCreate, id(p.ID), contracts.ReviewInput{Rating: 4, Body: "never bought"})
	h.fails(contracts.CodeConflict, customer, contracts.MethodProductReviewsCreate, id(p.ID), contracts.ReviewInput{Rating: 4, Body: "again"})
	h.fails(contracts.CodeInvalidArgument, customer2, contracts.MethodProductReviewsCreate, id(p.ID), contracts.ReviewInput{Rating: 6})
	h.fails(contracts.CodeInvalidArgument, customer2, contracts.MethodProductReviewsCreate, id(p.ID), contracts.ReviewInput{Rating: 0})
	h.fails(contracts.CodePermissionDenied, seller, contracts.MethodProductReviewsCreate, id(p.ID), contracts.ReviewInput{Rating: 5})
	h.fails(contracts.CodeUnauthenticated, anonymous, contracts.MethodProductReviewsCreate, id(p.ID), contracts.ReviewInput{Rating: 5})
	// Only the author (or an admin) edits or deletes.
	one := 1
	h.fails(contracts.CodePermissionDenied, customer2, contracts.MethodProductReviewsUpdate, id(first.ID), contracts.ReviewPatch{Rating: &one})
	h.fails(contracts.CodePermissionDenied, seller, contracts.MethodProductReviewsDelete, id(first.ID), nil)
	ok[contracts.Review](h, customer, contracts.MethodProductReviewsUpdate, id(first.ID), contracts.ReviewPatch{Rating: &one})
	got = ok[contracts.Product](h, anonymous, contracts.MethodProductGet, id(p.ID), nil)
	if got.Rating.Count != n+1 || got.Rating.Average != float64(sum+1)/(n+1) {
		t.Fatalf("after edit %+v", got.Rating)
	}
	ok[struct{}](h, admin, contracts.MethodProductReviewsDelete, id(first.ID), nil)
	got = ok[contracts.Product](h, anonymous, contracts.MethodProductGet, id(p.ID), nil)
	if got.Rating.Count != n || got.Rating.Average != float64(sum)/n {
		t.Fatalf("after delete %+v", got.Rating)
	}
	rl := ok[contracts.List[contracts.Review]](h, anonymous, contracts.MethodProductReviewsList, contracts.Params{"id": {p.ID}, "limit": {"20"}}, nil)
	rl2 := ok[contracts.List[contracts.Review]](h, anonymous, contracts.MethodProductReviewsList, contracts.Params{"id": {p.ID}, "limit": {"20"}, "cursor": {rl.NextCursor}}, nil)
	if len(rl.Items)+len(rl2.Items) != n || rl2.NextCursor != "" {
		t.Fatalf("review pages %d + %d", len(rl.Items), len(rl2.Items))
	}
	rc := h.waitEvents(n+1, ofType(contracts.EventReviewCreated))
	var ev contracts.ReviewCreated
	_ = rc[0].Decode(&ev)
	if ev.ProductID != p.ID || ev.SellerID != seller.ID || ev.ProductName != "Kettle" || ev.ReviewerID == "" || ev.Rating < 1 {
		t.Fatalf("review.created %+v", ev)
	}

	// Questions and answers.
	q := ok[contracts.Comment](h, customer, contracts.MethodProductCommentsCreate, id(p.ID), contracts.CommentInput{Body: "Does it whistle?", IsQuestion: true})
	ans := ok[contracts.Comment](h, seller, contracts.MethodProductCommentsReply, id(q.ID), contracts.CommentInput{Body: "Yes."})
	if !ans.BySeller || ans.ParentID == nil || *ans.ParentID != q.ID {
		t.Fatalf("answer %+v", ans)
	}
	// A reply to a reply attaches to the root.
	rr := ok[contracts.Comment](h, customer2, contracts.MethodProductCommentsReply, id(ans.ID), contracts.CommentInput{Body: "Loud?"})
	if *rr.ParentID != q.ID {
		t.Fatalf("nested reply parent %v", *rr.ParentID)
	}
	h.fails(contracts.CodeInvalidArgument, customer, contracts.MethodProductCommentsCreate, id(p.ID), contracts.CommentInput{Body: ""})
	h.fails(contracts.CodePermissionDenied, customer, contracts.MethodProductCommentsDelete, id(ans.ID), nil)
	cl := ok[contracts.List[contracts.Comment]](h, anonymous, contracts.MethodProductCommentsList, id(p.ID), nil)
	if len(cl.Items) != 1 || len(cl.Items[0].Replies) != 2 {
		t.Fatalf("comments %+v", cl.Items)
	}
	ok[struct{}](h, customer2, contracts.MethodProductCommentsDelete, id(rr.ID), nil)
	ok[struct{}](h, admin, contracts.MethodProductCommentsDelete, id(q.ID), nil)
	if cl := ok[contracts.List[contracts.Comment]](h, anonymous, contracts.MethodProductCommentsList, id(p.ID), nil); len(cl.Items) != 0 {
		t.Fatalf("comments after delete %+v", cl.Items)
	}
	cc := h.waitEvents(3, ofType(contracts.EventCommentCreated))
	var ce contracts.CommentCreated
	_ = cc[1].Decode(&ce)
	if !ce.IsReply || !ce.BySeller || ce.ParentUserID != customer.ID || ce.SellerID != seller.ID || ce.ProductName != "Kettle" {
		t.Fatalf("comment.created %+v", ce)
	}

	// Reactions: one per user per type, counts on the product.
	ok[contracts.ReactionReply](h, customer, contracts.MethodProductReactionsSet, id(p.ID), contracts.ReactionInput{Type: "like"})
	ok[contracts.ReactionReply](h, customer, contracts.MethodProductReactionsSet, id(p.ID), contracts.ReactionInput{Type: "like"})
	ok[contracts.ReactionReply](h, customer, contracts.MethodProductReactionsSet, id(p.ID), contracts.ReactionInput{Type: "love"})
	rep := ok[contracts.ReactionReply](h, customer2, contracts.MethodProductReactionsSet, id(p.ID), contracts.ReactionInput{Type: "like"})
	if rep.Counts["like"] != 2 || rep.Counts["love"] != 1 {
		t.Fatalf("counts %v", rep.Counts)
	}
	h.fails(contracts.CodeInvalidArgument, customer, contracts.MethodProductReactionsSet, id(p.ID), contracts.ReactionInput{Type: "meh"})
	h.fails(contracts.CodeUnauthenticated, anonymous, contracts.MethodProductReactionsSet, id(p.ID), contracts.ReactionInput{Type: "like"})
	ok[struct{}](h, customer, contracts.MethodProductReactionsRemove, contracts.Params{"id": {p.ID}, "type": {"like"}}, nil)
	got = ok[contracts.Product](h, anonymous, contracts.MethodProductGet, id(p.ID), nil)
	if got.Reactions["like"] != 1 || got.Reactions["love"] != 1 {
		t.Fatalf("product reactions %v", got.Reactions)
	}
}

// TestCacheInvalidation: a read caches the document; every change shows
// on the next read.
func TestCacheInvalidation(t *testing.T) {
	t.Parallel()
	h := start(t)
	cat := h.category("Misc", nil)
	p := h.product(seller, contracts.ProductInput{Name: "Mug", CategoryID: cat.ID, Price: contracts.USD(500), Stock: 1})
	read := func() contracts.Product {
		return ok[contracts.Product](h, anonymous, contracts.MethodProductGet, id(p.ID), nil)
	}
	read()
	keys, err := h.deps.Redis.Keys(t.Context(), h.deps.RedisPrefix+"product:doc:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("cached keys %v %v", keys, err)
	}
	price := contracts.USD(700)
	ok[contracts.Product](h, seller, contracts.MethodProductUpdate, id(p.ID), contracts.ProductPatch{Price: &price})
	if got := read(); got.Price.Amount != 700 {
		t.Fatalf("price after update %d", got.Price.Amount)
	}
	ok[contracts.Inventory](h, seller, contracts.MethodProductInventoryAdjust, id(p.ID), contracts.InventoryAdjustRequest{Adjust: -1, Reason: "broke"})
	if got := read(); got.StockStatus != contracts.StockOutOfStock {
		t.Fatalf("stock after adjust %s", got.StockStatus)
	}
	h.buy(customer, p.ID)
	ok[contracts.Review](h, customer, contracts.MethodProductReviewsCreate, id(p.ID), contracts.ReviewInput{Rating: 2})
	if got := read(); got.Rating.Count != 1 {
		t.Fatalf("rating after review %+v", got.Rating)
	}
	ok[struct{}](h, seller, contracts.MethodProductDelete, id(p.ID), nil)
	h.fails(contracts.CodeNotFound, anonymous, contracts.MethodProductGet, id(p.ID), nil)
	h.fails(contracts.CodeNotFound, anonymous, contracts.MethodProductGetBySlug, contracts.Params{"slug": {p.Slug}}, nil)
}

// TestSearchWords: one-word relevance searches (served from the precomputed
// product_search_terms) follow every change of a product's text and status,
// and agree with the filters and sorts that take the GIN path.
func TestSearchWords(t *testing.T) {
	t.Parallel()
	h := start(t)
	audio := h.category("Audio", nil)
	home := h.category("Home", nil)
	mk := func(name, desc string, cat *contracts.Category, price int64) contracts.Product {
		return h.product(seller, contracts.ProductInput{Name: name, Description: desc, CategoryID: cat.ID, Price: contracts.USD(price)})
	}
	a := mk("Wireless Headphones", "Wireless, over-ear.", audio, 9900) // twice: ranks first
	b := mk("Wireless Speaker", "Loud.", audio, 25000)
	c := mk("Lamp", "A wireless charging lamp.", home, 3000)
	d := mk("Radio", "Wireless radio.", home, 1500)
	idsOf := func(ps []contracts.Product) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = p.ID
		}
		return out
	}
	sorted := func(ps ...contracts.Product) []string {
		out := idsOf(ps)
		sort.Strings(out)
		return out
	}
	set := func(params contracts.Params) []string {
		out := idsOf(all(t, h, params))
		sort.Strings(out)
		return out
	}
	rel := all(t, h, contracts.Params{"q": {"wireless"}})
	if len(rel) != 4 || rel[0].ID != a.ID || rel[1].ID != b.ID {
		t.Fatalf("relevance %v", idsOf(rel))
	}
	total := func(params contracts.Params) int64 {
		t.Helper()
		params["total"] = []string{"true"}
		l := ok[plist](h, anonymous, contracts.MethodProductList, params, nil)
		return *l.Total
	}
	for _, tc := range []struct {
		params contracts.Params
		want   []string
	}{
		{contracts.Params{"q": {"Wireless"}}, sorted(a, b, c, d)},
		{contracts.Params{"q": {"wireless"}, "min_price": {"2000"}, "max_price": {"10000"}}, sorted(a, c)},
		{contracts.Params{"q": {"wireless"}, "category": {home.ID}}, sorted(c, d)},
		{contracts.Params{"q": {"wireless"}, "category": {home.ID}, "sort": {"newest"}}, sorted(c, d)},
		{contracts.Params{"q": {"wireless"}, "sort": {"price_asc"}}, sorted(a, b, c, d)},
		{contracts.Params{"q": {"wireless lamp"}}, sorted(c)},
		{contracts.Params{"q": {"wireless -lamp"}}, sorted(a, b, d)},
		{contracts.Params{"q": {"the"}}, nil}, // only a stop word
	} {
		got := set(tc.params)
		if !slices.Equal(got, tc.want) {
			t.Fatalf("%v: %v, want %v", tc.params, got, tc.want)
		}
		if n := total(tc.params); n != int64(len(tc.want)) {
			t.Fatalf("%v: total %d, want %d", tc.params, n, len(tc.want))
		}
	}
	// Renaming, hiding and deleting move the word's matches at once.
	name, desc := "Lamp", "A warm lamp."
	ok[contracts.Product](h, seller, contracts.MethodProductUpdate, id(c.ID), contracts.ProductPatch{Name: &name, Description: &desc})
	draft := contracts.ProductDraft
	ok[contracts.Product](h, seller, contracts.MethodProductUpdate, id(b.ID), contracts.ProductPatch{Status: &draft})
	ok[struct{}](h, seller, contracts.MethodProductDelete, id(d.ID), nil)
	e := mk("Wireless Mouse", "", home, 2500)
	if got, want := set(contracts.Params{"q": {"wireless"}}), sorted(a, e); !slices.Equal(got, want) {
		t.Fatalf("after changes %v, want %v", got, want)
	}
	if got, want := set(contracts.Params{"q": {"warm"}}), sorted(c); !slices.Equal(got, want) {
		t.Fatalf("new word %v, want %v", got, want)
	}
	active := contracts.ProductActive
	ok[contracts.Product](h, seller, contracts.MethodProductUpdate, id(b.ID), contracts.ProductPatch{Status: &active})
	if n := total(contracts.Params{"q": {"wireless"}}); n != 3 {
		t.Fatalf("after republishing: total %d", n)
	}
}
