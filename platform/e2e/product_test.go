package e2e_test

import (
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/internal/testenv"
)

// Issue 5 through the gateway: the catalogue routes against the real
// servers, each owner and role check tried from the wrong user. Reads that
// must see fresh data are made signed in (the gateway caches anonymous
// reads only); the cache itself is TestProductGatewayCache's subject.
func TestProductCatalogue(t *testing.T) {
	t.Parallel()
	env := startRoomy(t)
	c := newClient(t, env)
	adm := c.as(adminSession(c).Access)
	sellerS := signUp(c, "seller@catalogue.example.com", "seller")
	seller := c.as(sellerS.Access)
	rival := c.as(signUp(c, "rival@catalogue.example.com", "seller").Access)
	custS := signUp(c, "shopper@catalogue.example.com", "")
	cust := c.as(custS.Access)
	cust2 := c.as(signUp(c, "shopper2@catalogue.example.com", "").Access)

	t.Run("categories: tree, get, create, update, delete (admin only)", func(t *testing.T) {
		adm, cust, seller := adm.with(t), cust.with(t), seller.with(t)
		root := newCategory(adm, "Garden", "")
		child := newCategory(adm, "Garden Tools", root.ID)
		if child.ParentID == nil || *child.ParentID != root.ID {
			t.Fatalf("child = %+v", child)
		}
		// Only admins manage categories.
		for _, cl := range []*client{cust, seller} {
			wantError(t, cl.do("POST", "/categories", map[string]string{"name": "Nope"}), http.StatusForbidden, "permission_denied")
			wantError(t, cl.do("PATCH", "/categories/"+root.ID, map[string]string{"name": "Nope"}), http.StatusForbidden, "permission_denied")
			wantError(t, cl.do("DELETE", "/categories/"+child.ID, nil), http.StatusForbidden, "permission_denied")
		}
		wantError(t, c.with(t).do("POST", "/categories", map[string]string{"name": "Nope"}), http.StatusUnauthorized, "unauthenticated")

		tree := decode[struct{ Items []*category }](t, cust.must(http.StatusOK, "GET", "/categories", nil))
		r := findCategory(tree.Items, root.ID)
		if r == nil || len(r.Children) != 1 || r.Children[0].ID != child.ID {
			t.Fatalf("tree = %+v", tree.Items)
		}
		got := decode[category](t, cust.must(http.StatusOK, "GET", "/categories/"+root.ID, nil))
		if got.Name != "Garden" || len(got.Children) != 1 || got.Children[0].ID != child.ID {
			t.Errorf("get = %+v", got)
		}
		wantError(t, cust.do("GET", "/categories/0190a000-0000-7000-8000-000000000000", nil), http.StatusNotFound, "not_found")
		wantError(t, cust.do("GET", "/categories/garden", nil), http.StatusNotFound, "not_found") // malformed path ids are not found

		upd := decode[category](t, adm.must(http.StatusOK, "PATCH", "/categories/"+child.ID, map[string]string{"name": "Garden Hand Tools"}))
		if upd.Name != "Garden Hand Tools" {
			t.Errorf("update = %+v", upd)
		}
		// A category cannot move under itself; slugs are unique.
		wantError(t, adm.do("PATCH", "/categories/"+root.ID, map[string]string{"parent_id": child.ID}), http.StatusBadRequest, "invalid_argument")
		wantError(t, adm.do("PATCH", "/categories/"+child.ID, map[string]string{"slug": root.Slug}), http.StatusConflict, "conflict")

		// Delete is refused while products are attached (and while sub-categories exist).
		p := newProduct(seller, "Hand Trowel", child.ID, 1299, 4)
		wantError(t, adm.do("DELETE", "/categories/"+child.ID, nil), http.StatusConflict, "failed_precondition")
		wantError(t, adm.do("DELETE", "/categories/"+root.ID, nil), http.StatusConflict, "failed_precondition")
		got = decode[category](t, cust.must(http.StatusOK, "GET", "/categories/"+root.ID, nil))
		if got.ProductCount != 1 {
			t.Errorf("root product_count = %d, want 1 (counts sub-categories)", got.ProductCount)
		}
		seller.must(http.StatusNoContent, "DELETE", "/products/"+p.ID, nil)
		adm.must(http.StatusNoContent, "DELETE", "/categories/"+child.ID, nil)
		adm.must(http.StatusNoContent, "DELETE", "/categories/"+root.ID, nil)
		wantError(t, cust.do("GET", "/categories/"+root.ID, nil), http.StatusNotFound, "not_found")
	})

	t.Run("products: create, get by id and slug, patch and delete by the owner only", func(t *testing.T) {
		adm, cust, seller, rival := adm.with(t), cust.with(t), seller.with(t), rival.with(t)
		cat := newCategory(adm, "Kitchen", "")
		p := newProduct(seller, "Copper Kettle", cat.ID, 4999, 7)
		if p.SellerID != sellerS.ID || p.CategoryID != cat.ID || p.Price.Amount != 4999 || p.Price.Currency != "USD" ||
			p.Status != "active" || p.Stock != 7 || !strings.Contains(p.Slug, "copper-kettle") {
			t.Errorf("created = %+v", p)
		}
		// Customers cannot sell; bad products are 400.
		wantError(t, cust.do("POST", "/products", map[string]any{"name": "X", "category_id": cat.ID, "price": money{100, "USD"}}),
			http.StatusForbidden, "permission_denied")
		for _, body := range []string{
			`{"name":"","category_id":"` + cat.ID + `","price":{"amount":1,"currency":"USD"}}`,
			`{"name":"X","category_id":"` + cat.ID + `","price":{"amount":-1,"currency":"USD"}}`,
			`{"name":"X","category_id":"nope","price":{"amount":1,"currency":"USD"}}`,
			`{"name":"X","category_id":"` + cat.ID + `","price":"cheap"}`,
			`{"name":"X","category_id":"` + cat.ID + `","price":{"amount":1,"currency":"USD"},"colour":"red"}`,
			`{"name":"` + strings.Repeat("x", 5000) + `","category_id":"` + cat.ID + `","price":{"amount":1,"currency":"USD"}}`,
		} {
			if r := seller.do("POST", "/products", body); r.Status != http.StatusBadRequest && r.Status != http.StatusNotFound {
				t.Errorf("create %.80s: %s", body, r)
			}
		}

		byID := decode[product](t, cust.must(http.StatusOK, "GET", "/products/"+p.ID, nil))
		bySlug := decode[product](t, cust.must(http.StatusOK, "GET", "/products/by-slug/"+p.Slug, nil))
		if byID.ID != p.ID || bySlug.ID != p.ID || byID.Name != "Copper Kettle" || byID.StockStatus != "in_stock" {
			t.Errorf("by id = %+v, by slug = %+v", byID, bySlug)
		}
		wantError(t, cust.do("GET", "/products/0190a000-0000-7000-8000-000000000000", nil), http.StatusNotFound, "not_found")
		wantError(t, cust.do("GET", "/products/by-slug/no-such-thing", nil), http.StatusNotFound, "not_found")

		// The wrong users cannot change or delete it.
		patch := map[string]any{"name": "Stolen Kettle"}
		if r := rival.do("PATCH", "/products/"+p.ID, patch); r.Status != 403 && r.Status != 404 {
			t.Errorf("rival patch: %s", r)
		}
		if r := rival.do("DELETE", "/products/"+p.ID, nil); r.Status != 403 && r.Status != 404 {
			t.Errorf("rival delete: %s", r)
		}
		wantError(t, cust.do("PATCH", "/products/"+p.ID, patch), http.StatusForbidden, "permission_denied")
		wantError(t, cust.do("DELETE", "/products/"+p.ID, nil), http.StatusForbidden, "permission_denied")
		if got := decode[product](t, cust.must(http.StatusOK, "GET", "/products/"+p.ID, nil)); got.Name != "Copper Kettle" {
			t.Fatalf("changed by a refused patch: %+v", got)
		}
		// The owner can; the slug stays.
		upd := decode[product](t, seller.must(http.StatusOK, "PATCH", "/products/"+p.ID, map[string]any{
			"name": "Copper Kettle Deluxe", "price": money{5999, "USD"}}))
		if upd.Name != "Copper Kettle Deluxe" || upd.Price.Amount != 5999 || upd.Slug != p.Slug {
			t.Errorf("update = %+v", upd)
		}
		wantError(t, seller.do("PATCH", "/products/"+p.ID, `{"price":{"amount":"lots"}}`), http.StatusBadRequest, "invalid_argument")
		// An admin may change anyone's product.
		adm.must(http.StatusOK, "PATCH", "/products/"+p.ID, map[string]any{"description": "Checked by staff."})
		seller.must(http.StatusNoContent, "DELETE", "/products/"+p.ID, nil)
		wantError(t, cust.do("GET", "/products/"+p.ID, nil), http.StatusNotFound, "not_found")
		wantError(t, cust.do("GET", "/products/by-slug/"+p.Slug, nil), http.StatusNotFound, "not_found")
	})

	t.Run("list: q, category with sub-categories, price range, sorts, next_cursor", func(t *testing.T) {
		adm, cust, seller := adm.with(t), cust.with(t), seller.with(t)
		outdoor := newCategory(adm, "Outdoor", "")
		tents := newCategory(adm, "Tents", outdoor.ID)
		books := newCategory(adm, "Books", "")
		prices := map[string]int64{}
		var made []product
		for _, x := range []struct {
			name, cat string
			cents     int64
		}{
			{"Alpine Tent", tents.ID, 30000}, {"Desert Tent", tents.ID, 12000}, {"Camp Stove", outdoor.ID, 4500},
			{"Trail Lantern", outdoor.ID, 2500}, {"Field Guide to Tents", books.ID, 1500}, {"Star Atlas", books.ID, 3500},
		} {
			p := newProduct(seller, x.name, x.cat, x.cents, 5)
			prices[p.ID] = x.cents
			made = append(made, p)
		}
		list := func(pairs ...string) productList {
			t.Helper()
			return decode[productList](t, cust.must(http.StatusOK, "GET", "/products"+query(pairs...), nil))
		}
		names := func(l productList) []string {
			var out []string
			for _, p := range l.Items {
				out = append(out, p.Name)
			}
			slices.Sort(out)
			return out
		}

		if got := names(list("q", "tent")); !slices.Equal(got, []string{"Alpine Tent", "Desert Tent", "Field Guide to Tents"}) {
			t.Errorf("q=tent: %v", got)
		}
		if got := names(list("q", "lantern")); !slices.Equal(got, []string{"Trail Lantern"}) {
			t.Errorf("q=lantern: %v", got)
		}
		// category includes sub-categories; repeatable.
		if got := names(list("category", outdoor.ID)); !slices.Equal(got, []string{"Alpine Tent", "Camp Stove", "Desert Tent", "Trail Lantern"}) {
			t.Errorf("category=outdoor: %v", got)
		}
		if got := names(list("category", tents.ID)); !slices.Equal(got, []string{"Alpine Tent", "Desert Tent"}) {
			t.Errorf("category=tents: %v", got)
		}
		if got := names(list("category", tents.ID, "category", books.ID)); len(got) != 4 {
			t.Errorf("category=tents&category=books: %v", got)
		}
		if got := names(list("q", "tent", "category", books.ID)); !slices.Equal(got, []string{"Field Guide to Tents"}) {
			t.Errorf("q=tent&category=books: %v", got)
		}
		// Price range, inclusive.
		if got := names(list("min_price", "2500", "max_price", "12000")); !slices.Equal(got, []string{"Camp Stove", "Desert Tent", "Star Atlas", "Trail Lantern"}) {
			t.Errorf("2500..12000: %v", got)
		}
		// Sorts.
		asc := list("sort", "price_asc", "limit", "100")
		if !slices.IsSortedFunc(asc.Items, func(a, b product) int { return int(a.Price.Amount - b.Price.Amount) }) || len(asc.Items) != 6 {
			t.Errorf("price_asc: %v", names(asc))
		}
		desc := list("sort", "price_desc")
		if !slices.IsSortedFunc(desc.Items, func(a, b product) int { return int(b.Price.Amount - a.Price.Amount) }) || desc.Items[0].Name != "Alpine Tent" {
			t.Errorf("price_desc first = %v", desc.Items)
		}
		newest := list("sort", "newest", "limit", "1")
		if len(newest.Items) != 1 || newest.Items[0].ID != made[len(made)-1].ID {
			t.Errorf("newest first = %+v", newest.Items)
		}
		wantError(t, cust.do("GET", "/products?sort=cheapest", nil), http.StatusBadRequest, "invalid_argument")
		wantError(t, cust.do("GET", "/products?min_price=-1", nil), http.StatusBadRequest, "invalid_argument")
		wantError(t, cust.do("GET", "/products?min_price=9&max_price=1", nil), http.StatusBadRequest, "invalid_argument")
		wantError(t, cust.do("GET", "/products?cursor=%21%21", nil), http.StatusBadRequest, "invalid_argument")

		// Pagination with next_cursor: every product once, in order.
		var walked []product
		cursor := ""
		for range 10 {
			page := list("sort", "price_asc", "limit", "2", "cursor", cursor)
			if len(page.Items) > 2 {
				t.Fatalf("page of %d", len(page.Items))
			}
			walked = append(walked, page.Items...)
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if !slices.Equal(productIDs(walked), productIDs(asc.Items)) {
			t.Errorf("paged walk %v\n != one page %v", productIDs(walked), productIDs(asc.Items))
		}
		// The rating sort is accepted.
		if l := list("sort", "rating"); len(l.Items) != 6 {
			t.Errorf("sort=rating: %d items", len(l.Items))
		}
	})

	t.Run("featured: set and unset by admin, listed", func(t *testing.T) {
		adm, cust, seller := adm.with(t), cust.with(t), seller.with(t)
		p := newProduct(seller, "Signature Mug", newCategory(adm, "Mugs", "").ID, 1800, 3)
		wantError(t, seller.do("PUT", "/products/"+p.ID+"/featured", nil), http.StatusForbidden, "permission_denied")
		wantError(t, cust.do("PUT", "/products/"+p.ID+"/featured", nil), http.StatusForbidden, "permission_denied")
		if got := decode[product](t, adm.must(http.StatusOK, "PUT", "/products/"+p.ID+"/featured", nil)); !got.Featured {
			t.Errorf("featured set answer = %+v", got)
		}
		feat := decode[productList](t, cust.must(http.StatusOK, "GET", "/products/featured", nil))
		if !slices.Contains(productIDs(feat.Items), p.ID) {
			t.Errorf("featured list lacks the product: %v", productIDs(feat.Items))
		}
		wantError(t, seller.do("DELETE", "/products/"+p.ID+"/featured", nil), http.StatusForbidden, "permission_denied")
		adm.must(http.StatusNoContent, "DELETE", "/products/"+p.ID+"/featured", nil)
		feat = decode[productList](t, cust.must(http.StatusOK, "GET", "/products/featured", nil))
		if slices.Contains(productIDs(feat.Items), p.ID) {
			t.Errorf("unfeatured product still listed")
		}
		if got := decode[product](t, cust.must(http.StatusOK, "GET", "/products/"+p.ID, nil)); got.Featured {
			t.Errorf("product still featured")
		}
	})

	t.Run("inventory: get and adjust by the owner, with the ledger", func(t *testing.T) {
		adm, cust, seller, rival := adm.with(t), cust.with(t), seller.with(t), rival.with(t)
		p := newProduct(seller, "Wool Socks", newCategory(adm, "Socks", "").ID, 900, 10)
		type inventory struct {
			ProductID string `json:"product_id"`
			Stock     int64
			Reserved  int64
			Ledger    []struct {
				Kind     string
				Quantity int64
				Reason   string
				ActorID  string `json:"actor_id"`
			}
		}
		inv := decode[inventory](t, seller.must(http.StatusOK, "GET", "/products/"+p.ID+"/inventory", nil))
		if inv.ProductID != p.ID || inv.Stock != 10 || len(inv.Ledger) != 1 || inv.Ledger[0].Kind != "incoming" || inv.Ledger[0].Quantity != 10 {
			t.Errorf("initial inventory = %+v", inv)
		}
		inv = decode[inventory](t, seller.must(http.StatusOK, "PATCH", "/products/"+p.ID+"/inventory", map[string]any{"adjust": -7, "reason": "stocktake"}))
		if inv.Stock != 3 || len(inv.Ledger) != 2 || inv.Ledger[0].Kind != "adjustment" || inv.Ledger[0].Quantity != -7 ||
			inv.Ledger[0].Reason != "stocktake" || inv.Ledger[0].ActorID != sellerS.ID {
			t.Errorf("after -7 = %+v", inv)
		}
		if got := decode[product](t, cust.must(http.StatusOK, "GET", "/products/"+p.ID, nil)); got.StockStatus != "low_stock" || got.Stock != 3 {
			t.Errorf("product after adjust: stock %d %s", got.Stock, got.StockStatus)
		}
		wantError(t, seller.do("PATCH", "/products/"+p.ID+"/inventory", map[string]any{"adjust": -4, "reason": "oops"}), http.StatusConflict, "failed_precondition")
		wantError(t, seller.do("PATCH", "/products/"+p.ID+"/inventory", map[string]any{"adjust": 1}), http.StatusBadRequest, "invalid_argument")
		wantError(t, seller.do("PATCH", "/products/"+p.ID+"/inventory", `{"adjust":"many","reason":"x"}`), http.StatusBadRequest, "invalid_argument")
		// The wrong users see and change nothing.
		if r := rival.do("GET", "/products/"+p.ID+"/inventory", nil); r.Status != 403 && r.Status != 404 {
			t.Errorf("rival inventory get: %s", r)
		}
		if r := rival.do("PATCH", "/products/"+p.ID+"/inventory", map[string]any{"adjust": 100, "reason": "gift"}); r.Status != 403 && r.Status != 404 {
			t.Errorf("rival inventory adjust: %s", r)
		}
		wantError(t, cust.do("GET", "/products/"+p.ID+"/inventory", nil), http.StatusForbidden, "permission_denied")
		wantError(t, cust.do("PATCH", "/products/"+p.ID+"/inventory", map[string]any{"adjust": 100, "reason": "gift"}), http.StatusForbidden, "permission_denied")
		inv = decode[inventory](t, adm.must(http.StatusOK, "GET", "/products/"+p.ID+"/inventory", nil))
		if inv.Stock != 3 || len(inv.Ledger) != 2 {
			t.Errorf("inventory after refused changes = %+v", inv)
		}
	})

	t.Run("reviews, comments and replies, reactions", func(t *testing.T) {
		adm, cust, cust2, seller, rival := adm.with(t), cust.with(t), cust2.with(t), seller.with(t), rival.with(t)
		p := newProduct(seller, "Oak Desk", newCategory(adm, "Desks", "").ID, 25000, 4)
		path := "/products/" + p.ID

		// Reviews: by customers who bought, one per user; the seller cannot
		// review their own product.
		buy(cust, seller, p.ID)
		buy(cust2, seller, p.ID)
		type review struct {
			ID     string
			UserID string `json:"user_id"`
			Rating int
		}
		r1 := decode[review](t, cust.must(http.StatusCreated, "POST", path+"/reviews", map[string]any{"rating": 5, "title": "Solid", "body": "Sturdy and handsome."}))
		wantError(t, cust.do("POST", path+"/reviews", map[string]any{"rating": 1, "body": "Changed my mind"}), http.StatusConflict, "conflict")
		cust2.must(http.StatusCreated, "POST", path+"/reviews", map[string]any{"rating": 2, "body": "Wobbly."})
		wantError(t, seller.do("POST", path+"/reviews", map[string]any{"rating": 5, "body": "Mine is great"}), http.StatusForbidden, "permission_denied")
		wantError(t, rival.do("POST", path+"/reviews", map[string]any{"rating": 6, "body": "x"}), http.StatusBadRequest, "invalid_argument")
		wantError(t, c.with(t).do("POST", path+"/reviews", map[string]any{"rating": 5, "body": "anon"}), http.StatusUnauthorized, "unauthenticated")
		got := decode[product](t, cust.must(http.StatusOK, "GET", path, nil))
		if got.Rating.Count != 2 || math.Abs(got.Rating.Average-3.5) > 1e-9 {
			t.Errorf("rating = %+v, want 3.5 of 2", got.Rating)
		}
		reviews := decode[struct{ Items []review }](t, c.with(t).must(http.StatusOK, "GET", path+"/reviews", nil))
		if len(reviews.Items) != 2 {
			t.Errorf("reviews = %+v", reviews.Items)
		}
		// Only the author edits or deletes a review.
		if r := cust2.do("PATCH", "/reviews/"+r1.ID, map[string]any{"rating": 1}); r.Status != 403 && r.Status != 404 {
			t.Errorf("another user's review edit: %s", r)
		}
		cust.must(http.StatusOK, "PATCH", "/reviews/"+r1.ID, map[string]any{"rating": 4})
		got = decode[product](t, cust.must(http.StatusOK, "GET", path, nil))
		if got.Rating.Count != 2 || math.Abs(got.Rating.Average-3) > 1e-9 {
			t.Errorf("rating after edit = %+v, want 3 of 2", got.Rating)
		}
		if r := cust2.do("DELETE", "/reviews/"+r1.ID, nil); r.Status != 403 && r.Status != 404 {
			t.Errorf("another user's review delete: %s", r)
		}
		cust.must(http.StatusNoContent, "DELETE", "/reviews/"+r1.ID, nil)
		got = decode[product](t, cust.must(http.StatusOK, "GET", path, nil))
		if got.Rating.Count != 1 || math.Abs(got.Rating.Average-2) > 1e-9 {
			t.Errorf("rating after delete = %+v, want 2 of 1", got.Rating)
		}

		// Comments: a question, the seller's reply, a reply to the reply
		// (threads are one level deep), deletes by the author only.
		type comment struct {
			ID         string
			ParentID   *string `json:"parent_id"`
			UserID     string  `json:"user_id"`
			Body       string
			IsQuestion bool `json:"is_question"`
			BySeller   bool `json:"by_seller"`
			Replies    []comment
		}
		q := decode[comment](t, cust.must(http.StatusCreated, "POST", path+"/comments", map[string]any{"body": "Does it fit a 27-inch monitor?", "is_question": true}))
		if !q.IsQuestion || q.UserID != custS.ID || q.ParentID != nil {
			t.Errorf("question = %+v", q)
		}
		ans := decode[comment](t, seller.must(http.StatusCreated, "POST", "/comments/"+q.ID+"/replies", map[string]any{"body": "Yes, easily."}))
		if !ans.BySeller || ans.ParentID == nil || *ans.ParentID != q.ID {
			t.Errorf("seller's answer = %+v", ans)
		}
		deep := decode[comment](t, cust2.must(http.StatusCreated, "POST", "/comments/"+ans.ID+"/replies", map[string]any{"body": "Thanks!"}))
		if deep.ParentID == nil || *deep.ParentID != q.ID || deep.BySeller {
			t.Errorf("reply to a reply = %+v", deep)
		}
		wantError(t, cust.do("POST", path+"/comments", map[string]any{"body": ""}), http.StatusBadRequest, "invalid_argument")
		wantError(t, cust.do("POST", "/comments/0190a000-0000-7000-8000-000000000000/replies", map[string]any{"body": "hi"}), http.StatusNotFound, "not_found")
		thread := decode[struct{ Items []comment }](t, c.with(t).must(http.StatusOK, "GET", path+"/comments", nil))
		if len(thread.Items) != 1 || len(thread.Items[0].Replies) != 2 || thread.Items[0].Replies[0].ID != ans.ID {
			t.Errorf("comments = %+v", thread.Items)
		}
		if r := cust.do("DELETE", "/comments/"+deep.ID, nil); r.Status != 403 && r.Status != 404 {
			t.Errorf("another user's comment delete: %s", r)
		}
		cust2.must(http.StatusNoContent, "DELETE", "/comments/"+deep.ID, nil)
		thread = decode[struct{ Items []comment }](t, c.with(t).must(http.StatusOK, "GET", path+"/comments", nil))
		if len(thread.Items) != 1 || len(thread.Items[0].Replies) != 1 {
			t.Errorf("comments after delete = %+v", thread.Items)
		}

		// Reactions.
		type reaction struct{ Counts map[string]int64 }
		rc := decode[reaction](t, cust.must(http.StatusOK, "PUT", path+"/reaction", map[string]string{"type": "like"}))
		if rc.Counts["like"] != 1 {
			t.Errorf("after like: %v", rc.Counts)
		}
		cust.must(http.StatusOK, "PUT", path+"/reaction", map[string]string{"type": "like"}) // idempotent
		rc = decode[reaction](t, cust2.must(http.StatusOK, "PUT", path+"/reaction", map[string]string{"type": "like"}))
		if rc.Counts["like"] != 2 {
			t.Errorf("after two likes (one repeated): %v", rc.Counts)
		}
		wantError(t, cust.do("PUT", path+"/reaction", map[string]string{"type": "meh"}), http.StatusBadRequest, "invalid_argument")
		wantError(t, c.with(t).do("PUT", path+"/reaction", map[string]string{"type": "like"}), http.StatusUnauthorized, "unauthenticated")
		cust.must(http.StatusNoContent, "DELETE", path+"/reaction", nil)
		if got := decode[product](t, cust.must(http.StatusOK, "GET", path, nil)); got.Reactions["like"] != 1 {
			t.Errorf("reactions after one removal: %v", got.Reactions)
		}
	})
}

// Issue 5: the gateway caches anonymous catalogue reads and must drop them
// when the catalogue changes (it purges on product events).
func TestProductGatewayCache(t *testing.T) {
	t.Parallel()
	env := startRoomy(t)
	c := newClient(t, env)
	adm := c.as(adminSession(c).Access)
	seller := c.as(signUp(c, "cache-seller@example.com", "seller").Access)
	cat := newCategory(adm, "Cached Goods", "")
	p := newProduct(seller, "Cached Teapot", cat.ID, 2000, 5)
	anon := newClient(t, env)
	const within = 3 * time.Second // below the lists' 5s TTL and the 30s default: only a purge passes

	t.Run("GET /products/{id} shows a PATCH", func(t *testing.T) {
		hits := gatewayCacheHits(t, env)
		for range 2 {
			if got := decode[product](t, anon.must(http.StatusOK, "GET", "/products/"+p.ID, nil)); got.Name != "Cached Teapot" {
				t.Fatalf("name = %q", got.Name)
			}
		}
		if gatewayCacheHits(t, env) <= hits {
			t.Fatalf("the second anonymous GET was not a gateway cache hit: the cache is off and this test proves nothing")
		}
		seller.must(http.StatusOK, "PATCH", "/products/"+p.ID, map[string]any{"name": "Fresh Teapot"})
		// The service has the change at once (signed-in reads bypass the cache)…
		if got := decode[product](t, seller.must(http.StatusOK, "GET", "/products/"+p.ID, nil)); got.Name != "Fresh Teapot" {
			t.Fatalf("service answer = %q", got.Name)
		}
		// …and the anonymous read must show it soon.
		var last string
		testenv.EventuallyWithin(t, within, "anonymous GET /products/{id} still serves the old name after PATCH (no cache purge)", func() bool {
			last = decode[product](t, anon.must(http.StatusOK, "GET", "/products/"+p.ID, nil)).Name
			return last == "Fresh Teapot"
		})
		if last != "Fresh Teapot" {
			t.Logf("last anonymous answer: %q", last)
		}
	})

	t.Run("GET /products/by-slug and /products lists show a PATCH", func(t *testing.T) {
		q := "/products" + query("q", "teapot")
		anon.must(http.StatusOK, "GET", "/products/by-slug/"+p.Slug, nil)
		anon.must(http.StatusOK, "GET", q, nil)
		seller.must(http.StatusOK, "PATCH", "/products/"+p.ID, map[string]any{"price": money{1500, "USD"}})
		// The list first: its own 5s TTL must not be what makes it pass.
		testenv.EventuallyWithin(t, within, "anonymous GET /products?q= still serves the old price", func() bool {
			l := decode[productList](t, anon.must(http.StatusOK, "GET", q, nil))
			return len(l.Items) == 1 && l.Items[0].Price.Amount == 1500
		})
		testenv.EventuallyWithin(t, within, "anonymous GET /products/by-slug still serves the old price", func() bool {
			return decode[product](t, anon.must(http.StatusOK, "GET", "/products/by-slug/"+p.Slug, nil)).Price.Amount == 1500
		})
	})

	t.Run("GET /categories shows a new category", func(t *testing.T) {
		anon.must(http.StatusOK, "GET", "/categories", nil)
		added := newCategory(adm, "Brand New Shelf", "")
		testenv.EventuallyWithin(t, within, "anonymous GET /categories still serves the tree without the new category", func() bool {
			tree := decode[struct{ Items []*category }](t, anon.must(http.StatusOK, "GET", "/categories", nil))
			return findCategory(tree.Items, added.ID) != nil
		})
	})
}
