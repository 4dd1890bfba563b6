package product

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/pg"
)

// pgInventory is the PostgreSQL adapter of inventoryStore.
type pgInventory struct {
	pool *pgxpool.Pool
}

// pgInventoryTx is inventoryTx on a PostgreSQL transaction (or savepoint).
type pgInventoryTx struct {
	tx pgx.Tx
}

var (
	_ inventoryStore = pgInventory{}
	_ inventoryTx    = pgInventoryTx{}
)

// Write implements inventoryStore.
func (s pgInventory) Write(ctx context.Context, fn func(inventoryTx) error) error {
	return pg.InTx(ctx, s.pool, func(tx pgx.Tx) error { return fn(pgInventoryTx{tx: tx}) })
}

// HandleOnce implements inventoryStore with pg.HandleOnce (the inbox).
func (s pgInventory) HandleOnce(ctx context.Context, ev contracts.Event, fn func(inventoryTx) error) error {
	return pg.HandleOnce(ctx, s.pool, Name, ev, func(tx pgx.Tx) error { return fn(pgInventoryTx{tx: tx}) })
}

// NewReservation implements inventoryTx.
func (t pgInventoryTx) NewReservation(ctx context.Context, oid uuid.UUID, userID string) (bool, error) {
	tag, err := t.tx.Exec(ctx, `INSERT INTO reservations (order_id, user_id, status) VALUES ($1, $2, 'held') ON CONFLICT DO NOTHING`, oid, userID)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// Savepoint implements inventoryTx.
func (t pgInventoryTx) Savepoint(ctx context.Context, fn func(inventoryTx) (bool, error)) error {
	sp, err := t.tx.Begin(ctx)
	if err != nil {
		return err
	}
	keep, err := fn(pgInventoryTx{tx: sp})
	if err != nil {
		_ = sp.Rollback(ctx)
		return err
	}
	if !keep {
		return sp.Rollback(ctx)
	}
	return sp.Commit(ctx)
}

// Take implements inventoryTx: one UPDATE … WHERE stock >= qty, so
// concurrent reservations cannot oversell.
func (t pgInventoryTx) Take(ctx context.Context, l stockLine) (bool, productRow, int64, error) {
	var p productRow
	var after int64
	var err error
	if l.variant == nil {
		err = t.tx.QueryRow(ctx, `UPDATE products SET stock = stock - $2, reserved = reserved + $2
			WHERE id = $1 AND status = 'active' AND stock >= $2
			RETURNING stock, seller_id, slug, category_id, status, name`, l.product, l.qty).
			Scan(&after, &p.SellerID, &p.Slug, &p.CategoryID, &p.Status, &p.Name)
	} else {
		err = t.tx.QueryRow(ctx, `UPDATE product_variants v SET stock = v.stock - $3, reserved = v.reserved + $3
			FROM products p WHERE v.id = $2 AND v.product_id = $1 AND p.id = v.product_id AND p.status = 'active' AND v.stock >= $3
			RETURNING v.stock, p.seller_id, p.slug, p.category_id, p.status, p.name`, l.product, *l.variant, l.qty).
			Scan(&after, &p.SellerID, &p.Slug, &p.CategoryID, &p.Status, &p.Name)
	}
	if isNoRows(err) {
		return false, p, 0, nil
	}
	if err != nil {
		return false, p, 0, err
	}
	p.ID = l.product
	return true, p, after, nil
}

// Available implements inventoryTx.
func (t pgInventoryTx) Available(ctx context.Context, l stockLine) (int64, error) {
	var n int64
	var err error
	if l.variant == nil {
		err = t.tx.QueryRow(ctx, `SELECT stock FROM products WHERE id = $1 AND status = 'active'`, l.product).Scan(&n)
	} else {
		err = t.tx.QueryRow(ctx, `SELECT v.stock FROM product_variants v JOIN products p ON p.id = v.product_id
			WHERE v.id = $2 AND v.product_id = $1 AND p.status = 'active'`, l.product, *l.variant).Scan(&n)
	}
	if isNoRows(err) {
		return 0, nil
	}
	return n, err
}

// AddLine implements inventoryTx.
func (t pgInventoryTx) AddLine(ctx context.Context, oid uuid.UUID, i int, l stockLine) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO reservation_lines (order_id, line, product_id, variant_id, quantity) VALUES ($1, $2, $3, $4, $5)`,
		oid, i, l.product, l.variant, l.qty)
	return err
}

// Lines implements inventoryTx.
func (t pgInventoryTx) Lines(ctx context.Context, oid uuid.UUID) ([]stockLine, error) {
	rows, err := t.tx.Query(ctx, `SELECT product_id, variant_id, quantity FROM reservation_lines WHERE order_id = $1 ORDER BY line`, oid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []stockLine
	for rows.Next() {
		var l stockLine
		if err := rows.Scan(&l.product, &l.variant, &l.qty); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// MoveUnits implements inventoryTx.
func (t pgInventoryTx) MoveUnits(ctx context.Context, l stockLine, dStock, dReserved int64) (productRow, int64, bool, error) {
	var p productRow
	var after int64
	var err error
	if l.variant == nil {
		err = t.tx.QueryRow(ctx, `UPDATE products SET stock = stock + $2, reserved = reserved + $3 WHERE id = $1
			RETURNING stock, seller_id, slug, category_id, status, name`, l.product, dStock, dReserved).
			Scan(&after, &p.SellerID, &p.Slug, &p.CategoryID, &p.Status, &p.Name)
	} else {
		err = t.tx.QueryRow(ctx, `UPDATE product_variants v SET stock = v.stock + $3, reserved = v.reserved + $4
			FROM products p WHERE v.id = $2 AND v.product_id = $1 AND p.id = v.product_id
			RETURNING v.stock, p.seller_id, p.slug, p.category_id, p.status, p.name`, l.product, *l.variant, dStock, dReserved).
			Scan(&after, &p.SellerID, &p.Slug, &p.CategoryID, &p.Status, &p.Name)
	}
	if isNoRows(err) {
		return p, 0, false, nil
	}
	if err != nil {
		return p, 0, false, err
	}
	p.ID = l.product
	return p, after, true, nil
}

// OrderLedger implements inventoryTx.
func (t pgInventoryTx) OrderLedger(ctx context.Context, l stockLine, kind, reason, actorID string, oid uuid.UUID) error {
	return ledger(ctx, t.tx, l.product, l.variant, kind, l.qty, reason, actorID, &oid)
}

// ledger appends one movement to the inventory ledger.
func ledger(ctx context.Context, tx pgx.Tx, productID uuid.UUID, variantID *uuid.UUID, kind string, qty int64, reason, actorID string, orderID *uuid.UUID) error {
	_, err := tx.Exec(ctx, `INSERT INTO inventory_ledger (product_id, variant_id, kind, quantity, reason, actor_id, order_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, productID, variantID, kind, qty, reason, actorID, orderID)
	return err
}

