package e2e_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// uploadAs uploads a small PNG with purpose as c and returns its file id.
func uploadAs(c *client, purpose, name string, seed uint64) string {
	c.t.Helper()
	r := upload(c, purpose, "", name, noisyPNG(c.t, 8, 8, seed))
	if r.Status != http.StatusCreated {
		c.t.Fatalf("upload %s: %s", purpose, r)
	}
	return decode[fileInfo](c.t, r).ID
}

// buy makes buyer a customer who bought one unit of the product, as a
// review needs: an order paid with the good card, then the product
// service's record of the sale (it learns of the payment asynchronously;
// the sale shows in the inventory ledger, read as the product's seller).
func buy(buyer, seller *client, productID string) contracts.Order {
	buyer.t.Helper()
	o := placeOrder(buyer, newKey(), checkoutOf(cardOK, line(productID, 1)))
	o = awaitOrder(buyer, o.ID, contracts.OrderStatusPaid)
	testenv.Eventually(buyer.t, "the sale of order "+o.ID+" in the product's inventory", func() bool {
		return ledgerFor(inventoryOf(seller, productID), o.ID)[contracts.LedgerOutgoing] > 0
	})
	return o
}

// TestReviewsAreForCustomersWhoBought: through the gateway, only a user
// with a paid order holding the product may review it (a verified
// purchase, marked on the review); a user who never bought it and a
// competing seller get 403 with a message saying why, and so does the
// product's own seller. A review's images are the author's review_image
// uploads: private until attached, then anyone downloads them; the
// author's documents stay private.
func TestReviewsAreForCustomersWhoBought(t *testing.T) {
	t.Parallel()
	env := startShop(t)
	c := newClient(t, env)
	anon := newClient(t, env)
	adm := c.as(adminSession(c).Access)
	cat := newCategory(adm, "Teaware", "")
	seller, _ := account(c, "seller")
	competitor, _ := account(c, "seller")
	buyer, _ := account(c, "")
	stranger, _ := account(c, "")
	p := newProduct(seller, "Cast Iron Teapot", cat.ID, 3900, 5)
	path := "/products/" + p.ID + "/reviews"

	const rule = "only customers who bought this product can review it"
	for name, who := range map[string]*client{"a user who never bought it": stranger, "a competing seller": competitor} {
		msg := wantError(t, who.do("POST", path, map[string]any{"rating": 1, "body": "terrible"}), http.StatusForbidden, "permission_denied")
		if msg != rule {
			t.Errorf("%s: message %q, want %q", name, msg, rule)
		}
	}
	wantError(t, seller.do("POST", path, map[string]any{"rating": 5, "body": "mine is the best"}), http.StatusForbidden, "permission_denied")

	img := uploadAs(buyer, "review_image", "teapot.png", 1)
	doc := uploadAs(buyer, "document", "receipt.png", 2)
	anon.with(t).must(http.StatusNotFound, "GET", "/files/"+img, nil) // not attached yet: private
	// Another user cannot attach the buyer's image.
	theirs := uploadAs(stranger, "review_image", "other.png", 3)

	// An order cancelled before it was paid is no purchase.
	cancelled := placeOrder(buyer, newKey(), checkoutOf(cardOK, line(p.ID, 1)))
	buyer.must(http.StatusOK, "POST", "/orders/"+cancelled.ID+"/cancel", nil)
	awaitOrder(buyer, cancelled.ID, contracts.OrderStatusCancelled)
	awaitStock(seller, p.ID, 5, 0) // the product service has handled the cancellation
	wantError(t, buyer.do("POST", path, map[string]any{"rating": 5, "body": "pours well"}), http.StatusForbidden, "permission_denied")

	buy(buyer, seller, p.ID)
	rv := decode[contracts.Review](t, buyer.must(http.StatusCreated, "POST", path,
		map[string]any{"rating": 5, "body": "pours well", "image_file_ids": []string{img}}))
	if !rv.VerifiedPurchase || len(rv.Images) != 1 || rv.Images[0].FileID != img {
		t.Fatalf("review %+v: want a verified purchase with the image", rv)
	}
	var list contracts.List[contracts.Review]
	anon.with(t).must(http.StatusOK, "GET", path, nil).JSON(t, &list)
	if len(list.Items) != 1 || !list.Items[0].VerifiedPurchase || len(list.Items[0].Images) != 1 {
		t.Fatalf("public review list %+v", list.Items)
	}

	// The attached image is public, the document is not.
	if r := anon.with(t).must(http.StatusOK, "GET", rv.Images[0].URL[len("/api/v1"):], nil); r.Header.Get("Content-Type") != "image/png" {
		t.Errorf("review image download: %v", r.Header)
	}
	anon.with(t).must(http.StatusNotFound, "GET", "/files/"+doc, nil)
	stranger.with(t).must(http.StatusNotFound, "GET", "/files/"+doc, nil)

	// Images are the author's, of purpose review_image, at most 4.
	wantError(t, buyer.do("PATCH", "/reviews/"+rv.ID, map[string]any{"image_file_ids": []string{theirs}}), http.StatusForbidden, "permission_denied")
	anon.with(t).must(http.StatusNotFound, "GET", "/files/"+theirs, nil)
	msg := wantError(t, buyer.do("PATCH", "/reviews/"+rv.ID, map[string]any{"image_file_ids": []string{doc}}), http.StatusBadRequest, "invalid_argument")
	if !strings.Contains(msg, "review_image") {
		t.Errorf("wrong purpose message %q", msg)
	}
	anon.with(t).must(http.StatusNotFound, "GET", "/files/"+doc, nil)
	wantError(t, buyer.do("PATCH", "/reviews/"+rv.ID, map[string]any{"image_file_ids": []string{img, img, img, img, img}}),
		http.StatusBadRequest, "invalid_argument")
}
