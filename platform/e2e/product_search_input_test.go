package e2e_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Issue 5 through the gateway: search relevance, combined filters and
// sorts, paging that yields every item once, and bad input answered with a
// clear 4xx naming the problem (never a 500). Lists are read signed in, so
// the gateway's anonymous cache plays no part.
func TestProductSearchAndInput(t *testing.T) {
	t.Parallel()
	env := startRoomy(t)
	c := newClient(t, env)
	adm := c.as(adminSession(c).Access)
	seller := c.as(signUp(c, "seller@search-input.example.com", "seller").Access)
	cust := c.as(signUp(c, "shopper@search-input.example.com", "").Access)

	list := func(t *testing.T, pairs ...string) productList {
		t.Helper()
		return decode[productList](t, cust.with(t).must(http.StatusOK, "GET", "/products"+query(pairs...), nil))
	}
	create := func(t *testing.T, name, description, categoryID string, cents int64, extra ...any) product {
		t.Helper()
		body := map[string]any{"name": name, "description": description, "category_id": categoryID,
			"price": money{cents, "USD"}, "stock": 5}
		for i := 0; i+1 < len(extra); i += 2 {
			body[extra[i].(string)] = extra[i+1]
		}
		return decode[product](t, seller.with(t).must(http.StatusCreated, "POST", "/products", body))
	}

	t.Run("search: the product named, or described, by the query comes first", func(t *testing.T) {
		cat := newCategory(adm.with(t), "Lighting", "")
		target := create(t, "Aurora Borealis Lamp", "A hand-blown glass shade on a walnut base, dimmable and warm.", cat.ID, 8900)
		// Made later (so newest-first would put them first), each sharing
		// a word with the target in a weaker place.
		create(t, "Desk Lamp", "Bright enough to read by; its colour recalls the aurora.", cat.ID, 3900)
		create(t, "Walnut Floor Lamp", "A tall lamp with a linen shade.", cat.ID, 12900)
		create(t, "Pendant Light", "A frosted glass globe on a brass chain.", cat.ID, 5900)
		create(t, "Aurora Night Light", "A plug-in night light for the hallway.", cat.ID, 1900)

		for _, tc := range []struct {
			q    string
			more []string
		}{
			{"borealis", nil},
			{"aurora borealis", nil},
			{"Aurora Borealis Lamp", nil},
			{"borealis", []string{"sort", "relevance"}},
			{"hand-blown glass shade", nil},
			{"dimmable walnut", nil},
			{"glass shade", nil},
			{"walnut base", nil},
		} {
			l := list(t, append([]string{"q", tc.q}, tc.more...)...)
			if len(l.Items) == 0 || l.Items[0].ID != target.ID {
				t.Errorf("q=%q %v: got %v, want %q first", tc.q, tc.more, listedNames(l), target.Name)
			}
		}
		// "walnut" names another lamp and describes the target: the name
		// ranks first.
		if got := listedNames(list(t, "q", "walnut")); len(got) != 2 || got[0] != "Walnut Floor Lamp" || got[1] != target.Name {
			t.Errorf("q=walnut: %v, want Walnut Floor Lamp (name) then %s (description)", got, target.Name)
		}
		// "aurora" is in two names and one description: both names rank
		// above the description-only match.
		l := list(t, "q", "aurora", "category", cat.ID)
		if got := listedNames(l); len(got) != 3 || got[2] != "Desk Lamp" || !slices.Contains(got[:2], target.Name) {
			t.Errorf("q=aurora: %v, want the two named Aurora first and Desk Lamp (description only) last", got)
		}
		if l := list(t, "q", "chandelier"); len(l.Items) != 0 {
			t.Errorf("q=chandelier: %v, want nothing", listedNames(l))
		}
	})

	t.Run("filters and sorts combine: q + category (with sub-categories) + price range + sort", func(t *testing.T) {
		kitchen := newCategory(adm.with(t), "Kitchenware", "")
		kettles := newCategory(adm.with(t), "Kettles", kitchen.ID)
		camping := newCategory(adm.with(t), "Camp Kitchen", "")
		for _, x := range []struct {
			name, cat string
			cents     int64
			extra     []any
		}{
			{"Copper Kettle", kettles.ID, 2000, nil},                         // in
			{"Steel Kettle", kitchen.ID, 3000, nil},                          // in
			{"Glass Kettle", kettles.ID, 1000, nil},                          // below the range
			{"Electric Kettle", kitchen.ID, 5000, nil},                       // above the range
			{"Camping Kettle", camping.ID, 2500, nil},                        // another category
			{"Copper Saucepan", kettles.ID, 2200, nil},                       // does not match q
			{"Enamel Kettle", kitchen.ID, 4000, nil},                         // in: max_price is inclusive
			{"Travel Kettle", kettles.ID, 1500, nil},                         // in: min_price is inclusive
			{"Prototype Kettle", kitchen.ID, 2500, []any{"status", "draft"}}, // drafts are not listed
		} {
			create(t, x.name, "A "+strings.ToLower(x.name)+" for the stove.", x.cat, x.cents, x.extra...)
		}
		want := []string{"Travel Kettle", "Copper Kettle", "Steel Kettle", "Enamel Kettle"}
		filters := []string{"q", "kettle", "category", kitchen.ID, "min_price", "1500", "max_price", "4000"}
		asc := list(t, append(filters, "sort", "price_asc")...)
		if got := listedNames(asc); !slices.Equal(got, want) {
			t.Errorf("price_asc: %v, want %v", got, want)
		}
		desc := list(t, append(filters, "sort", "price_desc")...)
		if got, rev := listedNames(desc), slices.Clone(want); !slices.Equal(got, reversedNames(rev)) {
			t.Errorf("price_desc: %v, want %v", got, rev)
		}
		// The same combination a page of 2 at a time.
		if got := listedNames(productList{Items: walkProducts(t, cust, 2, append(filters, "sort", "price_asc")...)}); !slices.Equal(got, want) {
			t.Errorf("price_asc in pages of 2: %v, want %v", got, want)
		}
		// Relevance and newest keep the same set.
		for _, sort := range []string{"relevance", "newest", "rating"} {
			got := listedNames(list(t, append(filters, "sort", sort)...))
			slices.Sort(got)
			w := slices.Sorted(slices.Values(want))
			if !slices.Equal(got, w) {
				t.Errorf("sort=%s: %v, want the set %v", sort, got, w)
			}
		}
		// Two categories (repeatable) widen the set.
		both := listedNames(list(t, "q", "kettle", "category", kettles.ID, "category", camping.ID, "sort", "price_asc"))
		if !slices.Equal(both, []string{"Glass Kettle", "Travel Kettle", "Copper Kettle", "Camping Kettle"}) {
			t.Errorf("q=kettle in Kettles and Camp Kitchen: %v", both)
		}
	})

	t.Run("paging with limit 3 yields every item exactly once, in every sort", func(t *testing.T) {
		cat := newCategory(adm.with(t), "Widgets", "")
		// Ties on price (and on rating and relevance, all equal) are where
		// a keyset cursor goes wrong.
		prices := []int64{500, 500, 500, 700, 700, 900, 900, 900, 900, 1100}
		all := map[string]int64{}
		for i, cents := range prices {
			p := create(t, "Widget "+string(rune('A'+i)), "A widget for the workshop.", cat.ID, cents)
			all[p.ID] = cents
		}
		for _, pairs := range [][]string{
			{"sort", "newest"}, {"sort", "price_asc"}, {"sort", "price_desc"}, {"sort", "rating"},
			{"q", "widget"}, {"q", "widget", "sort", "price_asc"}, {},
		} {
			got := walkProducts(t, cust, 3, append([]string{"category", cat.ID}, pairs...)...)
			seen := map[string]int{}
			for _, p := range got {
				seen[p.ID]++
			}
			for id, n := range seen {
				if n != 1 {
					t.Errorf("%v: %s listed %d times", pairs, id, n)
				}
			}
			if len(seen) != len(all) || len(got) != len(all) {
				t.Errorf("%v: %d items (%d distinct) in the walk, want %d", pairs, len(got), len(seen), len(all))
			}
			for i := 1; i < len(got); i++ {
				a, b := got[i-1].Price.Amount, got[i].Price.Amount
				if slices.Contains(pairs, "price_asc") && a > b || slices.Contains(pairs, "price_desc") && a < b {
					t.Errorf("%v: out of order at %d: %d then %d", pairs, i, a, b)
				}
			}
		}
	})

	t.Run("bad input: a clear 4xx naming the problem", func(t *testing.T) {
		seller, cust, adm := seller.with(t), cust.with(t), adm.with(t)
		cat := newCategory(adm, "Checked Goods", "")
		base := func(kv ...any) map[string]any {
			m := map[string]any{"name": "Checked Thing", "description": "Fine.", "category_id": cat.ID, "price": money{1000, "USD"}, "stock": 1}
			for i := 0; i+1 < len(kv); i += 2 {
				m[kv[i].(string)] = kv[i+1]
			}
			return m
		}
		for _, tc := range []struct {
			what   string
			body   any
			status int
			names  string
		}{
			{"negative price", base("price", money{-1, "USD"}), 400, "price"},
			{"negative stock", base("stock", -1), 400, "stock"},
			{"unknown category", base("category_id", "0190a000-0000-7000-8000-000000000000"), 0, "category"},
			{"malformed category", base("category_id", "kitchen"), 400, "category"},
			{"name over 200 characters", base("name", strings.Repeat("n", 201)), 400, "name"},
			{"name over 200 characters (runes)", base("name", strings.Repeat("é", 201)), 400, "name"},
			{"description over 20000 characters", base("description", strings.Repeat("d", 20001)), 400, "description"},
			{"empty name", base("name", ""), 400, "name"},
		} {
			r := seller.do("POST", "/products", tc.body)
			wantNamedError(t, tc.what, r, tc.status, tc.names)
		}
		// At the limits, accepted (characters, not bytes).
		create(t, strings.Repeat("é", 200), strings.Repeat("d", 20000), cat.ID, 100)

		// SKU clash: 409 naming the SKU; the same name twice gets two slugs.
		first := create(t, "Twin Mug", "A mug.", cat.ID, 900, "sku", "MUG-TWIN-1")
		wantNamedError(t, "SKU clash", seller.do("POST", "/products", base("name", "Other Mug", "sku", "MUG-TWIN-1")), http.StatusConflict, "sku")
		other := create(t, "Other Mug", "A mug.", cat.ID, 900, "sku", "MUG-TWIN-2")
		wantNamedError(t, "SKU clash on update", seller.do("PATCH", "/products/"+other.ID, map[string]any{"sku": "MUG-TWIN-1"}), http.StatusConflict, "sku")
		second := create(t, "Twin Mug", "A mug.", cat.ID, 900)
		if first.Slug == second.Slug {
			t.Errorf("two products named alike share the slug %q", first.Slug)
		}
		// Slug clash: categories take a slug; a taken one is 409 naming it.
		wantNamedError(t, "category slug clash", adm.do("POST", "/categories", map[string]any{"name": "Another", "slug": cat.Slug}), http.StatusConflict, "slug")
		// Money that is not money.
		wantNamedError(t, "price of another shape", seller.do("POST", "/products", base("price", "cheap")), 400, "price")

		// Reviews: rating 1..5, body and title bounded.
		p := create(t, "Reviewed Lamp", "A lamp.", cat.ID, 1000)
		path := "/products/" + p.ID + "/reviews"
		for _, tc := range []struct {
			what  string
			body  map[string]any
			names string
		}{
			{"rating 0", map[string]any{"rating": 0, "body": "Meh."}, "rating"},
			{"rating 6", map[string]any{"rating": 6, "body": "Wow."}, "rating"},
			{"rating -1", map[string]any{"rating": -1, "body": "Bad."}, "rating"},
			{"rating 2.5", map[string]any{"rating": 2.5, "body": "Half."}, "rating"},
			{"review body over 5000 characters", map[string]any{"rating": 4, "body": strings.Repeat("b", 5001)}, "body"},
			{"review title over 200 characters", map[string]any{"rating": 4, "title": strings.Repeat("t", 201), "body": "Fine."}, "title"},
		} {
			wantNamedError(t, tc.what, cust.do("POST", path, tc.body), 400, tc.names)
		}
		if l := decode[struct{ Items []any }](t, cust.must(http.StatusOK, "GET", path, nil)); len(l.Items) != 0 {
			t.Errorf("refused reviews were stored: %d", len(l.Items))
		}
		buy(cust, seller, p.ID) // reviews are for customers who bought
		cust.must(http.StatusCreated, "POST", path, map[string]any{"rating": 5, "body": strings.Repeat("b", 5000)})
		wantNamedError(t, "comment body over 5000 characters",
			cust.do("POST", "/products/"+p.ID+"/comments", map[string]any{"body": strings.Repeat("c", 5001)}), 400, "body")
	})

	t.Run("a tampered cursor on GET /products is 400, never 500", func(t *testing.T) {
		cat := newCategory(adm.with(t), "Cursor Goods", "")
		for i := range 5 {
			create(t, "Cursor Lamp "+string(rune('A'+i)), "A lamp for cursors.", cat.ID, int64(100*(i+1)))
		}
		for _, sort := range []string{"price_asc", "newest", "rating", "relevance"} {
			params := []string{"category", cat.ID, "limit", "2", "sort", sort}
			if sort == "relevance" {
				params = append(params, "q", "lamp")
			}
			valid := list(t, params...).NextCursor
			if valid == "" {
				t.Fatalf("sort=%s: no next_cursor after 2 of 5", sort)
			}
			raw, err := base64.RawURLEncoding.DecodeString(valid)
			if err != nil {
				t.Fatalf("sort=%s: next_cursor %q is not base64url: %v", sort, valid, err)
			}
			var fields map[string]any
			if err := json.Unmarshal(raw, &fields); err != nil {
				t.Fatalf("sort=%s: next_cursor holds %q: %v", sort, raw, err)
			}
			with := func(k string, v any) string {
				m := map[string]any{}
				for kk, vv := range fields {
					m[kk] = vv
				}
				if v == nil {
					delete(m, k)
				} else {
					m[k] = v
				}
				b, _ := json.Marshal(m)
				return base64.RawURLEncoding.EncodeToString(b)
			}
			enc := base64.RawURLEncoding.EncodeToString
			other := "price_desc"
			if sort == "price_desc" {
				other = "newest"
			}
			for _, bad := range []struct{ what, cursor string }{
				{"cut short", valid[:len(valid)-5]},
				{"cut in half", valid[:len(valid)/2]},
				{"not base64", valid + "!!"},
				{"base64 padding", valid + "="},
				{"random bytes", enc([]byte{0xff, 0xfe, 0x00, 0x01, 0x80, 0x7f})},
				{"not JSON", enc([]byte("price=100;id=7"))},
				{"JSON but empty", enc([]byte("{}"))},
				{"JSON array", enc([]byte("[1,2,3]"))},
				{"id not a uuid", with("i", "not-a-uuid")},
				{"id missing", with("i", nil)},
				{"another sort", with("s", other)},
				{"price a string", with("p", "cheap")},
				{"price beyond int64", with("p", 1e30)},
				{"rank beyond float32", with("r", 1e300)},
				{"time garbage", with("t", "yesterday")},
				{"average a string", with("a", "high")},
				{"over 512 bytes", with("x", strings.Repeat("z", 600))},
			} {
				r := cust.with(t).do("GET", "/products"+query(append(slices.Clone(params), "cursor", bad.cursor)...), nil)
				wantNamedError(t, "sort="+sort+", cursor "+bad.what, r, http.StatusBadRequest, "cursor")
			}
			// Changed bytes that may still decode, or well-formed but made
			// up: a JSON 4xx or a page, never a 5xx.
			for _, odd := range []struct{ what, cursor string }{
				{"a flipped character", flipBase64(valid, len(valid)/2)},
				{"a flipped first character", flipBase64(valid, 0)},
				{"a flipped last character", flipBase64(valid, len(valid)-1)},
				{"an id no product has", with("i", "0190a000-0000-7000-8000-000000000000")},
				{"a negative price", with("p", -5)},
				{"an unknown field", with("zz", 1)},
			} {
				r := cust.with(t).do("GET", "/products"+query(append(slices.Clone(params), "cursor", odd.cursor)...), nil)
				if r.Status >= 500 || r.Status != http.StatusOK && r.ErrCode() == "" {
					t.Errorf("sort=%s, cursor with %s: %s", sort, odd.what, r)
				}
			}
		}
	})
}

