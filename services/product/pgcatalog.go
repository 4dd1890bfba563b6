package product

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/pg"
)

// pgCatalog is the PostgreSQL adapter of catalogStore.
type pgCatalog struct {
	pool *pgxpool.Pool
}

// pgCatalogTx is catalogTx on a PostgreSQL transaction.
type pgCatalogTx struct {
	tx pgx.Tx
}

var (
	_ catalogStore = pgCatalog{}
	_ catalogTx    = pgCatalogTx{}
)

// onPostgres puts c on the PostgreSQL adapters of its stores, on pool.
func (c *core) onPostgres(pool *pgxpool.Pool) *core {
	c.catalog, c.stock, c.search = pgCatalog{pool: pool}, pgInventory{pool: pool}, pgSearch{pool: pool}
	return c
}

// querier is what both a pool and a transaction offer.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Write implements catalogStore.
func (s pgCatalog) Write(ctx context.Context, fn func(catalogTx) error) error {
	return pg.InTx(ctx, s.pool, func(tx pgx.Tx) error { return fn(pgCatalogTx{tx: tx}) })
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

// ProductOwner implements catalogStore.
func (s pgCatalog) ProductOwner(ctx context.Context, id uuid.UUID) (string, int64, error) {
	var owner string
	var price int64
	err := s.pool.QueryRow(ctx, `SELECT seller_id, price FROM products WHERE id = $1`, id).Scan(&owner, &price)
	if isNoRows(err) {
		return "", 0, contracts.NotFound("product")
	}
	return owner, price, err
}

// VariantImages implements catalogStore.
func (s pgCatalog) VariantImages(ctx context.Context, id uuid.UUID) (map[uuid.UUID]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT image_file_id FROM product_variants WHERE product_id = $1 AND image_file_id IS NOT NULL`, id)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]bool, len(ids))
	for _, f := range ids {
		out[f] = true
	}
	return out, nil
}

// ProductIDBySlug implements catalogStore.
func (s pgCatalog) ProductIDBySlug(ctx context.Context, slug string) (uuid.UUID, bool, error) {
	var u uuid.UUID
	err := s.pool.QueryRow(ctx, `SELECT id FROM products WHERE slug = $1`, slug).Scan(&u)
	if isNoRows(err) {
		return u, false, nil
	}
	return u, err == nil, err
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

// LoadDocs implements catalogStore.
func (s pgCatalog) LoadDocs(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*contracts.Product, error) {
	out := make(map[uuid.UUID]*contracts.Product, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows pgx.Rows
	var err error
	if len(ids) == 1 {
		rows, err = s.pool.Query(ctx, docQuery+"= $1", ids[0])
	} else {
		rows, err = s.pool.Query(ctx, docQuery+"= ANY($1)", ids)
	}
	if err != nil {
		return nil, fmt.Errorf("load products: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p productRow
		var d docParts
		err := rows.Scan(&p.ID, &p.SellerID, &p.CategoryID, &p.Name, &p.Slug, &p.Description, &p.Price, &p.Currency,
			&p.SKU, &p.Status, &p.Properties, &p.Featured, &p.Stock, &p.Reserved, &p.RatingSum, &p.RatingCount,
			&p.CreatedAt, &p.UpdatedAt, &d.vIDs, &d.vSKUs, &d.vPrices, &d.vProps, &d.vImages, &d.vStocks, &d.files, &d.types, &d.counts)
		if err != nil {
			return nil, err
		}
		out[p.ID] = d.document(p)
	}
	return out, rows.Err()
}

// Categories implements catalogStore.
func (s pgCatalog) Categories(ctx context.Context) ([]categoryRow, map[uuid.UUID]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, parent_id, name, slug, created_at, updated_at FROM categories ORDER BY name, id`)
	if err != nil {
		return nil, nil, fmt.Errorf("load categories: %w", err)
	}
	cats, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (categoryRow, error) {
		var c categoryRow
		err := row.Scan(&c.ID, &c.ParentID, &c.Name, &c.Slug, &c.CreatedAt, &c.UpdatedAt)
		return c, err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("load categories: %w", err)
	}
	rows, err = s.pool.Query(ctx, `SELECT category_id, count(*) FROM products WHERE status = 'active' GROUP BY category_id`)
	if err != nil {
		return nil, nil, fmt.Errorf("count products: %w", err)
	}
	counts := map[uuid.UUID]int64{}
	for rows.Next() {
		var id uuid.UUID
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return nil, nil, err
		}
		counts[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("count products: %w", err)
	}
	return cats, counts, nil
}

