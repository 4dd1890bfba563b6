package product_test

import (
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
)

func TestCategoriesAndProductsLifecycle(t *testing.T) {
	t.Parallel()
	h := start(t)
	root := h.category("Electronics", nil)
	audio := h.category("Audio", root)
	phones := h.category("Headphones", audio)
	other := h.category("Garden", nil)

	// Only admins manage categories.
	h.fails(contracts.CodePermissionDenied, seller, contracts.MethodProductCategoriesCreate, nil, contracts.CategoryInput{Name: "X"})
	h.fails(contracts.CodePermissionDenied, customer, contracts.MethodProductCategoriesUpdate, id(root.ID), contracts.CategoryPatch{})
	h.fails(contracts.CodePermissionDenied, seller, contracts.MethodProductCategoriesDelete, id(root.ID), nil)
	h.fails(contracts.CodeInvalidArgument, admin, contracts.MethodProductCategoriesCreate, nil, contracts.CategoryInput{Name: ""})
	// Slugs are generated and deduplicated.
	dup := h.category("Audio", nil)
	if audio.Slug != "audio" || dup.Slug != "audio-2" {
		t.Fatalf("slugs %q %q", audio.Slug, dup.Slug)
	}
	// Siblings need different names, ignoring case.
	h.fails(contracts.CodeConflict, admin, contracts.MethodProductCategoriesCreate, nil, contracts.CategoryInput{Name: "AUDIO", ParentID: &root.ID})
	// A category cannot move under its own descendant.
	h.fails(contracts.CodeInvalidArgument, admin, contracts.MethodProductCategoriesUpdate, id(root.ID), contracts.CategoryPatch{ParentID: &phones.ID})

	p := h.product(seller, contracts.ProductInput{Name: "Noise Cancelling Headphones", Description: "Quiet.",
		CategoryID: phones.ID, Price: contracts.USD(19900), SKU: "NC-1", Stock: 7,
		Properties: []contracts.Property{{Key: "color", Value: "black"}}})
	if p.Slug != "noise-cancelling-headphones" || p.SellerID != seller.ID || p.Status != contracts.ProductActive ||
		p.Stock != 7 || p.StockStatus != contracts.StockInStock || p.Price != contracts.USD(19900) {
		t.Fatalf("created %+v", p)
	}
	p2 := h.product(seller, contracts.ProductInput{Name: "Noise Cancelling Headphones", CategoryID: phones.ID, Price: contracts.USD(100)})
	if p2.Slug != "noise-cancelling-headphones-2" {
		t.Fatalf("dedup slug %q", p2.Slug)
	}
	h.fails(contracts.CodeConflict, seller, contracts.MethodProductCreate, nil, contracts.ProductInput{Name: "Other", CategoryID: phones.ID, Price: contracts.USD(1), SKU: "NC-1"})
	h.fails(contracts.CodePermissionDenied, customer, contracts.MethodProductCreate, nil, contracts.ProductInput{Name: "X", CategoryID: phones.ID, Price: contracts.USD(1)})
	h.fails(contracts.CodeInvalidArgument, seller, contracts.MethodProductCreate, nil, contracts.ProductInput{Name: "X", CategoryID: phones.ID, Price: contracts.USD(-1)})
	h.fails(contracts.CodeInvalidArgument, seller, contracts.MethodProductCreate, nil, contracts.ProductInput{Name: "X", CategoryID: other.ID + "0", Price: contracts.USD(1)})
	h.fails(contracts.CodeInvalidArgument, seller, contracts.MethodProductCreate, nil, map[string]any{"name": "X", "price": "ten"})

	// Product counts include sub-categories.
	tree := ok[contracts.CategoryTree](h, anonymous, contracts.MethodProductCategoriesTree, nil, nil)
	counts := map[string]int64{}
	var walk func([]*contracts.Category)
	walk = func(l []*contracts.Category) {
		for _, c := range l {
			counts[c.ID] = c.ProductCount
			walk(c.Children)
		}
	}
	walk(tree.Items)
	if counts[root.ID] != 2 || counts[audio.ID] != 2 || counts[phones.ID] != 2 || counts[other.ID] != 0 {
		t.Fatalf("counts %v", counts)
	}
	got := ok[contracts.Category](h, anonymous, contracts.MethodProductCategoriesGet, id(audio.ID), nil)
	if len(got.Children) != 1 || got.Children[0].ID != phones.ID {
		t.Fatalf("get category %+v", got)
	}

	// Delete refuses while children or products are attached.
	h.fails(contracts.CodeFailedPrecondition, admin, contracts.MethodProductCategoriesDelete, id(audio.ID), nil)
	h.fails(contracts.CodeFailedPrecondition, admin, contracts.MethodProductCategoriesDelete, id(phones.ID), nil)

	// Only the owner or an admin changes a product.
	name := "Renamed"
	h.fails(contracts.CodePermissionDenied, seller2, contracts.MethodProductUpdate, id(p.ID), contracts.ProductPatch{Name: &name})
	h.fails(contracts.CodePermissionDenied, customer, contracts.MethodProductUpdate, id(p.ID), contracts.ProductPatch{Name: &name})
	h.fails(contracts.CodePermissionDenied, seller2, contracts.MethodProductDelete, id(p.ID), nil)
	h.fails(contracts.CodePermissionDenied, seller2, contracts.MethodProductInventoryAdjust, id(p.ID), contracts.InventoryAdjustRequest{Adjust: 1, Reason: "x"})
	h.fails(contracts.CodePermissionDenied, seller2, contracts.MethodProductInventoryGet, id(p.ID), nil)
	h.fails(contracts.CodePermissionDenied, seller, contracts.MethodProductFeaturedSet, id(p.ID), nil)
	h.fails(contracts.CodeNotFound, anonymous, contracts.MethodProductGet, id("nope"), nil)

	up := ok[contracts.Product](h, admin, contracts.MethodProductUpdate, id(p.ID), contracts.ProductPatch{Name: &name, CategoryID: &other.ID})
	if up.Name != name || up.CategoryID != other.ID || up.Slug != p.Slug {
		t.Fatalf("updated %+v", up)
	}
	// Drafts are hidden from the public but not from their seller.
	draft := contracts.ProductDraft
	ok[contracts.Product](h, seller, contracts.MethodProductUpdate, id(p2.ID), contracts.ProductPatch{Status: &draft})
	h.fails(contracts.CodeNotFound, customer, contracts.MethodProductGet, id(p2.ID), nil)
	ok[contracts.Product](h, seller, contracts.MethodProductGet, id(p2.ID), nil)
	bySlug := ok[contracts.Product](h, anonymous, contracts.MethodProductGetBySlug, contracts.Params{"slug": {p.Slug}}, nil)
	if bySlug.ID != p.ID {
		t.Fatalf("by slug %+v", bySlug)
	}

	// Featured (admin).
	f := ok[contracts.Product](h, admin, contracts.MethodProductFeaturedSet, id(p.ID), nil)
	if !f.Featured {
		t.Fatal("not featured")
	}
	fl := ok[contracts.List[contracts.Product]](h, anonymous, contracts.MethodProductFeaturedList, nil, nil)
	if len(fl.Items) != 1 || fl.Items[0].ID != p.ID {
		t.Fatalf("featured list %+v", fl.Items)
	}
	h.call(admin, contracts.MethodProductFeaturedUnset, id(p.ID), nil)
	if fl := ok[contracts.List[contracts.Product]](h, anonymous, contracts.MethodProductFeaturedList, nil, nil); len(fl.Items) != 0 {
		t.Fatalf("still featured: %+v", fl.Items)
	}

	// Events for the gateway's cache.
	h.waitEvents(2, ofType(contracts.EventProductCreated))
	h.waitEvents(1, ofType(contracts.EventProductUpdated))

	// Delete, then the category can go.
	ok[struct{}](h, seller, contracts.MethodProductDelete, id(p2.ID), nil)
	h.fails(contracts.CodeNotFound, seller, contracts.MethodProductGet, id(p2.ID), nil)
	ok[struct{}](h, admin, contracts.MethodProductCategoriesDelete, id(phones.ID), nil)
	dels := h.waitEvents(1, ofType(contracts.EventProductDeleted))
	var ch contracts.ProductChanged
	_ = dels[0].Decode(&ch)
	if ch.ProductID != p2.ID || ch.SellerID != seller.ID {
		t.Fatalf("deleted event %+v", ch)
	}
}

