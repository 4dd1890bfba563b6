package product

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/opencommerce/opencommerce/contracts"
)

// querier is what both a pool and a transaction offer.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// productRow is a row of products.
type productRow struct {
	ID          uuid.UUID
	SellerID    string
	CategoryID  uuid.UUID
	Name        string
	Slug        string
	Description string
	Price       int64
	Currency    string
	SKU         *string
	Status      string
	Properties  []contracts.Property
	Featured    bool
	Stock       int64
	Reserved    int64
	RatingSum   int64
	RatingCount int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const productCols = `id, seller_id, category_id, name, slug, description, price, currency, sku, status, properties,
	featured, stock, reserved, rating_sum, rating_count, created_at, updated_at`

func scanProduct(row pgx.Row) (productRow, error) {
	var p productRow
	err := row.Scan(&p.ID, &p.SellerID, &p.CategoryID, &p.Name, &p.Slug, &p.Description, &p.Price, &p.Currency,
		&p.SKU, &p.Status, &p.Properties, &p.Featured, &p.Stock, &p.Reserved, &p.RatingSum, &p.RatingCount,
		&p.CreatedAt, &p.UpdatedAt)
	return p, err
}

// lockProduct loads a product FOR UPDATE and checks that actor may change
// it (its seller, an admin or a service).
func lockProduct(ctx context.Context, tx pgx.Tx, actor contracts.Actor, id uuid.UUID) (productRow, error) {
	p, err := scanProduct(tx.QueryRow(ctx, `SELECT `+productCols+` FROM products WHERE id = $1 FOR UPDATE`, id))
	if isNoRows(err) {
		return p, contracts.NotFound("product")
	}
	if err != nil {
		return p, err
	}
	if !actor.Can(p.SellerID) {
		return p, contracts.PermissionDenied("only the product's seller or an admin may change it")
	}
	return p, nil
}

// docQuery reads whole product documents in one statement: the product
// row with its variants, images and reaction counts aggregated into arrays
// (one round trip and one snapshot, instead of a query per table). The
// condition is appended: "= $1" for one id, so that the cached prepared
// statement settles on its generic plan (with "= ANY($1)" and one element
// every execution was planned anew, costing more than the execution).
const docQuery = `SELECT ` + productCols + `, v.ids, v.skus, v.prices, v.props, v.images, v.stocks, i.files, r.types, r.counts
FROM products p
LEFT JOIN LATERAL (SELECT array_agg(id::text ORDER BY position) AS ids, array_agg(sku ORDER BY position) AS skus,
	array_agg(price ORDER BY position) AS prices, array_agg(properties ORDER BY position) AS props,
	array_agg(image_file_id::text ORDER BY position) AS images, array_agg(stock ORDER BY position) AS stocks
	FROM product_variants WHERE product_id = p.id) v ON true
LEFT JOIN LATERAL (SELECT array_agg(file_id::text ORDER BY position) AS files FROM product_images WHERE product_id = p.id) i ON true
LEFT JOIN LATERAL (SELECT array_agg(type ORDER BY type) AS types, array_agg(n ORDER BY type) AS counts
	FROM (SELECT type, count(*) AS n FROM reactions WHERE product_id = p.id GROUP BY type) x) r ON true
WHERE p.id `

// loadDocs builds the documents of ids from the database (unknown ids are
// absent from the map).
func loadDocs(ctx context.Context, q querier, ids []uuid.UUID) (map[uuid.UUID]*contracts.Product, error) {
	out := make(map[uuid.UUID]*contracts.Product, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows pgx.Rows
	var err error
	if len(ids) == 1 {
		rows, err = q.Query(ctx, docQuery+"= $1", ids[0])
	} else {
		rows, err = q.Query(ctx, docQuery+"= ANY($1)", ids)
	}
	if err != nil {
		return nil, fmt.Errorf("load products: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p productRow
		var vIDs, files, types []string
		var vSKUs, vImages []*string
		var vPrices, vStocks, counts []int64
		var vProps [][]contracts.Property
		err := rows.Scan(&p.ID, &p.SellerID, &p.CategoryID, &p.Name, &p.Slug, &p.Description, &p.Price, &p.Currency,
			&p.SKU, &p.Status, &p.Properties, &p.Featured, &p.Stock, &p.Reserved, &p.RatingSum, &p.RatingCount,
			&p.CreatedAt, &p.UpdatedAt, &vIDs, &vSKUs, &vPrices, &vProps, &vImages, &vStocks, &files, &types, &counts)
		if err != nil {
			return nil, err
		}
		doc := &contracts.Product{
			ID: p.ID.String(), Slug: p.Slug, Name: p.Name, Description: p.Description,
			CategoryID: p.CategoryID.String(), SellerID: p.SellerID,
			Price: contracts.Money{Amount: p.Price, Currency: p.Currency}, SKU: strOrEmpty(p.SKU),
			Status: p.Status, Properties: p.Properties, Variants: make([]contracts.Variant, len(vIDs)),
			Images: make([]contracts.Image, len(files)), Stock: p.Stock, Rating: rating(p.RatingSum, p.RatingCount),
			Reactions: make(map[string]int64, len(types)), Featured: p.Featured, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
		}
		if doc.Properties == nil {
			doc.Properties = []contracts.Property{}
		}
		// A product with variants is bought by variant: its stock is theirs
		// (summed), so that Stock and StockStatus tell the same story.
		var avail int64
		if len(vIDs) == 0 {
			avail = doc.Stock
		}
		for i := range vIDs {
			v := contracts.Variant{ID: vIDs[i], SKU: strOrEmpty(vSKUs[i]),
				Price: contracts.Money{Amount: vPrices[i], Currency: doc.Price.Currency},
				Stock: vStocks[i], StockStatus: contracts.StockStatusOf(vStocks[i]), Properties: vProps[i]}
			if v.Properties == nil {
				v.Properties = []contracts.Property{}
			}
			if vImages[i] != nil {
				im := contracts.ImageOf(*vImages[i])
				v.Image = &im
			}
			doc.Variants[i] = v
			avail += v.Stock
		}
		for i, f := range files {
			doc.Images[i] = contracts.ImageOf(f)
		}
		for i, t := range types {
			doc.Reactions[t] = counts[i]
		}
		doc.Stock, doc.StockStatus = avail, contracts.StockStatusOf(avail)
		out[p.ID] = doc
	}
	return out, rows.Err()
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
	loaded, err := loadDocs(ctx, c.pool, missing)
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
	loaded, err := loadDocs(ctx, c.pool, []uuid.UUID{id})
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

// getProduct is getProductJSON decoded, for the methods that answer with
// the document after a change.
func (c *core) getProduct(ctx context.Context, actor contracts.Actor, idStr string) (*contracts.Product, error) {
	b, err := c.getProductJSON(ctx, actor, idStr)
	if err != nil {
		return nil, err
	}
	var p contracts.Product
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("decode product: %w", err)
	}
	return &p, nil
}

// getProductBySlug is product.get_by_slug (reply bytes as cached).
func (c *core) getProductBySlug(ctx context.Context, actor contracts.Actor, slug string) (json.RawMessage, error) {
	if slug == "" || len(slug) > maxSlugLen {
		return nil, contracts.NotFound("product")
	}
	id := c.cache.slugID(ctx, slug)
	if id == "" {
		var u uuid.UUID
		err := c.pool.QueryRow(ctx, `SELECT id FROM products WHERE slug = $1`, slug).Scan(&u)
		if isNoRows(err) {
			return nil, contracts.NotFound("product")
		}
		if err != nil {
			return nil, err
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

func mapUnique(err error) error {
	code, cons := pgCode(err)
	if code != "23505" {
		return err
	}
	switch cons {
	case "products_sku_key":
		return contracts.Errorf(contracts.CodeConflict, "the SKU is already used by another product").WithDetail("field", "sku")
	case "product_variants_sku_key":
		return contracts.Errorf(contracts.CodeConflict, "a variant SKU is already used").WithDetail("field", "variants.sku")
	}
	return err
}

func (c *core) createProduct(ctx context.Context, actor contracts.Actor, in contracts.ProductInput) (*contracts.Product, error) {
	if actor.Role != contracts.RoleSeller && !actor.IsAdmin() {
		return nil, contracts.PermissionDenied("only sellers and admins create products")
	}
	sellerID := actor.ID
	if in.SellerID != "" && in.SellerID != actor.ID {
		if !actor.IsAdmin() {
			return nil, contracts.PermissionDenied("only an admin creates products for another seller")
		}
		sellerID = in.SellerID
	}
	if sellerID == "" {
		return nil, contracts.Unauthenticated("sign in to create products")
	}
	if err := validText("name", in.Name, 1, maxNameLen); err != nil {
		return nil, err
	}
	if err := validText("description", in.Description, 0, maxDescriptionLen); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.CategoryID) == "" {
		return nil, contracts.InvalidArgument("category_id", "category_id is required")
	}
	catID, err := parseBodyID(in.CategoryID, "category_id")
	if err != nil {
		return nil, err
	}
	if err := validPrice("price", &in.Price); err != nil {
		return nil, err
	}
	if err := validSKU("sku", in.SKU); err != nil {
		return nil, err
	}
	if in.Status == "" {
		in.Status = contracts.ProductActive
	}
	if err := validStatus("status", in.Status); err != nil {
		return nil, err
	}
	if err := validProperties("properties", in.Properties); err != nil {
		return nil, err
	}
	if in.Stock < 0 || in.Stock > maxQuantity {
		return nil, contracts.InvalidArgument("stock", "stock must be between 0 and %d", maxQuantity)
	}
	if err := validVariants(in.Variants, in.Price); err != nil {
		return nil, err
	}
	for i, v := range in.Variants {
		if v.ID != "" {
			return nil, contracts.InvalidArgument(fmt.Sprintf("variants[%d].id", i), "new variants have no id")
		}
		if v.ImageFileID != "" {
			if err := c.checkImage(ctx, actor, sellerID, v.ImageFileID, fmt.Sprintf("variants[%d].image_file_id", i)); err != nil {
				return nil, err
			}
		}
	}
	if in.Properties == nil {
		in.Properties = []contracts.Property{}
	}
	id := newID()
	for attempt := 0; ; attempt++ {
		err = c.write(ctx, func(tx pgx.Tx, ch *change) error {
			var path []uuid.UUID
			if err := tx.QueryRow(ctx, `SELECT path FROM categories WHERE id = $1 FOR SHARE`, catID).Scan(&path); err != nil {
				if isNoRows(err) {
					return contracts.InvalidArgument("category_id", "category not found")
				}
				return err
			}
			slug, err := uniqueSlug(ctx, tx, "products", slugify(in.Name))
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `INSERT INTO products (id, seller_id, category_id, category_path, name, slug, description,
				price, currency, sku, status, properties, stock) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`,
				id, sellerID, catID, path, in.Name, slug, in.Description, in.Price.Amount, in.Price.Currency,
				nullString(in.SKU), in.Status, in.Properties, in.Stock)
			if err != nil {
				return mapUnique(err)
			}
			if in.Stock > 0 {
				if err := ledger(ctx, tx, id, nil, contracts.LedgerIncoming, in.Stock, "initial stock", actor.ID, nil); err != nil {
					return err
				}
			}
			for i, v := range in.Variants {
				if err := insertVariant(ctx, tx, id, i, v, actor.ID); err != nil {
					return err
				}
			}
			ch.product(id.String(), slug)
			ch.categories = true
			return productEvent(ctx, tx, contracts.EventProductCreated, productRow{
				ID: id, SellerID: sellerID, Slug: slug, CategoryID: catID, Status: in.Status, Name: in.Name})
		})
		// Two products of the same name created at once compute the same
		// slug; the loser tries the next one.
		if code, cons := pgCode(err); code == "23505" && cons == "products_slug_key" && attempt < 5 {
			continue
		}
		break
	}
	if err != nil {
		return nil, err
	}
	return c.getProduct(ctx, actor, id.String())
}

func insertVariant(ctx context.Context, tx pgx.Tx, productID uuid.UUID, pos int, v contracts.VariantInput, actorID string) error {
	vid := newID()
	var img *uuid.UUID
	if v.ImageFileID != "" {
		u := uuid.MustParse(v.ImageFileID)
		img = &u
	}
	props := v.Properties
	if props == nil {
		props = []contracts.Property{}
	}
	_, err := tx.Exec(ctx, `INSERT INTO product_variants (id, product_id, position, sku, price, properties, image_file_id, stock)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`, vid, productID, pos, nullString(v.SKU), v.Price.Amount, props, img, v.Stock)
	if err != nil {
		return mapUnique(err)
	}
	if v.Stock > 0 {
		return ledger(ctx, tx, productID, &vid, contracts.LedgerIncoming, v.Stock, "initial stock", actorID, nil)
	}
	return nil
}

func (c *core) updateProduct(ctx context.Context, actor contracts.Actor, idStr string, in contracts.ProductPatch) (*contracts.Product, error) {
	id, err := parseID(idStr, "product")
	if err != nil {
		return nil, err
	}
	if in.Name != nil {
		if err := validText("name", *in.Name, 1, maxNameLen); err != nil {
			return nil, err
		}
	}
	if in.Description != nil {
		if err := validText("description", *in.Description, 0, maxDescriptionLen); err != nil {
			return nil, err
		}
	}
	var catID uuid.UUID
	if in.CategoryID != nil {
		if strings.TrimSpace(*in.CategoryID) == "" {
			return nil, contracts.InvalidArgument("category_id", "category_id cannot be empty: give the product's category")
		}
		if catID, err = parseBodyID(*in.CategoryID, "category_id"); err != nil {
			return nil, err
		}
	}
	if in.Price != nil {
		if err := validPrice("price", in.Price); err != nil {
			return nil, err
		}
	}
	if in.SKU != nil {
		if err := validSKU("sku", *in.SKU); err != nil {
			return nil, err
		}
	}
	if in.Status != nil {
		if err := validStatus("status", *in.Status); err != nil {
			return nil, err
		}
	}
	if in.Properties != nil {
		if err := validProperties("properties", *in.Properties); err != nil {
			return nil, err
		}
	}
	// Pre-check ownership before calling the file service for variant
	// images (the authoritative check runs under the row lock below).
	var owner string
	if err := c.pool.QueryRow(ctx, `SELECT seller_id FROM products WHERE id = $1`, id).Scan(&owner); err != nil {
		if isNoRows(err) {
			return nil, contracts.NotFound("product")
		}
		return nil, err
	}
	if !actor.Can(owner) {
		return nil, contracts.PermissionDenied("only the product's seller or an admin may change it")
	}
	if in.Variants != nil {
		price := contracts.Money{Currency: contracts.DefaultCurrency, Amount: -1}
		if in.Price != nil {
			price = *in.Price
		}
		for i := range *in.Variants {
			if (*in.Variants)[i].Price == nil && price.Amount < 0 {
				var cur int64
				if err := c.pool.QueryRow(ctx, `SELECT price FROM products WHERE id = $1`, id).Scan(&cur); err != nil {
					return nil, err
				}
				price.Amount = cur
			}
		}
		if err := validVariants(*in.Variants, price); err != nil {
			return nil, err
		}
	}
	err = c.write(ctx, func(tx pgx.Tx, ch *change) error {
		p, err := lockProduct(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		oldStatus, oldCat := p.Status, p.CategoryID
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
		if in.CategoryID != nil && catID != p.CategoryID {
			var path []uuid.UUID
			if err := tx.QueryRow(ctx, `SELECT path FROM categories WHERE id = $1 FOR SHARE`, catID).Scan(&path); err != nil {
				if isNoRows(err) {
					return contracts.InvalidArgument("category_id", "category not found")
				}
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE products SET category_id = $2, category_path = $3 WHERE id = $1`, id, catID, path); err != nil {
				return err
			}
			p.CategoryID = catID
		}
		_, err = tx.Exec(ctx, `UPDATE products SET name = $2, description = $3, price = $4, currency = $5, sku = $6,
			status = $7, properties = $8, updated_at = now() WHERE id = $1`,
			id, p.Name, p.Description, p.Price, p.Currency, p.SKU, p.Status, p.Properties)
		if err != nil {
			return mapUnique(err)
		}
		if in.Variants != nil {
			if err := c.replaceVariants(ctx, tx, actor, p, *in.Variants); err != nil {
				return err
			}
		}
		ch.product(id.String(), p.Slug)
		if oldStatus != p.Status || oldCat != p.CategoryID {
			ch.categories = true
		}
		return productEvent(ctx, tx, contracts.EventProductUpdated, p)
	})
	if err != nil {
		return nil, err
	}
	return c.getProduct(ctx, actor, id.String())
}

// replaceVariants makes the product's variants match in (see
// contracts.VariantInput).
func (c *core) replaceVariants(ctx context.Context, tx pgx.Tx, actor contracts.Actor, p productRow, in []contracts.VariantInput) error {
	rows, err := tx.Query(ctx, `SELECT id, reserved, image_file_id FROM product_variants WHERE product_id = $1 FOR UPDATE`, p.ID)
	if err != nil {
		return err
	}
	type cur struct {
		reserved int64
		image    *uuid.UUID
	}
	existing := map[uuid.UUID]cur{}
	for rows.Next() {
		var id uuid.UUID
		var v cur
		if err := rows.Scan(&id, &v.reserved, &v.image); err != nil {
			rows.Close()
			return err
		}
		existing[id] = v
	}
	if err := rows.Err(); err != nil {
		return err
	}
	keep := map[uuid.UUID]bool{}
	for i, v := range in {
		if v.ID == "" {
			continue
		}
		vid := uuid.MustParse(v.ID)
		if _, ok := existing[vid]; !ok {
			return contracts.InvalidArgument(fmt.Sprintf("variants[%d].id", i), "variant %s is not a variant of this product", v.ID)
		}
		if keep[vid] {
			return contracts.InvalidArgument(fmt.Sprintf("variants[%d].id", i), "variant %s listed twice", v.ID)
		}
		keep[vid] = true
	}
	for vid, v := range existing {
		if keep[vid] {
			continue
		}
		if v.reserved > 0 {
			return contracts.Errorf(contracts.CodeFailedPrecondition, "variant %s has %d units reserved for orders; it cannot be removed now", vid, v.reserved)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM product_variants WHERE id = $1`, vid); err != nil {
			return err
		}
	}
	// Free the SKUs of kept variants first so that swapping SKUs between
	// variants does not trip the unique constraint midway.
	if _, err := tx.Exec(ctx, `UPDATE product_variants SET sku = NULL, position = position + 100000 WHERE product_id = $1`, p.ID); err != nil {
		return err
	}
	for i, v := range in {
		f := fmt.Sprintf("variants[%d].image_file_id", i)
		var img *uuid.UUID
		if v.ImageFileID != "" {
			u := uuid.MustParse(v.ImageFileID)
			img = &u
		}
		if v.ID == "" {
			if img != nil {
				if err := c.checkImage(ctx, actor, p.SellerID, v.ImageFileID, f); err != nil {
					return err
				}
			}
			if err := insertVariant(ctx, tx, p.ID, i, v, actor.ID); err != nil {
				return err
			}
			continue
		}
		vid := uuid.MustParse(v.ID)
		if img != nil && (existing[vid].image == nil || *existing[vid].image != *img) {
			if err := c.checkImage(ctx, actor, p.SellerID, v.ImageFileID, f); err != nil {
				return err
			}
		}
		props := v.Properties
		if props == nil {
			props = []contracts.Property{}
		}
		_, err := tx.Exec(ctx, `UPDATE product_variants SET position = $2, sku = $3, price = $4, properties = $5, image_file_id = $6 WHERE id = $1`,
			vid, i, nullString(v.SKU), v.Price.Amount, props, img)
		if err != nil {
			return mapUnique(err)
		}
	}
	return nil
}

func (c *core) deleteProduct(ctx context.Context, actor contracts.Actor, idStr string) error {
	id, err := parseID(idStr, "product")
	if err != nil {
		return err
	}
	return c.write(ctx, func(tx pgx.Tx, ch *change) error {
		p, err := lockProduct(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		var held int64
		if err := tx.QueryRow(ctx, `SELECT $2::bigint + coalesce(sum(reserved), 0) FROM product_variants WHERE product_id = $1`, id, p.Reserved).Scan(&held); err != nil {
			return err
		}
		if held > 0 {
			return contracts.Errorf(contracts.CodeFailedPrecondition, "%d units are reserved for open orders; archive the product instead", held)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM products WHERE id = $1`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO deleted_products (id, seller_id, name, slug) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO NOTHING`, id, p.SellerID, p.Name, p.Slug); err != nil {
			return err
		}
		ch.product(id.String(), p.Slug)
		ch.categories = true
		return productEvent(ctx, tx, contracts.EventProductDeleted, p)
	})
}

func (c *core) setFeatured(ctx context.Context, actor contracts.Actor, idStr string, on bool) (*contracts.Product, error) {
	if !actor.IsAdmin() {
		return nil, contracts.PermissionDenied("only an admin features products")
	}
	id, err := parseID(idStr, "product")
	if err != nil {
		return nil, err
	}
	err = c.write(ctx, func(tx pgx.Tx, ch *change) error {
		p, err := lockProduct(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		if p.Featured == on {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE products SET featured = $2, featured_at = CASE WHEN $2 THEN now() END, updated_at = now() WHERE id = $1`, id, on); err != nil {
			return err
		}
		ch.product(id.String(), p.Slug)
		return productEvent(ctx, tx, contracts.EventProductUpdated, p)
	})
	if err != nil {
		return nil, err
	}
	return c.getProduct(ctx, actor, id.String())
}

func (c *core) addImage(ctx context.Context, actor contracts.Actor, idStr string, in contracts.ImageAddRequest) (*contracts.Image, error) {
	id, err := parseID(idStr, "product")
	if err != nil {
		return nil, err
	}
	fid, err := parseBodyID(in.FileID, "file_id")
	if err != nil {
		return nil, err
	}
	var owner string
	if err := c.pool.QueryRow(ctx, `SELECT seller_id FROM products WHERE id = $1`, id).Scan(&owner); err != nil {
		if isNoRows(err) {
			return nil, contracts.NotFound("product")
		}
		return nil, err
	}
	if !actor.Can(owner) {
		return nil, contracts.PermissionDenied("only the product's seller or an admin may change it")
	}
	if err := c.checkImage(ctx, actor, owner, fid.String(), "file_id"); err != nil {
		return nil, err
	}
	err = c.write(ctx, func(tx pgx.Tx, ch *change) error {
		p, err := lockProduct(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		var n int
		var dup bool
		if err := tx.QueryRow(ctx, `SELECT count(*), coalesce(bool_or(file_id = $2), false) FROM product_images WHERE product_id = $1`, id, fid).Scan(&n, &dup); err != nil {
			return err
		}
		if dup {
			return nil // attaching twice is a no-op
		}
		if n >= maxImages {
			return contracts.Errorf(contracts.CodeFailedPrecondition, "a product has at most %d images", maxImages)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO product_images (product_id, file_id, position) VALUES ($1, $2, (SELECT coalesce(max(position), 0) + 1 FROM product_images WHERE product_id = $1))`, id, fid); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE products SET updated_at = now() WHERE id = $1`, id); err != nil {
			return err
		}
		ch.product(id.String(), p.Slug)
		return productEvent(ctx, tx, contracts.EventProductUpdated, p)
	})
	if err != nil {
		return nil, err
	}
	img := contracts.ImageOf(fid.String())
	return &img, nil
}

func (c *core) removeImage(ctx context.Context, actor contracts.Actor, idStr, fileStr string) error {
	id, err := parseID(idStr, "product")
	if err != nil {
		return err
	}
	fid, err := parseID(fileStr, "image")
	if err != nil {
		return err
	}
	return c.write(ctx, func(tx pgx.Tx, ch *change) error {
		p, err := lockProduct(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM product_images WHERE product_id = $1 AND file_id = $2`, id, fid)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return contracts.NotFound("image")
		}
		if _, err := tx.Exec(ctx, `UPDATE product_variants SET image_file_id = NULL WHERE product_id = $1 AND image_file_id = $2`, id, fid); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE products SET updated_at = now() WHERE id = $1`, id); err != nil {
			return err
		}
		ch.product(id.String(), p.Slug)
		return productEvent(ctx, tx, contracts.EventProductUpdated, p)
	})
}

// forgetFile removes a deleted file from every product (images and variant
// images), in the event handler's transaction.
func forgetFile(ctx context.Context, tx pgx.Tx, fileID uuid.UUID, ch *change) error {
	rows, err := tx.Query(ctx, `SELECT `+productCols+` FROM products WHERE id IN (
		SELECT product_id FROM product_images WHERE file_id = $1
		UNION SELECT product_id FROM product_variants WHERE image_file_id = $1) ORDER BY id FOR UPDATE`, fileID)
	if err != nil {
		return err
	}
	var affected []productRow
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			rows.Close()
			return err
		}
		affected = append(affected, p)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, p := range affected {
		if _, err := tx.Exec(ctx, `DELETE FROM product_images WHERE product_id = $1 AND file_id = $2`, p.ID, fileID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE product_variants SET image_file_id = NULL WHERE product_id = $1 AND image_file_id = $2`, p.ID, fileID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE products SET updated_at = now() WHERE id = $1`, p.ID); err != nil {
			return err
		}
		ch.product(p.ID.String(), p.Slug)
		if err := productEvent(ctx, tx, contracts.EventProductUpdated, p); err != nil {
			return err
		}
	}
	return nil
}