// Inventory implements catalogStore.
func (s pgCatalog) Inventory(ctx context.Context, id uuid.UUID, before int64, limit int) (string, *contracts.Inventory, []int64, error) {
	inv := &contracts.Inventory{ProductID: id.String(), Variants: []contracts.VariantStock{}, Ledger: []contracts.LedgerEntry{}}
	var seller string
	err := s.pool.QueryRow(ctx, `SELECT seller_id, stock, reserved FROM products WHERE id = $1`, id).Scan(&seller, &inv.Stock, &inv.Reserved)
	if isNoRows(err) {
		return "", nil, nil, contracts.NotFound("product")
	}
	if err != nil {
		return "", nil, nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT id, sku, stock, reserved FROM product_variants WHERE product_id = $1 ORDER BY position`, id)
	if err != nil {
		return "", nil, nil, err
	}
	inv.Variants, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (contracts.VariantStock, error) {
		var v contracts.VariantStock
		var vid uuid.UUID
		var sku *string
		err := row.Scan(&vid, &sku, &v.Stock, &v.Reserved)
		v.VariantID, v.SKU = vid.String(), strOrEmpty(sku)
		return v, err
	})
	if err != nil {
		return "", nil, nil, err
	}
	rows, err = s.pool.Query(ctx, `SELECT id, variant_id, kind, quantity, reason, actor_id, order_id, at FROM inventory_ledger
		WHERE product_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, id, before, limit)
	if err != nil {
		return "", nil, nil, err
	}
	defer rows.Close()
	var seq []int64
	for rows.Next() {
		var e contracts.LedgerEntry
		var n int64
		var vid, oid *uuid.UUID
		if err := rows.Scan(&n, &vid, &e.Kind, &e.Quantity, &e.Reason, &e.ActorID, &oid, &e.At); err != nil {
			return "", nil, nil, err
		}
		if vid != nil {
			e.VariantID = vid.String()
		}
		if oid != nil {
			e.OrderID = oid.String()
		}
		inv.Ledger = append(inv.Ledger, e)
		seq = append(seq, n)
	}
	return seller, inv, seq, rows.Err()
}

// DeletedProducts implements catalogStore.
func (s pgCatalog) DeletedProducts(ctx context.Context, ids []string) (map[string]contracts.LookupItem, error) {
	rows, err := s.pool.Query(ctx, `SELECT id::text, seller_id, name, slug FROM deleted_products WHERE id = ANY($1::uuid[])`, ids)
	if err != nil {
		return nil, fmt.Errorf("load deleted products: %w", err)
	}
	defer rows.Close()
	out := make(map[string]contracts.LookupItem)
	for rows.Next() {
		it := contracts.LookupItem{Deleted: true}
		if err := rows.Scan(&it.ID, &it.SellerID, &it.Name, &it.Slug); err != nil {
			return nil, fmt.Errorf("load deleted products: %w", err)
		}
		out[it.ID] = it
	}
	return out, rows.Err()
}

// Synonyms implements catalogStore.
func (s pgCatalog) Synonyms(ctx context.Context) ([]contracts.Synonym, error) {
	rows, err := s.pool.Query(ctx, `SELECT term, synonyms FROM search_synonyms ORDER BY term`)
	if err != nil {
		return nil, fmt.Errorf("synonyms: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (contracts.Synonym, error) {
		var s contracts.Synonym
		err := row.Scan(&s.Term, &s.Synonyms)
		return s, err
	})
}

// SetSynonyms implements catalogStore.
func (s pgCatalog) SetSynonyms(ctx context.Context, items []contracts.Synonym) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM search_synonyms`); err != nil {
			return err
		}
		for _, s := range items {
			if _, err := tx.Exec(ctx, `INSERT INTO search_synonyms (term, synonyms) VALUES (oc_fold($1), $2)
				ON CONFLICT (term) DO UPDATE SET synonyms = search_synonyms.synonyms || EXCLUDED.synonyms`, s.Term, s.Synonyms); err != nil {
				return err
			}
		}
		return nil
	})
}

// AddStock implements catalogTx.
func (t pgCatalogTx) AddStock(ctx context.Context, id uuid.UUID, variantID *uuid.UUID, delta int64) (bool, error) {
	var stock int64
	var err error
	if variantID == nil {
		err = t.tx.QueryRow(ctx, `UPDATE products SET stock = stock + $2, updated_at = now() WHERE id = $1 AND stock + $2 >= 0 RETURNING stock`, id, delta).Scan(&stock)
	} else {
		err = t.tx.QueryRow(ctx, `UPDATE product_variants SET stock = stock + $3 WHERE id = $2 AND product_id = $1 AND stock + $3 >= 0 RETURNING stock`, id, *variantID, delta).Scan(&stock)
	}
	if isNoRows(err) {
		return false, nil
	}
	return err == nil, err
}

// HasVariant implements catalogTx.
func (t pgCatalogTx) HasVariant(ctx context.Context, id, variantID uuid.UUID) (bool, error) {
	var ok bool
	err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM product_variants WHERE id = $1 AND product_id = $2)`, variantID, id).Scan(&ok)
	return ok, err
}

