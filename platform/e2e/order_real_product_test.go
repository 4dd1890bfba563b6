package e2e_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
)

// TestSagaWithRealProductService runs the order saga against the real
// product service (catalogue, lookup, reservations) through the gateway:
// a paid order takes stock for good; a declined card leaves the order
// awaiting payment, and cancelling it puts the stock back; more than the
// stock is refused at checkout with the count left. (It was an order
// service test that started the product service itself; services never
// import each other, so it runs here, on the whole platform.)
func TestSagaWithRealProductService(t *testing.T) {
	t.Parallel()
	env := startShop(t)
	c := newClient(t, env)
	adm := c.as(adminSession(c).Access)
	cat := newCategory(adm, "Kitchen", "")
	seller, ss := account(c, "seller")
	buyer, _ := account(c, "")
	mug := newProduct(seller, "Real Mug", cat.ID, 1800, 10)

	setCart(buyer, mug.ID, 3)
	o := placeOrder(buyer, newKey(), checkoutOf(cardOK))
	if o.Total != contracts.USD(3*1800) || len(o.Items) != 1 || o.Items[0].SellerID != ss.ID || o.Items[0].Name != "Real Mug" {
		t.Fatalf("order = %+v", o)
	}
	awaitOrder(buyer, o.ID, contracts.OrderStatusPaid)
	awaitStock(seller, mug.ID, 7, 0) // sold, not merely held

	d := placeOrder(buyer, newKey(), checkoutOf(cardDeclined, line(mug.ID, 2)))
	if got := awaitOrder(buyer, d.ID, contracts.OrderStatusAwaitingPayment); got.StatusReason != contracts.ReasonPaymentDeclined {
		t.Fatalf("reason = %s", got.StatusReason)
	}
	buyer.must(http.StatusOK, "POST", "/orders/"+d.ID+"/cancel", nil)
	awaitStock(seller, mug.ID, 7, 0) // released after the declined order was cancelled

	// More than the stock: refused at checkout with the count left.
	r := buyer.do("POST", "/orders", checkoutOf(cardOK, line(mug.ID, 8)), "Idempotency-Key", newKey())
	if msg := wantError(t, r, http.StatusConflict, string(contracts.CodeFailedPrecondition)); !strings.Contains(msg, "only 7") {
		t.Errorf("over-stock checkout message %q, want it to say only 7 are left", msg)
	}
}
