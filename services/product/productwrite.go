package product

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
)

// The product writes follow one shape: authorize and validate the input
// (no database, no file service), check what only the file service knows
// (images) after an unlocked ownership pre-check, then one transaction
// through catalogTx that re-checks ownership under the row lock
// (lockOwned), and answer with the document as just written (its JSON as
// cached: no decode and re-encode).

// writeCatalog runs fn in one catalog transaction and purges the caches of
// what it touched (see applyChangeOf).
func (c *core) writeCatalog(ctx context.Context, fn func(tx catalogTx, ch *change) error) error {
	return applyChangeOf(ctx, c, func(f func(catalogTx) error) error { return c.catalog.Write(ctx, f) }, fn)
}

// mayChange is the ownership rule of every product write: its seller, an
// admin or a service.
func mayChange(actor contracts.Actor, sellerID string) error {
	if !actor.Can(sellerID) {
		return contracts.PermissionDenied("only the product's seller or an admin may change it")
	}
	return nil
}

// lockOwned locks product id and checks that actor may change it: the
// authoritative ownership check of a write.
func lockOwned(ctx context.Context, tx catalogTx, actor contracts.Actor, id uuid.UUID) (productRow, error) {
	p, err := tx.LockProduct(ctx, id)
	if err != nil {
		return p, err
	}
	return p, mayChange(actor, p.SellerID)
}

// precheckOwner checks, without a lock, that actor may change product id,
// before a write asks the file service about images; it returns the
// product's seller and price.
func (c *core) precheckOwner(ctx context.Context, actor contracts.Actor, id uuid.UUID) (sellerID string, price int64, err error) {
	sellerID, price, err = c.catalog.ProductOwner(ctx, id)
	if err != nil {
		return "", 0, err
	}
	return sellerID, price, mayChange(actor, sellerID)
}