// LockProduct implements catalogTx.
func (t pgCatalogTx) LockProduct(ctx context.Context, id uuid.UUID) (productRow, error) {
	p, err := scanProduct(t.tx.QueryRow(ctx, `SELECT `+productCols+` FROM products WHERE id = $1 FOR UPDATE`, id))
	if isNoRows(err) {
		return p, contracts.NotFound("product")
	}
	return p, err
}

// InsertProduct implements catalogTx.
func (t pgCatalogTx) InsertProduct(ctx context.Context, p productRow, path []uuid.UUID) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO products (id, seller_id, category_id, category_path, name, slug, description,
		price, currency, sku, status, properties, stock) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`,
		p.ID, p.SellerID, p.CategoryID, path, p.Name, p.Slug, p.Description, p.Price, p.Currency,
		p.SKU, p.Status, p.Properties, p.Stock)
	if code, cons := pgCode(err); code == "23505" && cons == "products_slug_key" {
		return errSlugTaken
	}
	return mapUnique(err)
}

// SaveProduct implements catalogTx.
func (t pgCatalogTx) SaveProduct(ctx context.Context, p productRow) error {
	_, err := t.tx.Exec(ctx, `UPDATE products SET name = $2, description = $3, price = $4, currency = $5, sku = $6,
		status = $7, properties = $8, updated_at = now() WHERE id = $1`,
		p.ID, p.Name, p.Description, p.Price, p.Currency, p.SKU, p.Status, p.Properties)
	return mapUnique(err)
}

// MoveProduct implements catalogTx.
func (t pgCatalogTx) MoveProduct(ctx context.Context, id, catID uuid.UUID, path []uuid.UUID) error {
	_, err := t.tx.Exec(ctx, `UPDATE products SET category_id = $2, category_path = $3 WHERE id = $1`, id, catID, path)
	return err
}

// Touch implements catalogTx.
func (t pgCatalogTx) Touch(ctx context.Context, id uuid.UUID) error {
	_, err := t.tx.Exec(ctx, `UPDATE products SET updated_at = now() WHERE id = $1`, id)
	return err
}

// SetFeatured implements catalogTx.
func (t pgCatalogTx) SetFeatured(ctx context.Context, id uuid.UUID, on bool) error {
	_, err := t.tx.Exec(ctx, `UPDATE products SET featured = $2, featured_at = CASE WHEN $2 THEN now() END, updated_at = now() WHERE id = $1`, id, on)
	return err
}

// HeldUnits implements catalogTx.
func (t pgCatalogTx) HeldUnits(ctx context.Context, p productRow) (int64, error) {
	var held int64
	err := t.tx.QueryRow(ctx, `SELECT $2::bigint + coalesce(sum(reserved), 0) FROM product_variants WHERE product_id = $1`, p.ID, p.Reserved).Scan(&held)
	return held, err
}

// DeleteProduct implements catalogTx.
func (t pgCatalogTx) DeleteProduct(ctx context.Context, p productRow) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM products WHERE id = $1`, p.ID); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO deleted_products (id, seller_id, name, slug) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO NOTHING`, p.ID, p.SellerID, p.Name, p.Slug)
	return err
}

// Ledger implements catalogTx.
func (t pgCatalogTx) Ledger(ctx context.Context, productID uuid.UUID, variantID *uuid.UUID, kind string, qty int64, reason, actorID string) error {
	return ledger(ctx, t.tx, productID, variantID, kind, qty, reason, actorID, nil)
}

// variantImage is the image column of a variant input.
func variantImage(v contracts.VariantInput) *uuid.UUID {
	if v.ImageFileID == "" {
		return nil
	}
	u := uuid.MustParse(v.ImageFileID) // validated (validVariants)
	return &u
}

// variantProps is a variant input's properties, never NULL.
func variantProps(v contracts.VariantInput) []contracts.Property {
	if v.Properties == nil {
		return []contracts.Property{}
	}
	return v.Properties
}

// InsertVariant implements catalogTx.
func (t pgCatalogTx) InsertVariant(ctx context.Context, productID uuid.UUID, pos int, v contracts.VariantInput) (uuid.UUID, error) {
	vid := newID()
	_, err := t.tx.Exec(ctx, `INSERT INTO product_variants (id, product_id, position, sku, price, properties, image_file_id, stock)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`, vid, productID, pos, nullString(v.SKU), v.Price.Amount, variantProps(v), variantImage(v), v.Stock)
	return vid, mapUnique(err)
}

// LockVariants implements catalogTx.
func (t pgCatalogTx) LockVariants(ctx context.Context, productID uuid.UUID) (map[uuid.UUID]variantState, error) {
	rows, err := t.tx.Query(ctx, `SELECT id, reserved, image_file_id FROM product_variants WHERE product_id = $1 FOR UPDATE`, productID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[uuid.UUID]variantState{}
	for rows.Next() {
		var id uuid.UUID
		var v variantState
		if err := rows.Scan(&id, &v.reserved, &v.image); err != nil {
			return nil, err
		}
		out[id] = v
	}
	return out, rows.Err()
}

// DeleteVariant implements catalogTx.
func (t pgCatalogTx) DeleteVariant(ctx context.Context, id uuid.UUID) error {
	_, err := t.tx.Exec(ctx, `DELETE FROM product_variants WHERE id = $1`, id)
	return err
}

// ReleaseVariantSKUs implements catalogTx.
func (t pgCatalogTx) ReleaseVariantSKUs(ctx context.Context, productID uuid.UUID) error {
	_, err := t.tx.Exec(ctx, `UPDATE product_variants SET sku = NULL, position = position + 100000 WHERE product_id = $1`, productID)
	return err
}

// UpdateVariant implements catalogTx.
func (t pgCatalogTx) UpdateVariant(ctx context.Context, id uuid.UUID, pos int, v contracts.VariantInput) error {
	_, err := t.tx.Exec(ctx, `UPDATE product_variants SET position = $2, sku = $3, price = $4, properties = $5, image_file_id = $6 WHERE id = $1`,
		id, pos, nullString(v.SKU), v.Price.Amount, variantProps(v), variantImage(v))
	return mapUnique(err)
}

// Images implements catalogTx.
func (t pgCatalogTx) Images(ctx context.Context, id, fileID uuid.UUID) (int, bool, error) {
	var n int
	var has bool
	err := t.tx.QueryRow(ctx, `SELECT count(*), coalesce(bool_or(file_id = $2), false) FROM product_images WHERE product_id = $1`, id, fileID).Scan(&n, &has)
	return n, has, err
}

// AddImage implements catalogTx.
func (t pgCatalogTx) AddImage(ctx context.Context, id, fileID uuid.UUID) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO product_images (product_id, file_id, position) VALUES ($1, $2, (SELECT coalesce(max(position), 0) + 1 FROM product_images WHERE product_id = $1))`, id, fileID)
	return err
}

