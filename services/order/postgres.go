package order

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/pg"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the order database's migrations (files NNNN_name.sql at
// the root), for pg.Migrate.
var Migrations = pg.Dir(migrationFiles, "migrations")

// pgStore is the PostgreSQL adapter of the order service (the store the
// domain declares in store.go): orders with their items, shipments, return
// requests, idempotency answers and payment attempts. All of the service's
// SQL is in this file. Safe for concurrent use.
type pgStore struct {
	pool *pgxpool.Pool
}

var _ store = (*pgStore)(nil)

// newPGStore returns the store over a migrated pool.
func newPGStore(pool *pgxpool.Pool) *pgStore { return &pgStore{pool: pool} }

const orderColumns = `id, number, charge_seq, user_id, status, status_reason, currency, subtotal, total, shipping_address,
	payment_status, payment_method, payment_token, card_brand, card_last4, charge_ref, charge_lease, charge_holder,
	carrier, tracking_number, reserved_at, paid_at, shipped_at, delivered_at, closed_at, created_at, updated_at`

func scanOrder(row pgx.Row) (*Order, error) {
	var o Order
	var addr []byte
	var holder *string
	err := row.Scan(&o.ID, &o.Number, &o.ChargeSeq, &o.UserID, &o.Status, &o.StatusReason, &o.Currency, &o.Subtotal, &o.Total, &addr,
		&o.PaymentStatus, &o.PaymentMethod, &o.PaymentToken, &o.CardBrand, &o.CardLast4, &o.ChargeRef, &o.ChargeLease, &holder,
		&o.Carrier, &o.TrackingNumber, &o.ReservedAt, &o.PaidAt, &o.ShippedAt, &o.DeliveredAt, &o.ClosedAt,
		&o.CreatedAt, &o.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if holder != nil {
		o.ChargeHolder = *holder
	}
	if err := json.Unmarshal(addr, &o.Address); err != nil {
		return nil, fmt.Errorf("order %s: address: %w", o.ID, err)
	}
	return &o, nil
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

// Get implements store.
func (s *pgStore) Get(ctx context.Context, id string) (*Order, error) {
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
func (s *pgStore) Idempotency(ctx context.Context, userID, key string) (*idemRecord, error) {
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

// Create implements store.
func (s *pgStore) Create(ctx context.Context, o *Order, rec idemRecord) error {
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
		rec.OrderID = o.ID
		if err := insertIdempotency(ctx, tx, rec); err != nil {
			return err
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
		return addEvents(ctx, tx, o.pending.events)
	})
	if err == nil {
		o.pending = change{}
	}
	return err
}

// insertIdempotency stores rec; a key the user already used is
// errDuplicateKey.
func insertIdempotency(ctx context.Context, tx pgx.Tx, rec idemRecord) error {
	if _, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (user_id, key, request_hash, order_id, reply) VALUES ($1, $2, $3, $4, $5)`,
		rec.UserID, rec.Key, rec.RequestHash, rec.OrderID, rec.Reply); err != nil {
		if pg.IsUniqueViolation(err, "idempotency_keys_pkey") {
			return errDuplicateKey
		}
		return fmt.Errorf("insert idempotency key: %w", err)
	}
	return nil
}

func addEvents(ctx context.Context, tx pgx.Tx, evs []outEvent) error {
	for _, ev := range evs {
		if _, err := pg.AddEvent(ctx, tx, ev.Type, ev.Data); err != nil {
			return fmt.Errorf("outbox %s: %w", ev.Type, err)
		}
	}
	return nil
}

// Update implements store.
func (s *pgStore) Update(ctx context.Context, id string, fn updateFunc) (*Order, error) {
	var out *Order
	err := pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		out, err = updateIn(ctx, tx, id, fn)
		return err
	})
	return out, err
}

// UpdateOnce implements store.
func (s *pgStore) UpdateOnce(ctx context.Context, ev contracts.Event, id string, fn updateFunc) (*Order, error) {
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
	err = fn(o)
	if errors.Is(err, errNoChange) {
		o.pending = change{}
		return o, nil
	}
	if err != nil {
		return nil, err
	}
	if err := saveOrder(ctx, tx, o); err != nil {
		return nil, err
	}
	o.pending = change{}
	return o, nil
}

// saveOrder writes o and the change recorded on it (see change).
func saveOrder(ctx context.Context, tx pgx.Tx, o *Order) error {
	var holder *string // a lease released (nil) has no holder
	if o.ChargeLease != nil && o.ChargeHolder != "" {
		holder = &o.ChargeHolder
	}
	if _, err := tx.Exec(ctx, `UPDATE orders SET status = $2, status_reason = $3, payment_status = $4, charge_ref = $5,
		charge_lease = $6, carrier = $7, tracking_number = $8, reserved_at = $9, paid_at = $10, shipped_at = $11,
		delivered_at = $12, closed_at = $13, updated_at = $14, charge_seq = $15, payment_token = $16, card_brand = $17,
		card_last4 = $18, charge_holder = $19 WHERE id = $1`,
		o.ID, o.Status, o.StatusReason, o.PaymentStatus, o.ChargeRef, o.ChargeLease, o.Carrier, o.TrackingNumber,
		o.ReservedAt, o.PaidAt, o.ShippedAt, o.DeliveredAt, o.ClosedAt, o.UpdatedAt, o.ChargeSeq, o.PaymentToken,
		o.CardBrand, o.CardLast4, holder); err != nil {
		return fmt.Errorf("save order %s: %w", o.ID, err)
	}
	c := &o.pending
	if c.reply != nil {
		if err := insertIdempotency(ctx, tx, *c.reply); err != nil {
			return err
		}
	}
	for _, a := range c.attempts {
		if err := insertAttempt(ctx, tx, o.ID, a); err != nil {
			return err
		}
	}
	for _, id := range c.shipments {
		if err := insertShipment(ctx, tx, o.ID, o.shipment(id)); err != nil {
			return err
		}
	}
	for _, id := range c.delivered {
		if _, err := tx.Exec(ctx, `UPDATE shipments SET delivered_at = $2 WHERE id = $1`, id, o.shipment(id).DeliveredAt); err != nil {
			return fmt.Errorf("deliver shipment %s: %w", id, err)
		}
	}
	for _, id := range c.returns {
		if err := insertReturn(ctx, tx, o.findReturn(id)); err != nil {
			return err
		}
	}
	for _, id := range c.decided {
		if slices.Contains(c.returns, id) {
			continue // inserted as it is
		}
		r := o.findReturn(id)
		if _, err := tx.Exec(ctx, `UPDATE return_requests SET status = $2, note = $3, decided_by = $4, decided_at = $5,
			refund_ref = $6, refunded_at = $7, refund_lease = CASE WHEN $2 = 'refunded' THEN NULL ELSE refund_lease END
			WHERE id = $1`, r.ID, r.Status, r.Note, r.DecidedBy, r.DecidedAt, r.RefundRef, r.RefundedAt); err != nil {
			return fmt.Errorf("save return %s: %w", r.ID, err)
		}
	}
	return addEvents(ctx, tx, c.events)
}

// insertAttempt appends a payment attempt of orderID, numbered after the
// previous ones.
func insertAttempt(ctx context.Context, tx pgx.Tx, orderID string, a attempt) error {
	_, err := tx.Exec(ctx, `INSERT INTO payments (order_id, attempt, kind, status, amount, currency, provider_ref, error, card_last4)
		SELECT $1, coalesce(max(attempt), 0) + 1, $2, $3, $4, $5, $6, $7, $8 FROM payments WHERE order_id = $1`,
		orderID, a.Kind, a.Status, a.Amount, a.Currency, a.ProviderRef, a.Error, a.Last4)
	if err != nil {
		return fmt.Errorf("record payment attempt: %w", err)
	}
	return nil
}

// ClaimCharge takes the charge lease of a reserved order whose lease is
// free or expired, for lease, as holder; it reports whether it got it. The
// lease keeps two instances (or the sweeper and the event handler) from
// charging the same order at once; the provider's idempotency is the
// backstop.
func (s *pgStore) ClaimCharge(ctx context.Context, id string, lease time.Duration, holder string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE orders SET charge_lease = now() + $2 * interval '1 microsecond', charge_holder = NULLIF($3, '')
		WHERE id = $1 AND status = 'reserved' AND (charge_lease IS NULL OR charge_lease < now())`, id, lease.Microseconds(), holder)
	if err != nil {
		return false, fmt.Errorf("claim charge %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReclaimHeld renews, for lease, the running charge leases holder holds
// on reserved orders and returns those orders, oldest first: at Start,
// the charges a crash of holder's previous run left in flight.
func (s *pgStore) ReclaimHeld(ctx context.Context, holder string, lease time.Duration, limit int) ([]string, error) {
	return s.ids(ctx, `UPDATE orders SET charge_lease = now() + $2 * interval '1 microsecond'
		WHERE id IN (SELECT id FROM orders WHERE status = 'reserved' AND charge_holder = $1 AND charge_lease >= now()
			ORDER BY updated_at LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING id`, holder, lease.Microseconds(), limit)
}

// StuckReserved returns reserved orders whose charge lease is free or
// expired (a crash or a failed attempt left them without a final payment
// outcome), oldest first.
func (s *pgStore) StuckReserved(ctx context.Context, limit int) ([]string, error) {
	return s.ids(ctx, `SELECT id FROM orders WHERE status = 'reserved' AND (charge_lease IS NULL OR charge_lease < now())
		ORDER BY updated_at LIMIT $1`, limit)
}

// StalePending returns orders pending for longer than olderThan.
func (s *pgStore) StalePending(ctx context.Context, olderThan time.Duration, limit int) ([]string, error) {
	return s.ids(ctx, `SELECT id FROM orders WHERE status = 'pending' AND updated_at < now() - $2 * interval '1 microsecond'
		ORDER BY updated_at LIMIT $1`, limit, olderThan.Microseconds())
}

func (s *pgStore) ids(ctx context.Context, sql string, args ...any) ([]string, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// PurgeIdempotency deletes idempotency keys older than olderThan.
func (s *pgStore) PurgeIdempotency(ctx context.Context, olderThan time.Duration) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < now() - $1 * interval '1 microsecond'`,
		olderThan.Microseconds())
	return tag.RowsAffected(), err
}

// List returns one page of orders, newest first, with the next cursor.
func (s *pgStore) List(ctx context.Context, f listFilter) ([]*Order, string, error) {
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
func (s *pgStore) PaymentAttempts(ctx context.Context, orderID string) ([]attempt, error) {
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

// Unpaid implements store.
func (s *pgStore) Unpaid(ctx context.Context, olderThan time.Duration, limit int) ([]string, error) {
	return s.ids(ctx, `SELECT id FROM orders WHERE status = 'awaiting_payment'
		AND created_at < now() - $2 * interval '1 microsecond' ORDER BY created_at LIMIT $1`, limit, olderThan.Microseconds())
}

// Unrefunded implements store.
func (s *pgStore) Unrefunded(ctx context.Context, limit int) ([]string, error) {
	return s.ids(ctx, `SELECT id FROM orders WHERE status IN ('cancelled', 'refunded')
		AND payment_status = 'succeeded' ORDER BY updated_at LIMIT $1`, limit)
}

// GetReturn implements store.
func (s *pgStore) GetReturn(ctx context.Context, id string) (*Return, error) {
	rs, err := queryReturns(ctx, s.pool, `r.id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, contracts.NotFound("return request")
	}
	return rs[0], nil
}

// ListReturns implements store.
func (s *pgStore) ListReturns(ctx context.Context, f returnFilter) ([]*Return, string, error) {
	args := []any{f.Limit + 1}
	where := "TRUE"
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.SellerID != "" {
		where += " AND r.seller_id = " + arg(f.SellerID)
	}
	if f.Status != "" {
		where += " AND r.status = " + arg(f.Status)
	}
	if f.Cursor != "" {
		where += " AND r.id < " + arg(f.Cursor) + "::uuid"
	}
	rs, err := queryReturns(ctx, s.pool, where+" ORDER BY r.id DESC LIMIT $1", args...)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rs) > f.Limit {
		rs = rs[:f.Limit]
		next = rs[len(rs)-1].ID
	}
	return rs, next, nil
}

// ClaimReturnRefund implements store.
func (s *pgStore) ClaimReturnRefund(ctx context.Context, returnID string, lease time.Duration) (refundClaim, bool, error) {
	var c refundClaim
	err := s.pool.QueryRow(ctx, `UPDATE return_requests r SET refund_lease = now() + $2 * interval '1 microsecond'
		FROM orders o WHERE r.id = $1 AND o.id = r.order_id AND r.status = 'approved'
			AND (r.refund_lease IS NULL OR r.refund_lease < now())
		RETURNING o.charge_ref, r.amount, r.currency`, returnID, lease.Microseconds()).Scan(&c.ChargeRef, &c.Amount.Amount, &c.Amount.Currency)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("claim refund of return %s: %w", returnID, err)
	}
	return c, true, nil
}

// ReleaseReturnRefund implements store.
func (s *pgStore) ReleaseReturnRefund(ctx context.Context, returnID string, retryAfter time.Duration) error {
	_, err := s.pool.Exec(ctx, `UPDATE return_requests SET refund_lease = now() + $2 * interval '1 microsecond'
		WHERE id = $1 AND status = 'approved'`, returnID, retryAfter.Microseconds())
	if err != nil {
		return fmt.Errorf("release refund lease of return %s: %w", returnID, err)
	}
	return nil
}

// ReturnsToRefund implements store.
func (s *pgStore) ReturnsToRefund(ctx context.Context, limit int) ([]returnRef, error) {
	rows, err := s.pool.Query(ctx, `SELECT id::text, order_id::text FROM return_requests
		WHERE status = 'approved' AND (refund_lease IS NULL OR refund_lease < now()) ORDER BY decided_at LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (returnRef, error) {
		var p returnRef
		return p, r.Scan(&p.ID, &p.OrderID)
	})
}

// NextNumber takes the next order number.
func (s *pgStore) NextNumber(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT nextval('order_numbers')`).Scan(&n); err != nil {
		return 0, fmt.Errorf("next order number: %w", err)
	}
	return n, nil
}

// IDByNumber returns the id of the order numbered n, or not_found.
func (s *pgStore) IDByNumber(ctx context.Context, n int64) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT id::text FROM orders WHERE number = $1`, n).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", contracts.NotFound("order")
	}
	if err != nil {
		return "", fmt.Errorf("find order number %d: %w", n, err)
	}
	return id, nil
}

// ReturnOrder returns the order of the return request id, or not_found.
func (s *pgStore) ReturnOrder(ctx context.Context, id string) (string, error) {
	var orderID string
	err := s.pool.QueryRow(ctx, `SELECT order_id::text FROM return_requests WHERE id = $1`, id).Scan(&orderID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", contracts.NotFound("return request")
	}
	if err != nil {
		return "", fmt.Errorf("load return %s: %w", id, err)
	}
	return orderID, nil
}

// insertReturn stores a new return request and its lines.
func insertReturn(ctx context.Context, tx pgx.Tx, r *Return) error {
	if _, err := tx.Exec(ctx, `INSERT INTO return_requests (id, order_id, user_id, seller_id, status, reason, amount, currency, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		r.ID, r.OrderID, r.UserID, r.SellerID, r.Status, r.Reason, r.Amount, r.Currency, r.CreatedAt); err != nil {
		return fmt.Errorf("insert return: %w", err)
	}
	lines := make([]int32, len(r.Lines))
	qty := make([]int64, len(r.Lines))
	for i, l := range r.Lines {
		lines[i], qty[i] = int32(l.Line), l.Quantity
	}
	if _, err := tx.Exec(ctx, `INSERT INTO return_lines (return_id, order_id, line, quantity)
		SELECT $1, $2, unnest($3::int[]), unnest($4::bigint[])`, r.ID, r.OrderID, lines, qty); err != nil {
		return fmt.Errorf("insert return lines: %w", err)
	}
	return nil
}

// queryReturns loads the return requests matching where (a condition on
// r, possibly followed by ORDER BY / LIMIT) with their lines.
func queryReturns(ctx context.Context, q queryer, where string, args ...any) ([]*Return, error) {
	rows, err := q.Query(ctx, `SELECT r.id, r.order_id, r.user_id, r.seller_id, r.status, r.reason, r.amount, r.currency,
		r.note, r.decided_by, r.refund_ref, r.created_at, r.decided_at, r.refunded_at FROM return_requests r WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("load returns: %w", err)
	}
	rs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*Return, error) {
		var r Return
		err := row.Scan(&r.ID, &r.OrderID, &r.UserID, &r.SellerID, &r.Status, &r.Reason, &r.Amount, &r.Currency,
			&r.Note, &r.DecidedBy, &r.RefundRef, &r.CreatedAt, &r.DecidedAt, &r.RefundedAt)
		return &r, err
	})
	if err != nil {
		return nil, fmt.Errorf("load returns: %w", err)
	}
	if len(rs) == 0 {
		return nil, nil
	}
	byID := make(map[string]*Return, len(rs))
	ids := make([]string, len(rs))
	for i, r := range rs {
		byID[r.ID], ids[i] = r, r.ID
	}
	lrows, err := q.Query(ctx, `SELECT l.return_id, l.line, l.quantity, i.product_id, coalesce(i.variant_id::text, ''), i.name, i.variant_name, i.sku, i.unit_price
		FROM return_lines l JOIN order_items i ON i.order_id = l.order_id AND i.line = l.line
		WHERE l.return_id = ANY($1::uuid[]) ORDER BY l.return_id, l.line`, ids)
	if err != nil {
		return nil, fmt.Errorf("load return lines: %w", err)
	}
	defer lrows.Close()
	for lrows.Next() {
		var id string
		var l ReturnLine
		if err := lrows.Scan(&id, &l.Line, &l.Quantity, &l.ProductID, &l.VariantID, &l.Name, &l.VariantName, &l.SKU, &l.UnitPrice); err != nil {
			return nil, fmt.Errorf("load return lines: %w", err)
		}
		if r := byID[id]; r != nil {
			r.Lines = append(r.Lines, l)
		}
	}
	if err := lrows.Err(); err != nil {
		return nil, fmt.Errorf("load return lines: %w", err)
	}
	return rs, nil
}

// insertShipment stores sh (a shipment of orderID) and its lines; a line
// shipped twice is a conflict (the primary key of shipment_lines).
func insertShipment(ctx context.Context, tx pgx.Tx, orderID string, sh *Shipment) error {
	if _, err := tx.Exec(ctx, `INSERT INTO shipments (id, order_id, seller_id, carrier, tracking_number, shipped_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, sh.ID, orderID, sh.SellerID, sh.Carrier, sh.TrackingNumber, sh.ShippedAt); err != nil {
		return fmt.Errorf("insert shipment: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO shipment_lines (order_id, line, shipment_id) SELECT $1, unnest($2::int[]), $3`,
		orderID, sh.Lines, sh.ID); err != nil {
		return fmt.Errorf("insert shipment lines: %w", err)
	}
	return nil
}

// loadFulfilment fills the shipments and return requests of those orders
// that can have them (hasFulfilment).
func loadFulfilment(ctx context.Context, q queryer, orders []*Order) error {
	byID := map[string]*Order{}
	var ids []string
	for _, o := range orders {
		o.Shipments, o.Returns = nil, nil
		if hasFulfilment(o.Status) {
			byID[o.ID] = o
			ids = append(ids, o.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := q.Query(ctx, `SELECT s.order_id, s.id, s.seller_id, s.carrier, s.tracking_number, s.shipped_at, s.delivered_at,
			coalesce(array_agg(l.line ORDER BY l.line) FILTER (WHERE l.line IS NOT NULL), '{}')
		FROM shipments s LEFT JOIN shipment_lines l ON l.shipment_id = s.id
		WHERE s.order_id = ANY($1::uuid[]) GROUP BY s.id ORDER BY s.shipped_at, s.id`, ids)
	if err != nil {
		return fmt.Errorf("load shipments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var orderID string
		var sh Shipment
		var lines []int32
		if err := rows.Scan(&orderID, &sh.ID, &sh.SellerID, &sh.Carrier, &sh.TrackingNumber, &sh.ShippedAt, &sh.DeliveredAt, &lines); err != nil {
			return fmt.Errorf("load shipments: %w", err)
		}
		for _, n := range lines {
			sh.Lines = append(sh.Lines, int(n))
		}
		if o := byID[orderID]; o != nil {
			o.Shipments = append(o.Shipments, sh)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load shipments: %w", err)
	}
	rets, err := queryReturns(ctx, q, `r.order_id = ANY($1::uuid[]) ORDER BY r.id`, ids)
	if err != nil {
		return err
	}
	for _, r := range rets {
		if o := byID[r.OrderID]; o != nil {
			o.Returns = append(o.Returns, *r)
		}
	}
	return nil
}
