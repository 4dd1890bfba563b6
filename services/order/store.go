package order

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/pg"
)

// store is the PostgreSQL adapter of the order service: orders with their
// items, idempotency keys and payment attempts. Updates take a closure so a
// transaction (row lock, save, outbox events) stays inside the adapter.
//
// It lives in package order rather than a sub-package because the domain
// types it persists are this package's; a sub-package would need a third
// one for the shared types and buy nothing.
type store struct {
	pool *pgxpool.Pool
}

// errDuplicateKey reports an idempotency key already used by the user.
var errDuplicateKey = errors.New("idempotency key already used")

// idemRecord is a stored checkout answer.
type idemRecord struct {
	RequestHash []byte
	OrderID     string
	Reply       []byte
}

const orderColumns = `id, number, charge_seq, user_id, status, status_reason, currency, subtotal, total, shipping_address,
	payment_status, payment_method, payment_token, card_brand, card_last4, charge_ref, charge_lease,
	carrier, tracking_number, reserved_at, paid_at, shipped_at, delivered_at, closed_at, created_at, updated_at`

func scanOrder(row pgx.Row) (*Order, error) {
	var o Order
	var addr []byte
	err := row.Scan(&o.ID, &o.Number, &o.ChargeSeq, &o.UserID, &o.Status, &o.StatusReason, &o.Currency, &o.Subtotal, &o.Total, &addr,
		&o.PaymentStatus, &o.PaymentMethod, &o.PaymentToken, &o.CardBrand, &o.CardLast4, &o.ChargeRef, &o.ChargeLease,
		&o.Carrier, &o.TrackingNumber, &o.ReservedAt, &o.PaidAt, &o.ShippedAt, &o.DeliveredAt, &o.ClosedAt,
		&o.CreatedAt, &o.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(addr, &o.Address); err != nil {
		return nil, fmt.Errorf("order %s: address: %w", o.ID, err)
	}
	return &o, nil
}

// execer is what both a pool and a transaction offer for writes.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// prefixed qualifies every column of a column list with prefix ("o.").
func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// queryer is what both a pool and a transaction offer.
type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// loadItems fills the items of orders (by id).
func loadItems(ctx context.Context, q queryer, orders []*Order) error {
	if len(orders) == 0 {
		return nil
	}
	byID := make(map[string]*Order, len(orders))
	ids := make([]string, len(orders))
	for i, o := range orders {
		byID[o.ID] = o
		ids[i] = o.ID
		o.Items = o.Items[:0]
	}
	rows, err := q.Query(ctx, `SELECT order_id, product_id, coalesce(variant_id::text, ''), seller_id, name, variant_name,
		variant_options, sku, quantity, unit_price, total
		FROM order_items WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, line`, ids)
	if err != nil {
		return fmt.Errorf("load items: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var it Item
		if err := rows.Scan(&id, &it.ProductID, &it.VariantID, &it.SellerID, &it.Name, &it.VariantName, &it.VariantOptions,
			&it.SKU, &it.Quantity, &it.UnitPrice, &it.Total); err != nil {
			return fmt.Errorf("load items: %w", err)
		}
		if o := byID[id]; o != nil {
			o.Items = append(o.Items, it)
		}
	}
	return rows.Err()
}

// Get returns the order id with its items, or not_found.
func (s *store) Get(ctx context.Context, id string) (*Order, error) {
	return getOrder(ctx, s.pool, id, false)
}

func getOrder(ctx context.Context, q queryer, id string, forUpdate bool) (*Order, error) {
	sql := `SELECT ` + orderColumns + ` FROM orders WHERE id = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	o, err := scanOrder(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, contracts.NotFound("order")
	}
	if err != nil {
		return nil, fmt.Errorf("load order %s: %w", id, err)
	}
	if err := loadItems(ctx, q, []*Order{o}); err != nil {
		return nil, err
	}
	if err := loadFulfilment(ctx, q, []*Order{o}); err != nil {
		return nil, err
	}
	return o, nil
}

// Idempotency returns the stored checkout answer of (userID, key), if any.
func (s *store) Idempotency(ctx context.Context, userID, key string) (*idemRecord, error) {
	var r idemRecord
	err := s.pool.QueryRow(ctx, `SELECT request_hash, order_id, reply FROM idempotency_keys WHERE user_id = $1 AND key = $2`,
		userID, key).Scan(&r.RequestHash, &r.OrderID, &r.Reply)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load idempotency key: %w", err)
	}
	return &r, nil
}

// Create stores a new order, its items, the idempotency record (key,
// request hash, reply) and ev in one transaction. It returns
// errDuplicateKey when the user already used key (the record is inserted
// first, so a concurrent twin waits for the first and then fails).
func (s *store) Create(ctx context.Context, o *Order, key string, hash, reply []byte, evs []outEvent) error {
	addr, err := json.Marshal(o.Address)
	if err != nil {
		return err
	}
	err = pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO orders (id, user_id, status, status_reason, currency, subtotal, total, shipping_address,
			payment_status, payment_method, payment_token, card_brand, card_last4, created_at, updated_at, number)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15)`,
			o.ID, o.UserID, o.Status, o.StatusReason, o.Currency, o.Subtotal, o.Total, addr,
			o.PaymentStatus, o.PaymentMethod, o.PaymentToken, o.CardBrand, o.CardLast4, o.CreatedAt, o.Number); err != nil {
			return fmt.Errorf("insert order: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (user_id, key, request_hash, order_id, reply) VALUES ($1, $2, $3, $4, $5)`,
			o.UserID, key, hash, o.ID, reply); err != nil {
			if pg.IsUniqueViolation(err, "idempotency_keys_pkey") {
				return errDuplicateKey
			}
			return fmt.Errorf("insert idempotency key: %w", err)
		}
		rows := make([][]any, len(o.Items))
		for i, it := range o.Items {
			var variant any
			if it.VariantID != "" {
				variant = it.VariantID
			}
			opts := it.VariantOptions
			if opts == nil {
				opts = []contracts.Property{}
			}
			rows[i] = []any{o.ID, i + 1, it.ProductID, variant, it.SellerID, it.Name, it.VariantName, opts, it.SKU,
				it.Quantity, it.UnitPrice, it.Total}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"order_items"},
			[]string{"order_id", "line", "product_id", "variant_id", "seller_id", "name", "variant_name", "variant_options", "sku",
				"quantity", "unit_price", "total"},
			pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("insert items: %w", err)
		}
		return addEvents(ctx, tx, evs)
	})
	return err
}