// RemoveImage implements catalogTx.
func (t pgCatalogTx) RemoveImage(ctx context.Context, id, fileID uuid.UUID) (bool, error) {
	tag, err := t.tx.Exec(ctx, `DELETE FROM product_images WHERE product_id = $1 AND file_id = $2`, id, fileID)
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
	}
	_, err = t.tx.Exec(ctx, `UPDATE product_variants SET image_file_id = NULL WHERE product_id = $1 AND image_file_id = $2`, id, fileID)
	return err == nil, err
}

// CategoryPath implements catalogTx.
func (t pgCatalogTx) CategoryPath(ctx context.Context, id uuid.UUID) ([]uuid.UUID, bool, error) {
	var path []uuid.UUID
	err := t.tx.QueryRow(ctx, `SELECT path FROM categories WHERE id = $1 FOR SHARE`, id).Scan(&path)
	if isNoRows(err) {
		return nil, false, nil
	}
	return path, err == nil, err
}

// LockCategory implements catalogTx.
func (t pgCatalogTx) LockCategory(ctx context.Context, id uuid.UUID) (categoryState, error) {
	var c categoryState
	err := t.tx.QueryRow(ctx, `SELECT path, name,
		EXISTS (SELECT 1 FROM categories WHERE parent_id = $1),
		EXISTS (SELECT 1 FROM products WHERE category_id = $1)
		FROM categories WHERE id = $1 FOR UPDATE`, id).Scan(&c.Path, &c.Name, &c.Children, &c.Products)
	if isNoRows(err) {
		return c, contracts.NotFound("category")
	}
	return c, err
}