// createProduct is product.create.
func (c *core) createProduct(ctx context.Context, actor contracts.Actor, in contracts.ProductInput) (json.RawMessage, error) {
	sellerID, err := sellerFor(actor, in.SellerID)
	if err != nil {
		return nil, err
	}
	catID, err := validNewProduct(&in)
	if err != nil {
		return nil, err
	}
	if err := c.checkVariantImages(ctx, actor, sellerID, in.Variants, nil); err != nil {
		return nil, err
	}
	p := productRow{ID: newID(), SellerID: sellerID, CategoryID: catID, Name: in.Name, Description: in.Description,
		Price: in.Price.Amount, Currency: in.Price.Currency, SKU: nullString(in.SKU), Status: in.Status,
		Properties: in.Properties, Stock: in.Stock}
	// Two products of the same name created at once compute the same
	// slug; the loser tries the next one.
	for attempt := 0; ; attempt++ {
		err = c.writeCatalog(ctx, func(tx catalogTx, ch *change) error { return addProduct(ctx, tx, ch, actor.ID, p, in.Variants) })
		if !errors.Is(err, errSlugTaken) || attempt >= 5 {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return c.getProductJSON(ctx, actor, p.ID.String())
}

// sellerFor is who sells a new product: the actor (a seller or an admin),
// or for an admin the seller it names.
func sellerFor(actor contracts.Actor, named string) (string, error) {
	if actor.Role != contracts.RoleSeller && !actor.IsAdmin() {
		return "", contracts.PermissionDenied("only sellers and admins create products")
	}
	sellerID := actor.ID
	if named != "" && named != actor.ID {
		if !actor.IsAdmin() {
			return "", contracts.PermissionDenied("only an admin creates products for another seller")
		}
		sellerID = named
	}
	if sellerID == "" {
		return "", contracts.Unauthenticated("sign in to create products")
	}
	return sellerID, nil
}

// validNewProduct validates a new product and fills in its defaults
// (status active, currency, no properties, variant prices); it returns
// the category id.
func validNewProduct(in *contracts.ProductInput) (uuid.UUID, error) {
	if err := validText("name", in.Name, 1, maxNameLen); err != nil {
		return uuid.Nil, err
	}
	if err := validText("description", in.Description, 0, maxDescriptionLen); err != nil {
		return uuid.Nil, err
	}
	if strings.TrimSpace(in.CategoryID) == "" {
		return uuid.Nil, contracts.InvalidArgument("category_id", "category_id is required")
	}
	catID, err := parseBodyID(in.CategoryID, "category_id")
	if err != nil {
		return uuid.Nil, err
	}
	if err := validPrice("price", &in.Price); err != nil {
		return uuid.Nil, err
	}
	if err := validSKU("sku", in.SKU); err != nil {
		return uuid.Nil, err
	}
	if in.Status == "" {
		in.Status = contracts.ProductActive
	}
	if err := validStatus("status", in.Status); err != nil {
		return uuid.Nil, err
	}
	if err := validProperties("properties", in.Properties); err != nil {
		return uuid.Nil, err
	}
	if in.Stock < 0 || in.Stock > maxQuantity {
		return uuid.Nil, contracts.InvalidArgument("stock", "stock must be between 0 and %d", maxQuantity)
	}
	if err := validVariants(in.Variants, in.Price); err != nil {
		return uuid.Nil, err
	}
	for i, v := range in.Variants {
		if v.ID != "" {
			return uuid.Nil, contracts.InvalidArgument(fmt.Sprintf("variants[%d].id", i), "new variants have no id")
		}
	}
	if in.Properties == nil {
		in.Properties = []contracts.Property{}
	}
	return catID, nil
}

// checkVariantImages checks with the file service the variant images that
// are not already on the product (known), as sellerID's product images.
func (c *core) checkVariantImages(ctx context.Context, actor contracts.Actor, sellerID string, vs []contracts.VariantInput, known map[uuid.UUID]bool) error {
	for i, v := range vs {
		if img := variantImage(v); img != nil && !known[*img] {
			if err := c.checkImage(ctx, actor, sellerID, v.ImageFileID, fmt.Sprintf("variants[%d].image_file_id", i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// addProduct is product.create's transaction: p (without its slug) in its
// category, its initial stock ledgered, its variants, product.created.
func addProduct(ctx context.Context, tx catalogTx, ch *change, actorID string, p productRow, variants []contracts.VariantInput) error {
	path, ok, err := tx.CategoryPath(ctx, p.CategoryID)
	if err != nil {
		return err
	}
	if !ok {
		return contracts.InvalidArgument("category_id", "category not found")
	}
	if p.Slug, err = tx.FreeSlug(ctx, false, slugify(p.Name)); err != nil {
		return err
	}
	if err := tx.InsertProduct(ctx, p, path); err != nil {
		return err
	}
	if p.Stock > 0 {
		if err := tx.Ledger(ctx, p.ID, nil, contracts.LedgerIncoming, p.Stock, "initial stock", actorID); err != nil {
			return err
		}
	}
	for i, v := range variants {
		if err := addVariant(ctx, tx, p.ID, i, v, actorID); err != nil {
			return err
		}
	}
	ch.product(p.ID.String(), p.Slug)
	ch.categories = true
	return tx.Event(ctx, contracts.EventProductCreated, productEventOf(p))
}

// addVariant inserts a variant and ledgers its initial stock.
func addVariant(ctx context.Context, tx catalogTx, productID uuid.UUID, pos int, v contracts.VariantInput, actorID string) error {
	vid, err := tx.InsertVariant(ctx, productID, pos, v)
	if err != nil {
		return err
	}
	if v.Stock > 0 {
		return tx.Ledger(ctx, productID, &vid, contracts.LedgerIncoming, v.Stock, "initial stock", actorID)
	}
	return nil
}

// updateProduct is product.update.
func (c *core) updateProduct(ctx context.Context, actor contracts.Actor, idStr string, in contracts.ProductPatch) (json.RawMessage, error) {
	id, err := parseID(idStr, "product")
	if err != nil {
		return nil, err
	}
	catID, err := validPatch(&in)
	if err != nil {
		return nil, err
	}
	sellerID, price, err := c.precheckOwner(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if in.Variants != nil {
		if err := c.validVariantPatch(ctx, actor, id, sellerID, price, in); err != nil {
			return nil, err
		}
	}
	err = c.writeCatalog(ctx, func(tx catalogTx, ch *change) error { return patchProduct(ctx, tx, ch, actor, id, catID, in) })
	if err != nil {
		return nil, err
	}
	return c.getProductJSON(ctx, actor, id.String())
}

// validPatch validates the fields a patch sets (filling in the price's
// currency); it returns the new category id, if any.
func validPatch(in *contracts.ProductPatch) (catID uuid.UUID, err error) {
	if in.Name != nil {
		if err := validText("name", *in.Name, 1, maxNameLen); err != nil {
			return catID, err
		}
	}
	if in.Description != nil {
		if err := validText("description", *in.Description, 0, maxDescriptionLen); err != nil {
			return catID, err
		}
	}
	if in.CategoryID != nil {
		if strings.TrimSpace(*in.CategoryID) == "" {
			return catID, contracts.InvalidArgument("category_id", "category_id cannot be empty: give the product's category")
		}
		if catID, err = parseBodyID(*in.CategoryID, "category_id"); err != nil {
			return catID, err
		}
	}
	if in.Price != nil {
		if err := validPrice("price", in.Price); err != nil {
			return catID, err
		}
	}
	if in.SKU != nil {
		if err := validSKU("sku", *in.SKU); err != nil {
			return catID, err
		}
	}
	if in.Status != nil {
		if err := validStatus("status", *in.Status); err != nil {
			return catID, err
		}
	}
	if in.Properties != nil {
		if err := validProperties("properties", *in.Properties); err != nil {
			return catID, err
		}
	}
	return catID, nil
}

// validVariantPatch validates the variants of a patch (a variant without
// a price takes the product's, the patched one or else the current one)
// and checks their new images.
func (c *core) validVariantPatch(ctx context.Context, actor contracts.Actor, id uuid.UUID, sellerID string, price int64, in contracts.ProductPatch) error {
	def := contracts.Money{Currency: contracts.DefaultCurrency, Amount: price}
	if in.Price != nil {
		def = *in.Price
	}
	if err := validVariants(*in.Variants, def); err != nil {
		return err
	}
	known, err := c.catalog.VariantImages(ctx, id)
	if err != nil {
		return err
	}
	return c.checkVariantImages(ctx, actor, sellerID, *in.Variants, known)
}

// applyPatch sets the fields in sets on p (all but the category).
func applyPatch(p *productRow, in contracts.ProductPatch) {
	if in.Name != nil {
		p.Name = *in.Name
	}
	if in.Description != nil {
		p.Description = *in.Description
	}
	if in.Price != nil {
		p.Price, p.Currency = in.Price.Amount, in.Price.Currency
	}
	if in.SKU != nil {
		p.SKU = nullString(*in.SKU)
	}
	if in.Status != nil {
		p.Status = *in.Status
	}
	if in.Properties != nil {
		p.Properties = *in.Properties
	}
	if p.Properties == nil {
		p.Properties = []contracts.Property{}
	}
}

// patchProduct is product.update's transaction: the patch applied under
// the row lock, the category move, the variants, product.updated.
func patchProduct(ctx context.Context, tx catalogTx, ch *change, actor contracts.Actor, id, catID uuid.UUID, in contracts.ProductPatch) error {
	p, err := lockOwned(ctx, tx, actor, id)
	if err != nil {
		return err
	}
	old := p
	applyPatch(&p, in)
	if in.CategoryID != nil && catID != p.CategoryID {
		path, ok, err := tx.CategoryPath(ctx, catID)
		if err != nil {
			return err
		}
		if !ok {
			return contracts.InvalidArgument("category_id", "category not found")
		}
		if err := tx.MoveProduct(ctx, id, catID, path); err != nil {
			return err
		}
		p.CategoryID = catID
	}
	if err := tx.SaveProduct(ctx, p); err != nil {
		return err
	}
	if in.Variants != nil {
		if err := replaceVariants(ctx, tx, actor.ID, p.ID, *in.Variants); err != nil {
			return err
		}
	}
	ch.product(id.String(), p.Slug)
	if old.Status != p.Status || old.CategoryID != p.CategoryID {
		ch.categories = true
	}
	return tx.Event(ctx, contracts.EventProductUpdated, productEventOf(p))
}

// replaceVariants makes the product's variants match in (see
// contracts.VariantInput): unlisted ones go (unless units are reserved
// for them), listed ones are rewritten, new ones added.
func replaceVariants(ctx context.Context, tx catalogTx, actorID string, productID uuid.UUID, in []contracts.VariantInput) error {
	existing, err := tx.LockVariants(ctx, productID)
	if err != nil {
		return err
	}
	keep, err := keptVariants(in, existing)
	if err != nil {
		return err
	}
	for vid, v := range existing {
		if keep[vid] {
			continue
		}
		if v.reserved > 0 {
			return contracts.Errorf(contracts.CodeFailedPrecondition, "variant %s has %d units reserved for orders; it cannot be removed now", vid, v.reserved)
		}
		if err := tx.DeleteVariant(ctx, vid); err != nil {
			return err
		}
	}
	if err := tx.ReleaseVariantSKUs(ctx, productID); err != nil {
		return err
	}
	for i, v := range in {
		if v.ID == "" {
			err = addVariant(ctx, tx, productID, i, v, actorID)
		} else {
			err = tx.UpdateVariant(ctx, uuid.MustParse(v.ID), i, v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// keptVariants is the set of existing variants in lists by id; an id that
// is not one of them, or listed twice, is invalid.
func keptVariants(in []contracts.VariantInput, existing map[uuid.UUID]variantState) (map[uuid.UUID]bool, error) {
	keep := map[uuid.UUID]bool{}
	for i, v := range in {
		if v.ID == "" {
			continue
		}
		vid := uuid.MustParse(v.ID) // validated (validVariants)
		if _, ok := existing[vid]; !ok {
			return nil, contracts.InvalidArgument(fmt.Sprintf("variants[%d].id", i), "variant %s is not a variant of this product", v.ID)
		}
		if keep[vid] {
			return nil, contracts.InvalidArgument(fmt.Sprintf("variants[%d].id", i), "variant %s listed twice", v.ID)
		}
		keep[vid] = true
	}
	return keep, nil
}

// deleteProduct is product.delete: refused while units are reserved for
// open orders (archive it instead); a tombstone keeps its name for order
// histories.
func (c *core) deleteProduct(ctx context.Context, actor contracts.Actor, idStr string) error {
	id, err := parseID(idStr, "product")
	if err != nil {
		return err
	}
	return c.writeCatalog(ctx, func(tx catalogTx, ch *change) error {
		p, err := lockOwned(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		held, err := tx.HeldUnits(ctx, p)
		if err != nil {
			return err
		}
		if held > 0 {
			return contracts.Errorf(contracts.CodeFailedPrecondition, "%d units are reserved for open orders; archive the product instead", held)
		}
		if err := tx.DeleteProduct(ctx, p); err != nil {
			return err
		}
		ch.product(id.String(), p.Slug)
		ch.categories = true
		return tx.Event(ctx, contracts.EventProductDeleted, productEventOf(p))
	})
}

// setFeatured is product.featured.set/unset (admins only).
func (c *core) setFeatured(ctx context.Context, actor contracts.Actor, idStr string, on bool) (json.RawMessage, error) {
	if !actor.IsAdmin() {
		return nil, contracts.PermissionDenied("only an admin features products")
	}
	id, err := parseID(idStr, "product")
	if err != nil {
		return nil, err
	}
	err = c.writeCatalog(ctx, func(tx catalogTx, ch *change) error {
		p, err := lockOwned(ctx, tx, actor, id)
		if err != nil || p.Featured == on {
			return err
		}
		if err := tx.SetFeatured(ctx, id, on); err != nil {
			return err
		}
		ch.product(id.String(), p.Slug)
		return tx.Event(ctx, contracts.EventProductUpdated, productEventOf(p))
	})
	if err != nil {
		return nil, err
	}
	return c.getProductJSON(ctx, actor, id.String())
}

// addImage is product.images.add: attaching an image twice is a no-op.
func (c *core) addImage(ctx context.Context, actor contracts.Actor, idStr string, in contracts.ImageAddRequest) (*contracts.Image, error) {
	id, err := parseID(idStr, "product")
	if err != nil {
		return nil, err
	}
	fid, err := parseBodyID(in.FileID, "file_id")
	if err != nil {
		return nil, err
	}
	sellerID, _, err := c.precheckOwner(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if err := c.checkImage(ctx, actor, sellerID, fid.String(), "file_id"); err != nil {
		return nil, err
	}
	err = c.writeCatalog(ctx, func(tx catalogTx, ch *change) error {
		p, err := lockOwned(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		n, has, err := tx.Images(ctx, id, fid)
		if err != nil || has {
			return err
		}
		if n >= maxImages {
			return contracts.Errorf(contracts.CodeFailedPrecondition, "a product has at most %d images", maxImages)
		}
		if err := tx.AddImage(ctx, id, fid); err != nil {
			return err
		}
		return touched(ctx, tx, ch, p)
	})
	if err != nil {
		return nil, err
	}
	img := contracts.ImageOf(fid.String())
	return &img, nil
}

// removeImage is product.images.remove: the image leaves the product and
// any variant showing it.
func (c *core) removeImage(ctx context.Context, actor contracts.Actor, idStr, fileStr string) error {
	id, err := parseID(idStr, "product")
	if err != nil {
		return err
	}
	fid, err := parseID(fileStr, "image")
	if err != nil {
		return err
	}
	return c.writeCatalog(ctx, func(tx catalogTx, ch *change) error {
		p, err := lockOwned(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		ok, err := tx.RemoveImage(ctx, id, fid)
		if err != nil {
			return err
		}
		if !ok {
			return contracts.NotFound("image")
		}
		return touched(ctx, tx, ch, p)
	})
}

// touched records a change to p's document: updated_at, the caches,
// product.updated.
func touched(ctx context.Context, tx catalogTx, ch *change, p productRow) error {
	if err := tx.Touch(ctx, p.ID); err != nil {
		return err
	}
	ch.product(p.ID.String(), p.Slug)
	return tx.Event(ctx, contracts.EventProductUpdated, productEventOf(p))
}
