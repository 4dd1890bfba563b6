package benchsuite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// benchStock is the stock every directly seeded product is given, as the
// API seed does, so checkouts never sell a product out during the run.
const benchStock = 1_000_000

// productRowColumns reads the product table's stored columns (every column
// but the generated ones, such as the search vector) from the database's
// catalogue, so that the baseline follows the product service's schema
// without repeating it here.
func productRowColumns(ctx context.Context, db *pgxpool.Pool) (string, error) {
	rows, err := db.Query(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'products' AND is_generated = 'NEVER' ORDER BY ordinal_position`)
	if err != nil {
		return "", err
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", err
	}
	if len(cols) == 0 {
		return "", fmt.Errorf("the product database has no products table")
	}
	return strings.Join(cols, ", "), nil
}

// productRow is the baseline of the product-by-id figures: the same rows
// (ids, the catalogue the uncached read draws from) selected with pgx
// straight from the platform's product database, in the same run: one
// product's stored columns (cols, from productRowColumns) by primary key.
func productRow(opt Options, db *pgxpool.Pool, cols string, ids []string) *target {
	return &target{
		name: BareProductRow, inFlight: opt.InFlight,
		what: fmt.Sprintf("pgx pool (%d connections) on the platform's product database, SELECT of one product's stored columns by id "+
			"over the same %d products as the uncached product read", opt.InFlight, len(ids)),
		op: func(ctx context.Context, _ int) (time.Duration, bool) {
			t0 := time.Now()
			rows, err := db.Query(ctx, `SELECT `+cols+` FROM products WHERE id = $1`, ids[rand.IntN(len(ids))])
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
