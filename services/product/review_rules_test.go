package product_test

import (
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// TestReviewImages: a review carries up to a few of its author's
// review_image files, published through the file service when attached;
// someone else's file, another purpose, repeats or too many are refused;
// a deleted file leaves the review.
func TestReviewImages(t *testing.T) {
	t.Parallel()
	h := start(t)
	cat := h.category("Misc", nil)
	p := h.product(seller, contracts.ProductInput{Name: "Teapot", CategoryID: cat.ID, Price: contracts.USD(900)})
	h.buy(customer, p.ID)
	mine, mine2 := h.file(customer.ID, contracts.PurposeReviewImage), h.file(customer.ID, contracts.PurposeReviewImage)
	theirs := h.file(customer2.ID, contracts.PurposeReviewImage)
	doc := h.file(customer.ID, contracts.PurposeDocument)
	create := func(ids ...string) contracts.ReviewInput {
		return contracts.ReviewInput{Rating: 4, Body: "pours well", ImageFileIDs: ids}
	}
	h.fails(contracts.CodePermissionDenied, customer, contracts.MethodProductReviewsCreate, id(p.ID), create(theirs))
	h.fails(contracts.CodeInvalidArgument, customer, contracts.MethodProductReviewsCreate, id(p.ID), create(doc))
	h.fails(contracts.CodeInvalidArgument, customer, contracts.MethodProductReviewsCreate, id(p.ID), create(mine, mine))
	h.fails(contracts.CodeInvalidArgument, customer, contracts.MethodProductReviewsCreate, id(p.ID), create("nope"))
	five := []string{mine, mine2, h.file(customer.ID, contracts.PurposeReviewImage), h.file(customer.ID, contracts.PurposeReviewImage),
		h.file(customer.ID, contracts.PurposeReviewImage)}
	h.fails(contracts.CodeInvalidArgument, customer, contracts.MethodProductReviewsCreate, id(p.ID), create(five...))
	h.mu.Lock()
	early := len(h.published)
	h.mu.Unlock()
	if early != 0 {
		t.Fatalf("%d files published by refused reviews", early)
	}

	r := ok[contracts.Review](h, customer, contracts.MethodProductReviewsCreate, id(p.ID), create(mine, mine2))
	if len(r.Images) != 2 || r.Images[0].FileID != mine || r.Images[1].FileID != mine2 || !r.VerifiedPurchase {
		t.Fatalf("review %+v", r)
	}
	h.mu.Lock()
	pub := h.published[mine] && h.published[mine2]
	h.mu.Unlock()
	if !pub {
		t.Fatal("the review's images were not published")
	}
	// Replace the images; an empty list removes them.
	only := []string{mine2}
	r = ok[contracts.Review](h, customer, contracts.MethodProductReviewsUpdate, id(r.ID), contracts.ReviewPatch{ImageFileIDs: &only})
	if len(r.Images) != 1 || r.Images[0].FileID != mine2 {
		t.Fatalf("after replacing the images %+v", r.Images)
	}
	// A deleted file leaves the review.
	h.publish("file.deleted", map[string]any{"file_id": mine2, "owner_id": customer.ID})
	testenv.Eventually(t, "the deleted file leaves the review", func() bool {
		l := ok[contracts.List[contracts.Review]](h, anonymous, contracts.MethodProductReviewsList, id(p.ID), nil)
		return len(l.Items) == 1 && len(l.Items[0].Images) == 0
	})
}
