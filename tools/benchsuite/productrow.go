package benchsuite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencommerce/opencommerce/services/product"
)

// benchStock is the stock every directly seeded product is given, as the
// API seed does, so checkouts never sell a product out during the run.
const benchStock = 1_000_000

// directSeed writes n products into the platform's product database with
// the product service's Seed, then gives every product ample stock (Seed
// spreads stock over 0..199, and a sold-out line would count as a failed
// checkout) and refreshes the planner's statistics.
func directSeed(ctx context.Context, db *pgxpool.Pool, n int) error {
	if err := product.Seed(ctx, db, n); err != nil {
		return err
	}
	if _, err := db.Exec(ctx, `UPDATE products SET stock = $1 WHERE stock <> $1`, benchStock); err != nil {
		return fmt.Errorf("stock the seeded products: %w", err)
	}
	_, err := db.Exec(ctx, `VACUUM ANALYZE products`)
	return err
}

// productRowCols are the columns the product service reads for one
// product (product.get's row, before variants, images and the JSON).
const productRowCols = `id, seller_id, category_id, name, slug, description, price, currency, sku, status, properties,
	featured, stock, reserved, rating_sum, rating_count, created_at, updated_at`

// productRow is the baseline of the product-by-id figures: the same rows
// (ids, the catalogue the uncached read draws from) selected with pgx
// straight from the platform's product database, in the same run.
func productRow(opt Options, db *pgxpool.Pool, ids []string) *target {
	return &target{
		name: BareProductRow, inFlight: opt.InFlight,
		what: fmt.Sprintf("pgx pool (%d connections) on the platform's product database, SELECT of one product's row by id "+
			"(the columns product.get reads) over the same %d products as the uncached product read", opt.InFlight, len(ids)),
		op: func(ctx context.Context, _ int) (time.Duration, bool) {
			t0 := time.Now()
			rows, err := db.Query(ctx, `SELECT `+productRowCols+` FROM products WHERE id = $1`, ids[rand.IntN(len(ids))])
			if err != nil {
				return time.Since(t0), false
			}
			n := 0
			for rows.Next() {
				if _, err := rows.Values(); err != nil {
					break
				}
				n++
			}
			rows.Close()
			return time.Since(t0), rows.Err() == nil && n == 1
		},
	}
}