func TestVariantsImagesAndFiles(t *testing.T) {
	t.Parallel()
	h := start(t)
	cat := h.category("Shoes", nil)
	img := h.file(seller.ID, "product_image")
	p := h.product(seller, contracts.ProductInput{Name: "Runner", CategoryID: cat.ID, Price: contracts.USD(5000),
		Variants: []contracts.VariantInput{
			{SKU: "RUN-42", Stock: 3, Properties: []contracts.Property{{Key: "size", Value: "42"}}},
			{SKU: "RUN-43", Price: &contracts.Money{Amount: 5500, Currency: "USD"}, Stock: 0, ImageFileID: img},
		}})
	if len(p.Variants) != 2 || p.Variants[0].Price.Amount != 5000 || p.Variants[1].Price.Amount != 5500 ||
		p.Variants[1].Image == nil || p.Variants[1].Image.URL != "/api/v1/files/"+img || p.StockStatus != contracts.StockLow {
		t.Fatalf("variants %+v", p)
	}

	// Images: verified with file.stat.
	foreign := h.file(seller2.ID, "product_image")
	avatar := h.file(seller.ID, "avatar")
	h.fails(contracts.CodePermissionDenied, seller, contracts.MethodProductImagesAdd, id(p.ID), contracts.ImageAddRequest{FileID: foreign})
	h.fails(contracts.CodeInvalidArgument, seller, contracts.MethodProductImagesAdd, id(p.ID), contracts.ImageAddRequest{FileID: avatar})
	h.fails(contracts.CodeInvalidArgument, seller, contracts.MethodProductImagesAdd, id(p.ID), contracts.ImageAddRequest{FileID: "00000000-0000-0000-0000-000000000001"})
	h.fails(contracts.CodePermissionDenied, seller2, contracts.MethodProductImagesAdd, id(p.ID), contracts.ImageAddRequest{FileID: foreign})
	im := ok[contracts.Image](h, seller, contracts.MethodProductImagesAdd, id(p.ID), contracts.ImageAddRequest{FileID: img})
	if im.URL != "/api/v1/files/"+img || im.ThumbnailURL != "/api/v1/files/"+img+"/thumbnail" {
		t.Fatalf("image %+v", im)
	}
	// An admin may attach anyone's product image.
	ok[contracts.Image](h, admin, contracts.MethodProductImagesAdd, id(p.ID), contracts.ImageAddRequest{FileID: foreign})
	got := ok[contracts.Product](h, anonymous, contracts.MethodProductGet, id(p.ID), nil)
	if len(got.Images) != 2 || got.Images[0].FileID != img {
		t.Fatalf("images %+v", got.Images)
	}
	h.fails(contracts.CodePermissionDenied, seller2, contracts.MethodProductImagesRemove, contracts.Params{"id": {p.ID}, "file_id": {foreign}}, nil)
	ok[struct{}](h, seller, contracts.MethodProductImagesRemove, contracts.Params{"id": {p.ID}, "file_id": {foreign}}, nil)

	// file.deleted removes the image everywhere (and from the variant).
	h.publish("file.deleted", map[string]string{"file_id": img, "owner_id": seller.ID})
	h.waitEvents(1, func(ev contracts.Event) bool {
		if ev.Type != contracts.EventProductUpdated {
			return false
		}
		got := ok[contracts.Product](h, anonymous, contracts.MethodProductGet, id(p.ID), nil)
		return len(got.Images) == 0 && got.Variants[1].Image == nil
	})

	// Patch variants: keep the first (changed), drop the second, add one.
	v0 := p.Variants[0]
	newPrice := contracts.USD(4800)
	vs := []contracts.VariantInput{{ID: v0.ID, SKU: "RUN-42", Price: &newPrice, Properties: v0.Properties}, {SKU: "RUN-44", Stock: 9}}
	up := ok[contracts.Product](h, seller, contracts.MethodProductUpdate, id(p.ID), contracts.ProductPatch{Variants: &vs})
	if len(up.Variants) != 2 || up.Variants[0].ID != v0.ID || up.Variants[0].Price.Amount != 4800 || up.Variants[0].Stock != 3 || up.Variants[1].SKU != "RUN-44" || up.Variants[1].Stock != 9 {
		t.Fatalf("patched variants %+v", up.Variants)
	}
}
