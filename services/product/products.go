package product

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/opencommerce/opencommerce/contracts"
)

// docParts are a product's variants, images and reaction counts as the
// store reads them (parallel arrays, one element per variant, image or
// reaction type).
type docParts struct {
	vIDs, files, types []string
	vSKUs, vImages     []*string
	vPrices, vStocks   []int64
	counts             []int64
	vProps             [][]contracts.Property
}

// document builds p's document from its parts. A product with variants is
// bought by variant: its stock is theirs (summed), so that Stock and
// StockStatus tell the same story.
func (d *docParts) document(p productRow) *contracts.Product {
	doc := &contracts.Product{
		ID: p.ID.String(), Slug: p.Slug, Name: p.Name, Description: p.Description,
		CategoryID: p.CategoryID.String(), SellerID: p.SellerID,
		Price: contracts.Money{Amount: p.Price, Currency: p.Currency}, SKU: strOrEmpty(p.SKU),
		Status: p.Status, Properties: p.Properties, Variants: make([]contracts.Variant, len(d.vIDs)),
		Images: make([]contracts.Image, len(d.files)), Stock: p.Stock, Rating: rating(p.RatingSum, p.RatingCount),
		Reactions: make(map[string]int64, len(d.types)), Featured: p.Featured, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
	if doc.Properties == nil {
		doc.Properties = []contracts.Property{}
	}
	var avail int64
	if len(d.vIDs) == 0 {
		avail = doc.Stock
	}
	for i := range d.vIDs {
		v := contracts.Variant{ID: d.vIDs[i], SKU: strOrEmpty(d.vSKUs[i]),
			Price: contracts.Money{Amount: d.vPrices[i], Currency: doc.Price.Currency},
			Stock: d.vStocks[i], StockStatus: contracts.StockStatusOf(d.vStocks[i]), Properties: d.vProps[i]}
		if v.Properties == nil {
			v.Properties = []contracts.Property{}
		}
		if d.vImages[i] != nil {
			im := contracts.ImageOf(*d.vImages[i])
			v.Image = &im
		}
		doc.Variants[i] = v
		avail += v.Stock
	}
	for i, f := range d.files {
		doc.Images[i] = contracts.ImageOf(f)
	}
	for i, t := range d.types {
		doc.Reactions[t] = d.counts[i]
	}
	doc.Stock, doc.StockStatus = avail, contracts.StockStatusOf(avail)
	return doc
}

func rating(sum, count int64) contracts.Rating {
	if count == 0 {
		return contracts.Rating{}
	}
	return contracts.Rating{Average: float64(sum) / float64(count), Count: count}
}

// rawDocs returns the documents of ids as cached (reply JSON and the
// header fields), read through the cache: one MGET, and for the misses one
// query, one encoding each and one pipelined SET. Malformed and unknown ids
// are absent from the map.
func (c *core) rawDocs(ctx context.Context, ids []string) (map[string]cachedDoc, error) {
	out := c.cache.getDocs(ctx, ids)
	if out == nil {
		out = make(map[string]cachedDoc, len(ids))
	}
	var missing []uuid.UUID
	for _, id := range ids {
		if _, ok := out[id]; ok {
			continue
		}
		if u, err := uuid.Parse(id); err == nil && u.String() == id {
			missing = append(missing, u)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	loaded, err := c.catalog.LoadDocs(ctx, missing)
	if err != nil {
		return nil, err
	}
	toCache := make(map[string][]byte, len(loaded))
	for id, doc := range loaded {
		d, b, err := encodeNew(doc)
		if err != nil {
			return nil, err
		}
		out[id.String()] = d
		if b != nil {
			toCache[id.String()] = b
		}
	}
	c.cache.setDocs(ctx, toCache)
	return out, nil
}

// encodeNew encodes a document just loaded: its cachedDoc, and the bytes
// to cache (nil when it cannot be cached).
func encodeNew(doc *contracts.Product) (cachedDoc, []byte, error) {
	js, err := json.Marshal(doc)
	if err != nil {
		return cachedDoc{}, nil, fmt.Errorf("encode product: %w", err)
	}
	d := cachedDoc{status: []byte(doc.Status), sellerID: []byte(doc.SellerID), slug: []byte(doc.Slug), json: js}
	b, ok := encodeDoc(doc, js)
	if !ok {
		return d, nil, nil
	}
	d, _ = decodeDoc(b) // alias b: one allocation for the document
	return d, b, nil
}

// rawDoc is rawDocs for one valid id (one GET; on a miss one query and one
// SET); ok is false for an unknown product.
func (c *core) rawDoc(ctx context.Context, id uuid.UUID) (doc cachedDoc, ok bool, err error) {
	ids := id.String()
	if doc, ok := c.cache.getDoc(ctx, ids); ok {
		return doc, true, nil
	}
	loaded, err := c.catalog.LoadDocs(ctx, []uuid.UUID{id})
	if err != nil {
		return doc, false, err
	}
	p := loaded[id]
	if p == nil {
		return doc, false, nil
	}
	doc, b, err := encodeNew(p)
	if err != nil {
		return doc, false, err
	}
	if b != nil {
		c.cache.setDoc(ctx, ids, b)
	}
	return doc, true, nil
}

// docs returns the decoded documents of ids, read through the cache (see
// rawDocs). Malformed and unknown ids are absent from the map.
func (c *core) docs(ctx context.Context, ids []string) (map[string]*contracts.Product, error) {
	raw, err := c.rawDocs(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*contracts.Product, len(raw))
	for id, d := range raw {
		var p contracts.Product
		if err := json.Unmarshal(d.json, &p); err != nil {
			return nil, fmt.Errorf("decode cached product %s: %w", id, err)
		}
		out[id] = &p
	}
	return out, nil
}

// visible reports whether actor may see a product: active and archived
// products are public, drafts only to their seller and admins.
func visible(actor contracts.Actor, d cachedDoc) bool {
	return string(d.status) != contracts.ProductDraft || actor.Can(string(d.sellerID))
}

// getProductJSON is product.get: the document's reply bytes as cached,
// returned as they are (no decode, no re-encode).
func (c *core) getProductJSON(ctx context.Context, actor contracts.Actor, idStr string) (json.RawMessage, error) {
	id, err := parseID(idStr, "product")
	if err != nil {
		return nil, err
	}
	doc, ok, err := c.rawDoc(ctx, id)
	if err != nil {
		return nil, err
	}
	if !ok || !visible(actor, doc) {
		return nil, contracts.NotFound("product")
	}
	return doc.json, nil
}

// getProductBySlug is product.get_by_slug (reply bytes as cached).
func (c *core) getProductBySlug(ctx context.Context, actor contracts.Actor, slug string) (json.RawMessage, error) {
	if slug == "" || len(slug) > maxSlugLen {
		return nil, contracts.NotFound("product")
	}
	id := c.cache.slugID(ctx, slug)
	if id == "" {
		u, ok, err := c.catalog.ProductIDBySlug(ctx, slug)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, contracts.NotFound("product")
		}
		id = u.String()
		c.cache.setSlug(ctx, slug, id)
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return nil, contracts.NotFound("product")
	}
	doc, ok, err := c.rawDoc(ctx, u)
	if err != nil {
		return nil, err
	}
	if !ok || !visible(actor, doc) || string(doc.slug) != slug { // unknown, hidden, or a stale slug entry
		return nil, contracts.NotFound("product")
	}
	return doc.json, nil
}

// validPrice is validMoney for a selling price, which must be positive: a
// free product could never be paid for (there is no zero-total order), so
// price 0 is refused where it is set rather than at checkout.
func validPrice(field string, m *contracts.Money) error {
	if err := validMoney(field, m); err != nil {
		return err
	}
	if m.Amount == 0 {
		return contracts.InvalidArgument(field+".amount", "%s.amount must be at least 1 minor unit: products cannot be given away for free", field)
	}
	return nil
}

func validStatus(field, s string) error {
	switch s {
	case contracts.ProductDraft, contracts.ProductActive, contracts.ProductArchived:
		return nil
	}
	return contracts.InvalidArgument(field, "status must be draft, active or archived")
}

func validVariants(in []contracts.VariantInput, price contracts.Money) error {
	if len(in) > maxVariants {
		return contracts.InvalidArgument("variants", "at most %d variants", maxVariants)
	}
	skus := map[string]bool{}
	for i := range in {
		v := &in[i]
		f := fmt.Sprintf("variants[%d]", i)
		if v.ID != "" {
			if _, err := parseBodyID(v.ID, f+".id"); err != nil {
				return err
			}
		}
		if v.Price == nil {
			p := price
			v.Price = &p
		}
		if err := validPrice(f+".price", v.Price); err != nil {
			return err
		}
		if err := validSKU(f+".sku", v.SKU); err != nil {
			return err
		}
		if v.SKU != "" {
			if skus[v.SKU] {
				return contracts.InvalidArgument(f+".sku", "duplicate variant sku %q", v.SKU)
			}
			skus[v.SKU] = true
		}
		if v.Stock < 0 || v.Stock > maxQuantity {
			return contracts.InvalidArgument(f+".stock", "stock must be between 0 and %d", maxQuantity)
		}
		if err := validProperties(f+".properties", v.Properties); err != nil {
			return err
		}
		if v.ImageFileID != "" {
			if _, err := parseBodyID(v.ImageFileID, f+".image_file_id"); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkImage verifies with the file service that fileID is a product image
// that ownerID (or, if admin, anyone) uploaded.
func (c *core) checkImage(ctx context.Context, actor contracts.Actor, ownerID, fileID, field string) error {
	if c.files == nil {
		return contracts.Errorf(contracts.CodeUnavailable, "the file service is not available")
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.FileTimeout)
	defer cancel()
	fi, err := c.files.StatFile(ctx, fileID)
	if err != nil {
		switch contracts.ErrorCode(err) {
		case contracts.CodeNotFound, contracts.CodeInvalidArgument:
			return contracts.InvalidArgument(field, "file %s not found", fileID)
		case contracts.CodePermissionDenied:
			return contracts.PermissionDenied("file %s is not yours", fileID)
		case contracts.CodeUnavailable, contracts.CodeDeadlineExceeded:
			return contracts.Errorf(contracts.CodeUnavailable, "the file service is unavailable; try again")
		}
		return fmt.Errorf("file.stat %s: %w", fileID, err)
	}
	if !actor.IsAdmin() && !actor.IsService() && fi.OwnerID != actor.ID && fi.OwnerID != ownerID {
		return contracts.PermissionDenied("file %s is not yours", fileID)
	}
	if fi.Purpose != "product_image" {
		return contracts.InvalidArgument(field, "file %s has purpose %q, not product_image", fileID, fi.Purpose)
	}
	return nil
}
