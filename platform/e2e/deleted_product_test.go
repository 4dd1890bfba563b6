package e2e_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
)

// TestDeletedProductInCartAndWishlist: a product its seller deletes stays
// in carts and wishlists as unavailable under its last known name, and a
// checkout of the cart names it.
func TestDeletedProductInCartAndWishlist(t *testing.T) {
	t.Parallel()
	env := startShop(t)
	c := newClient(t, env)
	adm := c.as(adminSession(c).Access)
	cat := newCategory(adm, "Lighting", "")
	seller, _ := account(c, "seller")
	buyer, _ := account(c, "")
	lamp := newProduct(seller, "Brass Desk Lamp", cat.ID, 6400, 5)
	setCart(buyer, lamp.ID, 1)
	buyer.must(http.StatusCreated, "POST", "/users/me/wishlist", map[string]string{"product_id": lamp.ID})

	seller.must(http.StatusNoContent, "DELETE", "/products/"+lamp.ID, nil)

	cart := decode[contracts.Cart](t, buyer.must(http.StatusOK, "GET", "/cart", nil))
	if len(cart.Items) != 1 || cart.Items[0].Name != "Brass Desk Lamp" || cart.Items[0].Available || cart.Items[0].Problem != "deleted" {
		t.Errorf("cart = %+v, want the lamp unavailable (deleted) under its name", cart.Items)
	}
	if cart.Subtotal.Amount != 0 || cart.ItemCount != 0 {
		t.Errorf("cart subtotal %+v, %d items: a deleted line must not count", cart.Subtotal, cart.ItemCount)
	}
	var wl contracts.List[contracts.WishlistItem]
	buyer.must(http.StatusOK, "GET", "/users/me/wishlist", nil).JSON(t, &wl)
	if len(wl.Items) != 1 || wl.Items[0].Name != "Brass Desk Lamp" || wl.Items[0].Availability != contracts.WishlistUnavailable {
		t.Errorf("wishlist = %+v, want the lamp unavailable under its name", wl.Items)
	}
	msg := wantError(t, buyer.do("POST", "/orders", checkoutOf(cardOK), "Idempotency-Key", newKey()), http.StatusBadRequest, "invalid_argument")
	if !strings.Contains(msg, "Brass Desk Lamp") || !strings.Contains(msg, "no longer available") {
		t.Errorf("checkout refusal %q does not name the removed product", msg)
	}
	// Removing the line is how the shopper moves on.
	buyer.must(http.StatusNoContent, "DELETE", "/cart/items/"+lamp.ID, nil)
}
