package e2e_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
)

// TestVariantsThroughCheckout: a product with variants reports the stock
// of its variants, is bought by variant (without one: a 400 that says to
// choose), and the variant bought (name, options, SKU) shows on the cart,
// the order, the seller's order list and the seller's email.
func TestVariantsThroughCheckout(t *testing.T) {
	t.Parallel()
	mp := startMailpit(t)
	env := startNotifyShop(t, mp.SMTP)
	c := newClient(t, env)
	adm := c.as(adminSession(c).Access)
	cat := newCategory(adm, "Apparel", "")
	seller, ss := account(c, "seller")
	buyer, _ := account(c, "")

	var shirt contracts.Product
	seller.must(http.StatusCreated, "POST", "/products", map[string]any{
		"name": "Organic Cotton T-Shirt", "description": "Soft.", "category_id": cat.ID,
		"price": money{Amount: 2500, Currency: "USD"},
		"variants": []map[string]any{
			{"sku": "TS-M-BLU", "stock": 4, "properties": []contracts.Property{{Key: "Size", Value: "M"}, {Key: "Colour", Value: "Blue"}}},
			{"sku": "TS-L-RED", "stock": 3, "properties": []contracts.Property{{Key: "Size", Value: "L"}, {Key: "Colour", Value: "Red"}}},
		},
	}).JSON(t, &shirt)
	if len(shirt.Variants) != 2 {
		t.Fatalf("created product has %d variants", len(shirt.Variants))
	}
	medium := shirt.Variants[0]

	t.Run("stock and stock_status agree: the variants' stock, summed", func(t *testing.T) {
		p := decode[contracts.Product](t, c.must(http.StatusOK, "GET", "/products/"+shirt.ID, nil))
		if p.Stock != 7 || p.StockStatus != contracts.StockInStock {
			t.Errorf("product: stock %d, stock_status %s; want 7 and in_stock", p.Stock, p.StockStatus)
		}
		var list productList
		c.must(http.StatusOK, "GET", "/products"+query("category", cat.ID), nil).JSON(t, &list)
		if len(list.Items) != 1 || list.Items[0].Stock != 7 || list.Items[0].StockStatus != contracts.StockInStock {
			t.Errorf("listing: %+v, want the shirt with stock 7 in_stock", list.Items)
		}
	})

	t.Run("without a variant: 400 that says to choose one", func(t *testing.T) {
		r := buyer.do("PUT", "/cart/items/"+shirt.ID, contracts.CartSetItemRequest{Quantity: 1})
		msg := wantError(t, r, http.StatusBadRequest, "invalid_argument")
		if !strings.Contains(msg, "variant") || !strings.Contains(msg, "Organic Cotton T-Shirt") {
			t.Errorf("message %q does not say a variant must be chosen", msg)
		}
		r = buyer.do("POST", "/orders", checkoutOf(cardOK, line(shirt.ID, 1)), "Idempotency-Key", newKey())
		wantError(t, r, http.StatusBadRequest, "invalid_argument")
	})

	t.Run("the variant bought shows on the cart, the order, the seller's list and email", func(t *testing.T) {
		cart := decode[contracts.Cart](t, buyer.must(http.StatusOK, "PUT", "/cart/items/"+shirt.ID,
			contracts.CartSetItemRequest{Quantity: 2, VariantID: medium.ID}))
		want := "Size: M, Colour: Blue"
		if len(cart.Items) != 1 || cart.Items[0].VariantName != want || cart.Items[0].SKU != "TS-M-BLU" ||
			len(cart.Items[0].VariantOptions) != 2 || !cart.Items[0].Available {
			t.Fatalf("cart = %+v", cart.Items)
		}
		o := placeOrder(buyer, newKey(), checkoutOf(cardOK))
		checkLine := func(where string, items []contracts.OrderItem) {
			t.Helper()
			if len(items) != 1 || items[0].VariantID != medium.ID || items[0].VariantName != want || items[0].SKU != "TS-M-BLU" ||
				len(items[0].VariantOptions) != 2 || items[0].VariantOptions[0] != (contracts.Property{Key: "Size", Value: "M"}) {
				t.Errorf("%s: lines %+v, want the variant's name, options and SKU", where, items)
			}
		}
		checkLine("checkout answer", o.Items)
		paid := awaitOrder(buyer, o.ID, contracts.OrderStatusPaid)
		checkLine("GET /orders/{id}", paid.Items)
		sellerView := findOrder(listOrders(seller, "/seller/orders"), o.ID)
		if sellerView == nil {
			t.Fatalf("the seller's list lacks order %s", o.ID)
		}
		checkLine("GET /seller/orders", sellerView.Items)

		// The snapshot stays when the catalogue changes the variant.
		seller.must(http.StatusOK, "PATCH", "/products/"+shirt.ID, map[string]any{"variants": []map[string]any{
			{"id": medium.ID, "sku": "TS-M-NAVY", "properties": []contracts.Property{{Key: "Size", Value: "M"}, {Key: "Colour", Value: "Navy"}}},
			{"id": shirt.Variants[1].ID, "sku": "TS-L-RED", "properties": shirt.Variants[1].Properties},
		}})
		checkLine("after the variant changed", getOrder(buyer, o.ID).Items)

		m := mp.awaitMail(t, ss.Email, "New order", shortOrder(o))
		if !strings.Contains(m.Text, "Organic Cotton T-Shirt (Size: M, Colour: Blue; SKU TS-M-BLU)") {
			t.Errorf("seller's email does not name the variant:\n%s", m.Text)
		}
	})
}