// walkProducts pages through GET /products with limit and the given filters,
// following next_cursor, and returns every item in order (at most 50
// pages).
func walkProducts(t *testing.T, c *client, limit int, pairs ...string) []product {
	t.Helper()
	var out []product
	cursor := ""
	for range 50 {
		p := append(slices.Clone(pairs), "limit", strconv.Itoa(limit))
		if cursor != "" {
			p = append(p, "cursor", cursor)
		}
		page := decode[productList](t, c.with(t).must(http.StatusOK, "GET", "/products"+query(p...), nil))
		if len(page.Items) > limit {
			t.Fatalf("%v: a page of %d with limit %d", pairs, len(page.Items), limit)
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		if len(page.Items) == 0 {
			t.Fatalf("%v: an empty page with a next_cursor", pairs)
		}
		cursor = page.NextCursor
	}
	t.Fatalf("%v: more than 50 pages", pairs)
	return nil
}

// wantNamedError checks that r is a JSON error with status (0: any 4xx), a
// code, and a message naming the problem (the word appears in the message
// or in details.field).
func wantNamedError(t *testing.T, what string, r response, status int, word string) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string         `json:"code"`
			Message string         `json:"message"`
			Details map[string]any `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Errorf("%s: not a JSON error with code and message: %s", what, r)
		return
	}
	if status == 0 && (r.Status < 400 || r.Status > 499) || status != 0 && r.Status != status {
		t.Errorf("%s: status %d, want %d (0 = any 4xx): %s", what, r.Status, status, r.Body)
		return
	}
	field, _ := e.Error.Details["field"].(string)
	if !strings.Contains(strings.ToLower(e.Error.Message), word) && !strings.Contains(strings.ToLower(field), word) {
		t.Errorf("%s: the error does not name %q: %s", what, word, r.Body)
	}
}

// flipBase64 changes the character at i of a base64url string to another
// base64url character.
func flipBase64(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'Q'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// listedNames are the names of l's items in order.
func listedNames(l productList) []string {
	out := make([]string, 0, len(l.Items))
	for _, p := range l.Items {
		out = append(out, p.Name)
	}
	return out
}

// reversedNames reverses s in place and returns it.
func reversedNames(s []string) []string {
	slices.Reverse(s)
	return s
}
