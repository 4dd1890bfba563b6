package product

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencommerce/opencommerce/internal/pg"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// stockFixture is one active product with 10 units on a fresh database.
func stockFixture(t *testing.T) (*pgxpool.Pool, uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	pool := testenv.PGPool(t, Migrations())
	cat, prod := uuid.New(), uuid.New()
	if _, err := pool.Exec(ctx, `INSERT INTO categories (id, name, slug, path) VALUES ($1, 'C', $2, ARRAY[$1::uuid])`, cat, "c-"+cat.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO products (id, seller_id, category_id, category_path, name, slug, price, status, stock)
		VALUES ($1, 's', $2, ARRAY[$2::uuid], 'P', $3, 100, 'active', 10)`, prod, cat, "p-"+prod.String()); err != nil {
		t.Fatal(err)
	}
	return pool, prod
}

// waitBlocked waits until some other backend on the test's database waits
// for a lock: the second transaction has reached the conflicting row.
func waitBlocked(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	testenv.Eventually(t, "the second transaction waits for the first", func() bool {
		var n int
		err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n > 0
	})
}

func checkStock(t *testing.T, pool *pgxpool.Pool, prod, oid uuid.UUID, wantStatus string) {
	t.Helper()
	var stock, reserved int64
	if err := pool.QueryRow(context.Background(), `SELECT stock, reserved FROM products WHERE id = $1`, prod).Scan(&stock, &reserved); err != nil {
		t.Fatal(err)
	}
	var status string
	if err := pool.QueryRow(context.Background(), `SELECT status FROM reservations WHERE order_id = $1`, oid).Scan(&status); err != nil {
		t.Fatal(err)
	}
	if stock != 10 || reserved != 0 || status != wantStatus {
		t.Fatalf("after reserve and release: stock %d reserved %d reservation %q; want 10, 0, %q", stock, reserved, status, wantStatus)
	}
}

// TestReserveReleaseCommute: an order's reservation and its cancellation
// end with every unit back in stock whichever transaction starts first and
// however they overlap. Each overlapping case holds the first transaction
// open until the second is blocked on it (seen in pg_stat_activity), so the
// interleaving is the same on every run.
func TestReserveReleaseCommute(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const user = "customer-1"
	reserveOp := func(oid, prod uuid.UUID) func(pgx.Tx) error {
		return func(tx pgx.Tx) error {
			return reserve(ctx, pgInventoryTx{tx: tx}, orderPlaced{OrderID: oid.String(), UserID: user,
				Items: []orderLine{{ProductID: prod.String(), Quantity: 3}}}, &change{})
		}
	}
	releaseOp := func(oid, _ uuid.UUID) func(pgx.Tx) error {
		return func(tx pgx.Tx) error {
			return release(ctx, pgInventoryTx{tx: tx}, oid, user, "cancelled", user, &change{})
		}
	}
	cases := []struct {
		name          string
		first, second func(oid, prod uuid.UUID) func(pgx.Tx) error
		overlap       bool
		want          string
	}{
		{"reserve then release", reserveOp, releaseOp, false, "released"},
		{"release then reserve", releaseOp, reserveOp, false, "released"},
		// The race of the bug: the cancellation runs while the
		// reservation is still uncommitted.
		{"release during uncommitted reserve", reserveOp, releaseOp, true, "released"},
		{"reserve during uncommitted release", releaseOp, reserveOp, true, "released"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pool, prod := stockFixture(t)
			oid := uuid.New()
			if !tc.overlap {
				if err := pg.InTx(ctx, pool, tc.first(oid, prod)); err != nil {
					t.Fatal(err)
				}
				if err := pg.InTx(ctx, pool, tc.second(oid, prod)); err != nil {
					t.Fatal(err)
				}
				checkStock(t, pool, prod, oid, tc.want)
				return
			}
			tx, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback(ctx) }()
			if err := tc.first(oid, prod)(tx); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- pg.InTx(ctx, pool, tc.second(oid, prod)) }()
			waitBlocked(t, pool)
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the second transaction did not finish after the first committed")
			}
			checkStock(t, pool, prod, oid, tc.want)
		})
	}
}