func addEvents(ctx context.Context, tx pgx.Tx, evs []outEvent) error {
	for _, ev := range evs {
		if _, err := pg.AddEvent(ctx, tx, ev.Type, ev.Data); err != nil {
			return fmt.Errorf("outbox %s: %w", ev.Type, err)
		}
	}
	return nil
}

// updateFunc changes an order locked for update and returns the events to
// write with the change. It may record payment attempts with tx. Returning
// errNoChange saves neither the order nor any events and makes Update
// return the order unchanged with a nil error — but the transaction still
// commits, so anything fn already wrote through tx (a payment attempt)
// stays: decide on errNoChange before writing.
type updateFunc func(tx pgx.Tx, o *Order) ([]outEvent, error)

// errNoChange is returned by an updateFunc that decided to change nothing.
var errNoChange = errors.New("no change")

// Update locks the order id, runs fn, saves the order and writes fn's events
// in one transaction, and returns the order as saved. fn may run more than
// once (transaction retries).
func (s *store) Update(ctx context.Context, id string, fn updateFunc) (*Order, error) {
	var out *Order
	err := pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		out, err = updateIn(ctx, tx, id, fn)
		return err
	})
	return out, err
}

// UpdateOnce is Update for the effect of an event: the event is recorded in
// the inbox in the same transaction, and a duplicate changes nothing
// (UpdateOnce returns nil, nil).
func (s *store) UpdateOnce(ctx context.Context, ev contracts.Event, id string, fn updateFunc) (*Order, error) {
	var out *Order
	err := pg.HandleOnce(ctx, s.pool, serviceName, ev, func(tx pgx.Tx) error {
		var err error
		out, err = updateIn(ctx, tx, id, fn)
		return err
	})
	return out, err
}

func updateIn(ctx context.Context, tx pgx.Tx, id string, fn updateFunc) (*Order, error) {
	o, err := getOrder(ctx, tx, id, true)
	if err != nil {
		return nil, err
	}
	evs, err := fn(tx, o)
	if errors.Is(err, errNoChange) {
		return o, nil
	}
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `UPDATE orders SET status = $2, status_reason = $3, payment_status = $4, charge_ref = $5,
		charge_lease = $6, carrier = $7, tracking_number = $8, reserved_at = $9, paid_at = $10, shipped_at = $11,
		delivered_at = $12, closed_at = $13, updated_at = $14, charge_seq = $15, payment_token = $16, card_brand = $17,
		card_last4 = $18 WHERE id = $1`,
		o.ID, o.Status, o.StatusReason, o.PaymentStatus, o.ChargeRef, o.ChargeLease, o.Carrier, o.TrackingNumber,
		o.ReservedAt, o.PaidAt, o.ShippedAt, o.DeliveredAt, o.ClosedAt, o.UpdatedAt, o.ChargeSeq, o.PaymentToken,
		o.CardBrand, o.CardLast4); err != nil {
		return nil, fmt.Errorf("save order %s: %w", id, err)
	}
	if err := addEvents(ctx, tx, evs); err != nil {
		return nil, err
	}
	return o, nil
}

// attempt is one payment attempt (a charge or a refund).
type attempt struct {
	Kind        string // charge, refund
	Status      string // succeeded, declined, error
	Amount      int64
	Currency    string
	ProviderRef string
	Error       string
	Last4       string // the card charged
}

// recordAttempt appends a payment attempt of orderID, numbered after the
// previous ones. q is a transaction or the pool.
func recordAttempt(ctx context.Context, q execer, orderID string, a attempt) error {
	_, err := q.Exec(ctx, `INSERT INTO payments (order_id, attempt, kind, status, amount, currency, provider_ref, error, card_last4)
		SELECT $1, coalesce(max(attempt), 0) + 1, $2, $3, $4, $5, $6, $7, $8 FROM payments WHERE order_id = $1`,
		orderID, a.Kind, a.Status, a.Amount, a.Currency, a.ProviderRef, a.Error, a.Last4)
	if err != nil {
		return fmt.Errorf("record payment attempt: %w", err)
	}
	return nil
}

