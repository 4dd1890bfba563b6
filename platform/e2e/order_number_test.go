package e2e_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
)

// TestOrderNumber: orders placed together get distinct numbers (unlike the
// first digits of their UUIDv7 ids), the notifications name the order by
// it, and GET /orders/{number} finds the order for its buyer, its seller
// and an admin, and for no one else.
func TestOrderNumber(t *testing.T) {
	t.Parallel()
	env := startShop(t)
	c := newClient(t, env)
	adm := c.as(adminSession(c).Access)
	cat := newCategory(adm, "Stationery", "")
	seller, _ := account(c, "seller")
	buyer, _ := account(c, "")
	stranger, _ := account(c, "")
	otherSeller, _ := account(c, "seller")
	pen := newProduct(seller, "Fountain Pen", cat.ID, 3500, 10)

	a := placeOrder(buyer, newKey(), checkoutOf(cardOK, line(pen.ID, 1)))
	b := placeOrder(buyer, newKey(), checkoutOf(cardOK, line(pen.ID, 1)))
	if a.Number == "" || a.Number == b.Number {
		t.Fatalf("order numbers %q and %q: want two distinct numbers", a.Number, b.Number)
	}
	awaitOrder(buyer, a.ID, contracts.OrderStatusPaid)

	// What the notification says is what the lookup takes.
	n := awaitNote(buyer, contracts.KindOrderPaid, a.ID)
	if !strings.Contains(n.Body, "#"+a.Number) {
		t.Errorf("order_paid note %q does not name the order #%s", n.Body, a.Number)
	}
	for _, who := range []*client{buyer, seller, adm} {
		for _, ref := range []string{a.Number, "%23" + a.Number} {
			got := decode[contracts.Order](t, who.must(http.StatusOK, "GET", "/orders/"+ref, nil))
			if got.ID != a.ID || got.Number != a.Number {
				t.Errorf("GET /orders/%s = %s (#%s), want %s", ref, got.ID, got.Number, a.ID)
			}
		}
	}
	wantError(t, stranger.do("GET", "/orders/"+a.Number, nil), http.StatusNotFound, "not_found")
	wantError(t, otherSeller.do("GET", "/orders/"+a.Number, nil), http.StatusNotFound, "not_found")
	wantError(t, buyer.do("GET", "/orders/99999999", nil), http.StatusNotFound, "not_found")
	wantError(t, buyer.do("GET", "/orders/not-a-number", nil), http.StatusNotFound, "not_found")
	if l := listOrders(buyer, "/orders"); findOrder(l, b.ID) == nil || findOrder(l, b.ID).Number != b.Number {
		t.Errorf("the order list does not carry the numbers")
	}
}
