package product

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/opencommerce/opencommerce/contracts"
)

// The reviews part of the PostgreSQL adapter (catalogStore's reviewReads,
// catalogTx's reviewTx).

const reviewCols = `id, product_id, user_id, rating, title, body, verified_purchase, image_file_ids, created_at, updated_at`

func scanReview(row pgx.Row) (contracts.Review, error) {
	var r contracts.Review
	var id, pid uuid.UUID
	var images []uuid.UUID
	err := row.Scan(&id, &pid, &r.UserID, &r.Rating, &r.Title, &r.Body, &r.VerifiedPurchase, &images, &r.CreatedAt, &r.UpdatedAt)
	r.ID, r.ProductID = id.String(), pid.String()
	r.Images = make([]contracts.Image, len(images))
	for i, f := range images {
		r.Images[i] = contracts.ImageOf(f.String())
	}
	return r, err
}

func loadProduct(ctx context.Context, q querier, id uuid.UUID) (productRow, error) {
	p, err := scanProduct(q.QueryRow(ctx, `SELECT `+productCols+` FROM products WHERE id = $1`, id))
	if isNoRows(err) {
		return p, contracts.NotFound("product")
	}
	return p, err
}

func bought(ctx context.Context, q querier, userID string, productID uuid.UUID) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM reservations s JOIN reservation_lines l ON l.order_id = s.order_id
		WHERE s.user_id = $1 AND s.status = 'committed' AND l.product_id = $2)`, userID, productID).Scan(&ok)
	return ok, err
}

func loadReview(ctx context.Context, q querier, id uuid.UUID, lock string) (contracts.Review, error) {
	r, err := scanReview(q.QueryRow(ctx, `SELECT `+reviewCols+` FROM reviews WHERE id = $1`+lock, id))
	if isNoRows(err) {
		return r, contracts.NotFound("review")
	}
	return r, err
}

// Product implements reviewReads.
func (s pgCatalog) Product(ctx context.Context, id uuid.UUID) (productRow, error) {
	return loadProduct(ctx, s.pool, id)
}

// Bought implements reviewReads.
func (s pgCatalog) Bought(ctx context.Context, userID string, id uuid.UUID) (bool, error) {
	return bought(ctx, s.pool, userID, id)
}

// HasReviewed implements reviewReads.
func (s pgCatalog) HasReviewed(ctx context.Context, id uuid.UUID, userID string) (bool, error) {
	var dup bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM reviews WHERE product_id = $1 AND user_id = $2)`, id, userID).Scan(&dup)
	return dup, err
}

// Reviews implements reviewReads.
func (s pgCatalog) Reviews(ctx context.Context, id uuid.UUID, after *timeCursor, limit int) ([]contracts.Review, error) {
	sql := `SELECT ` + reviewCols + ` FROM reviews WHERE product_id = $1`
	args := []any{id}
	if after != nil {
		sql += ` AND (created_at, id) < ($2, $3)`
		args = append(args, after.At, after.ID)
	}
	rows, err := s.pool.Query(ctx, sql+` ORDER BY created_at DESC, id DESC LIMIT `+itoa(limit), args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (contracts.Review, error) { return scanReview(row) })
}

// Review implements reviewReads.
func (s pgCatalog) Review(ctx context.Context, id uuid.UUID) (contracts.Review, error) {
	return loadReview(ctx, s.pool, id, "")
}

// Product implements reviewTx.
func (t pgCatalogTx) Product(ctx context.Context, id uuid.UUID) (productRow, error) {
	return loadProduct(ctx, t.tx, id)
}

// Bought implements reviewTx.
func (t pgCatalogTx) Bought(ctx context.Context, userID string, id uuid.UUID) (bool, error) {
	return bought(ctx, t.tx, userID, id)
}

// InsertReview implements reviewTx.
func (t pgCatalogTx) InsertReview(ctx context.Context, r contracts.Review, images []uuid.UUID) (contracts.Review, error) {
	out, err := scanReview(t.tx.QueryRow(ctx, `INSERT INTO reviews (id, product_id, user_id, rating, title, body, verified_purchase, image_file_ids)
		VALUES ($1, $2, $3, $4, $5, $6, true, $7) RETURNING `+reviewCols, r.ID, r.ProductID, r.UserID, r.Rating, r.Title, r.Body, images))
	if code, cons := pgCode(err); code == "23505" && cons == "reviews_one_per_user" {
		return out, errAlreadyReviewed
	}
	return out, err
}

// LockReview implements reviewTx.
func (t pgCatalogTx) LockReview(ctx context.Context, id uuid.UUID) (contracts.Review, error) {
	return loadReview(ctx, t.tx, id, ` FOR UPDATE`)
}

// SetReviewImages implements reviewTx.
func (t pgCatalogTx) SetReviewImages(ctx context.Context, id uuid.UUID, images []uuid.UUID) error {
	_, err := t.tx.Exec(ctx, `UPDATE reviews SET image_file_ids = $2 WHERE id = $1`, id, images)
	return err
}

// SaveReview implements reviewTx.
func (t pgCatalogTx) SaveReview(ctx context.Context, r contracts.Review) (contracts.Review, error) {
	return scanReview(t.tx.QueryRow(ctx, `UPDATE reviews SET rating = $2, title = $3, body = $4, updated_at = now()
		WHERE id = $1 RETURNING `+reviewCols, uuid.MustParse(r.ID), r.Rating, r.Title, r.Body))
}

// DeleteReview implements reviewTx.
func (t pgCatalogTx) DeleteReview(ctx context.Context, id uuid.UUID) error {
	_, err := t.tx.Exec(ctx, `DELETE FROM reviews WHERE id = $1`, id)
	return err
}

// AddRating implements reviewTx.
func (t pgCatalogTx) AddRating(ctx context.Context, id uuid.UUID, sum, count int64) (productRow, error) {
	var p productRow
	err := t.tx.QueryRow(ctx, `UPDATE products SET rating_sum = rating_sum + $2, rating_count = rating_count + $3 WHERE id = $1
		RETURNING id, seller_id, slug, category_id, status, name`, id, sum, count).
		Scan(&p.ID, &p.SellerID, &p.Slug, &p.CategoryID, &p.Status, &p.Name)
	return p, err
}