// ClaimCharge takes the charge lease of a reserved order whose lease is
// free or expired, for lease; it reports whether it got it. The lease keeps
// two instances (or the sweeper and the event handler) from charging the
// same order at once; the provider's idempotency is the backstop.
func (s *store) ClaimCharge(ctx context.Context, id string, lease time.Duration) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE orders SET charge_lease = now() + $2 * interval '1 microsecond'
		WHERE id = $1 AND status = 'reserved' AND (charge_lease IS NULL OR charge_lease < now())`, id, lease.Microseconds())
	if err != nil {
		return false, fmt.Errorf("claim charge %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseCharge ends the charge lease of id after retryAfter, so the
// sweeper retries it then.
func (s *store) ReleaseCharge(ctx context.Context, id string, retryAfter time.Duration) error {
	_, err := s.pool.Exec(ctx, `UPDATE orders SET charge_lease = now() + $2 * interval '1 microsecond'
		WHERE id = $1 AND status = 'reserved'`, id, retryAfter.Microseconds())
	return err
}

// StuckReserved returns reserved orders whose charge lease is free or
// expired (a crash or a failed attempt left them without a final payment
// outcome), oldest first.
func (s *store) StuckReserved(ctx context.Context, limit int) ([]string, error) {
	return s.ids(ctx, `SELECT id FROM orders WHERE status = 'reserved' AND (charge_lease IS NULL OR charge_lease < now())
		ORDER BY updated_at LIMIT $1`, limit)
}

// StalePending returns orders pending for longer than olderThan.
func (s *store) StalePending(ctx context.Context, olderThan time.Duration, limit int) ([]string, error) {
	return s.ids(ctx, `SELECT id FROM orders WHERE status = 'pending' AND updated_at < now() - $2 * interval '1 microsecond'
		ORDER BY updated_at LIMIT $1`, limit, olderThan.Microseconds())
}

func (s *store) ids(ctx context.Context, sql string, args ...any) ([]string, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// PurgeIdempotency deletes idempotency keys older than olderThan.
func (s *store) PurgeIdempotency(ctx context.Context, olderThan time.Duration) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < now() - $1 * interval '1 microsecond'`,
		olderThan.Microseconds())
	return tag.RowsAffected(), err
}

// listFilter selects the orders of a list.
type listFilter struct {
	UserID   string // only this buyer's orders
	SellerID string // only orders with an item of this seller
	Status   string
	Cursor   string // orders older than this id
	Limit    int
}

// List returns one page of orders, newest first, with the next cursor.
func (s *store) List(ctx context.Context, f listFilter) ([]*Order, string, error) {
	args := []any{f.Limit + 1}
	where := "TRUE"
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.UserID != "" {
		where += " AND o.user_id = " + arg(f.UserID)
	}
	if f.Status != "" {
		where += " AND o.status = " + arg(f.Status)
	}
	if f.Cursor != "" {
		where += " AND o.id < " + arg(f.Cursor) + "::uuid"
	}
	from := "orders o"
	if f.SellerID != "" {
		// The seller's orders come from the items index; DISTINCT because
		// an order may hold several of their products.
		sub := "SELECT DISTINCT order_id FROM order_items WHERE seller_id = " + arg(f.SellerID)
		if f.Cursor != "" {
			sub += " AND order_id < " + arg(f.Cursor) + "::uuid"
		}
		from = "(" + sub + ") s JOIN orders o ON o.id = s.order_id"
	}
	rows, err := s.pool.Query(ctx, `SELECT `+prefixed("o.", orderColumns)+` FROM `+from+` WHERE `+where+
		` ORDER BY o.id DESC LIMIT $1`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list orders: %w", err)
	}
	orders, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Order, error) { return scanOrder(r) })
	if err != nil {
		return nil, "", fmt.Errorf("list orders: %w", err)
	}
	next := ""
	if len(orders) > f.Limit {
		orders = orders[:f.Limit]
		next = orders[len(orders)-1].ID
	}
	if err := loadItems(ctx, s.pool, orders); err != nil {
		return nil, "", err
	}
	if err := loadFulfilment(ctx, s.pool, orders); err != nil {
		return nil, "", err
	}
	return orders, next, nil
}

// PaymentAttempts returns the payment attempts of an order, in order.
func (s *store) PaymentAttempts(ctx context.Context, orderID string) ([]attempt, error) {
	rows, err := s.pool.Query(ctx, `SELECT kind, status, amount, currency, provider_ref, error, card_last4 FROM payments
		WHERE order_id = $1 ORDER BY attempt`, orderID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (attempt, error) {
		var a attempt
		err := r.Scan(&a.Kind, &a.Status, &a.Amount, &a.Currency, &a.ProviderRef, &a.Error, &a.Last4)
		return a, err
	})
}