// FreeSlug implements catalogTx.
func (t pgCatalogTx) FreeSlug(ctx context.Context, categories bool, base string) (string, error) {
	table := "products"
	if categories {
		table = "categories"
	}
	rows, err := t.tx.Query(ctx, `SELECT slug FROM `+table+` WHERE slug = $1 OR slug ~ ('^' || $1 || '-[0-9]+$')`, base)
	if err != nil {
		return "", err
	}
	taken, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", err
	}
	return nextSlug(base, taken), nil
}

// categoryConflict maps the category constraints to the store's errors.
func categoryConflict(err error) error {
	code, cons := pgCode(err)
	switch {
	case code == "23505" && cons == "categories_slug_key":
		return errSlugTaken
	case code == "23505" && cons == "categories_sibling_name":
		return errSiblingName
	}
	return err
}

// InsertCategory implements catalogTx.
func (t pgCatalogTx) InsertCategory(ctx context.Context, c categoryRow, path []uuid.UUID) (time.Time, error) {
	var created time.Time
	err := t.tx.QueryRow(ctx, `INSERT INTO categories (id, parent_id, name, slug, path) VALUES ($1, $2, $3, $4, $5) RETURNING created_at`,
		c.ID, c.ParentID, c.Name, c.Slug, path).Scan(&created)
	return created, categoryConflict(err)
}

// SetCategorySlug implements catalogTx.
func (t pgCatalogTx) SetCategorySlug(ctx context.Context, id uuid.UUID, slug string) error {
	_, err := t.tx.Exec(ctx, `UPDATE categories SET slug = $2, updated_at = now() WHERE id = $1`, id, slug)
	if code, _ := pgCode(err); code == "23505" {
		return errSlugTaken
	}
	return err
}

// RenameCategory implements catalogTx.
func (t pgCatalogTx) RenameCategory(ctx context.Context, id uuid.UUID, name string) error {
	_, err := t.tx.Exec(ctx, `UPDATE categories SET name = $2, updated_at = now() WHERE id = $1`, id, name)
	return categoryConflict(err)
}

// MoveCategory implements catalogTx.
func (t pgCatalogTx) MoveCategory(ctx context.Context, id uuid.UUID, parent *uuid.UUID, name *string, newPath []uuid.UUID, depth int) error {
	if _, err := t.tx.Exec(ctx, `UPDATE categories SET parent_id = $2, name = coalesce($3, name), updated_at = now() WHERE id = $1`,
		id, parent, name); err != nil {
		return categoryConflict(err)
	}
	if _, err := t.tx.Exec(ctx, `UPDATE categories SET path = $2::uuid[] || path[$3 + 1:] WHERE path @> ARRAY[$1::uuid]`, id, newPath, depth); err != nil {
		return err
	}
	// Documents cache category_id only, which did not change: no product
	// event.
	_, err := t.tx.Exec(ctx, `UPDATE products p SET category_path = c.path FROM categories c WHERE p.category_id = c.id AND c.path @> ARRAY[$1::uuid]`, id)
	return err
}

// DeleteCategory implements catalogTx.
func (t pgCatalogTx) DeleteCategory(ctx context.Context, id uuid.UUID) error {
	_, err := t.tx.Exec(ctx, `DELETE FROM categories WHERE id = $1`, id)
	if code, _ := pgCode(err); code == "23503" { // raced with a new product or child
		return errInUse
	}
	return err
}

// Event implements catalogTx.
func (t pgCatalogTx) Event(ctx context.Context, typ string, data any) error {
	_, err := pg.AddEvent(ctx, t.tx, typ, data)
	return err
}

// mapUnique turns the violation of a SKU's unique constraint into a
// conflict naming the field; other errors pass through.
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

// pgCode returns the SQLSTATE and constraint of a PostgreSQL error.
func pgCode(err error) (code, constraint string) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code, pe.ConstraintName
	}
	return "", ""
}

// isNoRows reports whether err is a QueryRow that found no row.
func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
