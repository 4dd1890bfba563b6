package e2e_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestProductRequiredFieldsAndPrice: a missing category_id says it is
// required (not that it is a malformed UUID), and a price of 0 is refused
// on create and update with a clear 400 (a free product could never be
// ordered: there is no zero-total order).
func TestProductRequiredFieldsAndPrice(t *testing.T) {
	t.Parallel()
	env := startRoomy(t)
	c := newClient(t, env)
	adm := c.as(adminSession(c).Access)
	cat := newCategory(adm, "Books", "")
	seller, _ := account(c, "seller")

	body := func(m map[string]any) map[string]any {
		out := map[string]any{"name": "Atlas", "description": "Maps.", "category_id": cat.ID, "price": money{Amount: 1500, Currency: "USD"}}
		for k, v := range m {
			if v == nil {
				delete(out, k)
			} else {
				out[k] = v
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		in   map[string]any
		want []string
	}{
		{"missing category_id", body(map[string]any{"category_id": nil}), []string{"category_id", "required"}},
		{"empty category_id", body(map[string]any{"category_id": ""}), []string{"category_id", "required"}},
		{"malformed category_id", body(map[string]any{"category_id": "books"}), []string{"category_id", "UUID"}},
		{"price 0", body(map[string]any{"price": money{Amount: 0, Currency: "USD"}}), []string{"price.amount", "at least 1"}},
		{"variant price 0", body(map[string]any{"variants": []map[string]any{{"sku": "AT-1", "price": money{Amount: 0, Currency: "USD"}}}}),
			[]string{"variants[0].price.amount", "at least 1"}},
	} {
		msg := wantError(t, seller.do("POST", "/products", tc.in), http.StatusBadRequest, "invalid_argument")
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: message %q lacks %q", tc.name, msg, w)
			}
		}
		if strings.Contains(tc.name, "missing") && strings.Contains(msg, "UUID") {
			t.Errorf("%s: message %q talks of a UUID", tc.name, msg)
		}
	}
	p := newProduct(seller, "Atlas", cat.ID, 1500, 1)
	msg := wantError(t, seller.do("PATCH", "/products/"+p.ID, map[string]any{"price": money{Amount: 0, Currency: "USD"}}),
		http.StatusBadRequest, "invalid_argument")
	if !strings.Contains(msg, "at least 1") {
		t.Errorf("update to price 0: %q", msg)
	}
}