// LockReservation implements inventoryTx.
func (t pgInventoryTx) LockReservation(ctx context.Context, oid uuid.UUID) (string, bool, error) {
	var status string
	err := t.tx.QueryRow(ctx, `SELECT status FROM reservations WHERE order_id = $1 FOR UPDATE`, oid).Scan(&status)
	if isNoRows(err) {
		return "", false, nil
	}
	return status, err == nil, err
}

// Tombstone implements inventoryTx.
func (t pgInventoryTx) Tombstone(ctx context.Context, oid uuid.UUID, userID, reason string) (bool, error) {
	tag, err := t.tx.Exec(ctx, `INSERT INTO reservations (order_id, user_id, status, reason) VALUES ($1, $2, 'released', $3) ON CONFLICT DO NOTHING`, oid, userID, reason)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// SetReservation implements inventoryTx.
func (t pgInventoryTx) SetReservation(ctx context.Context, oid uuid.UUID, status, reason string) error {
	_, err := t.tx.Exec(ctx, `UPDATE reservations SET status = $2, reason = coalesce($3, reason), updated_at = now() WHERE order_id = $1`,
		oid, status, nullString(reason))
	return err
}

// DueReservations implements inventoryTx (FOR UPDATE SKIP LOCKED, so
// several instances sweep at once).
func (t pgInventoryTx) DueReservations(ctx context.Context, ttl time.Duration, limit int) ([]dueReservation, error) {
	rows, err := t.tx.Query(ctx, `SELECT order_id, user_id FROM reservations
		WHERE status = 'held' AND created_at < now() - make_interval(secs => $1)
		ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED`, ttl.Seconds(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var due []dueReservation
	for rows.Next() {
		var r dueReservation
		if err := rows.Scan(&r.orderID, &r.userID); err != nil {
			return nil, err
		}
		due = append(due, r)
	}
	return due, rows.Err()
}

// ForgetFile implements inventoryTx.
func (t pgInventoryTx) ForgetFile(ctx context.Context, fileID uuid.UUID) ([]productRow, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+productCols+` FROM products WHERE id IN (
		SELECT product_id FROM product_images WHERE file_id = $1
		UNION SELECT product_id FROM product_variants WHERE image_file_id = $1) ORDER BY id FOR UPDATE`, fileID)
	if err != nil {
		return nil, err
	}
	affected, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (productRow, error) { return scanProduct(r) })
	if err != nil {
		return nil, err
	}
	for _, p := range affected {
		if _, err := t.tx.Exec(ctx, `DELETE FROM product_images WHERE product_id = $1 AND file_id = $2`, p.ID, fileID); err != nil {
			return nil, err
		}
		if _, err := t.tx.Exec(ctx, `UPDATE product_variants SET image_file_id = NULL WHERE product_id = $1 AND image_file_id = $2`, p.ID, fileID); err != nil {
			return nil, err
		}
		if _, err := t.tx.Exec(ctx, `UPDATE products SET updated_at = now() WHERE id = $1`, p.ID); err != nil {
			return nil, err
		}
	}
	return affected, nil
}

// ForgetReviewImage implements inventoryTx.
func (t pgInventoryTx) ForgetReviewImage(ctx context.Context, fileID uuid.UUID) error {
	_, err := t.tx.Exec(ctx, `UPDATE reviews SET image_file_ids = array_remove(image_file_ids, $1::uuid)
		WHERE image_file_ids @> ARRAY[$1::uuid]`, fileID)
	return err
}

// Event implements inventoryTx.
func (t pgInventoryTx) Event(ctx context.Context, typ string, data any) error {
	_, err := pg.AddEvent(ctx, t.tx, typ, data)
	return err
}
