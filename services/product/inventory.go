package product

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/opencommerce/opencommerce/contracts"
)

// inventory is product.inventory.get: the stock of a product and its
// variants, and its ledger newest first (its seller and admins only).
func (c *core) inventory(ctx context.Context, actor contracts.Actor, idStr string, page contracts.Page) (*contracts.Inventory, error) {
	id, err := parseID(idStr, "product")
	if err != nil {
		return nil, err
	}
	page = page.Normalize()
	before := int64(1<<62 - 1)
	if page.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(page.Cursor)
		if err == nil {
			before, err = strconv.ParseInt(string(b), 10, 64)
		}
		if err != nil {
			return nil, contracts.InvalidArgument("cursor", "malformed cursor")
		}
	}
	seller, inv, seq, err := c.catalog.Inventory(ctx, id, before, page.Limit+1)
	if err != nil {
		return nil, err
	}
	if !actor.Can(seller) {
		return nil, contracts.PermissionDenied("only the product's seller or an admin sees its inventory")
	}
	if len(inv.Ledger) > page.Limit {
		inv.Ledger = inv.Ledger[:page.Limit]
		inv.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(seq[page.Limit-1], 10)))
	}
	return inv, nil
}

// validAdjustment validates a stock adjustment (kind adjustment by
// default; incoming stock only comes in); it returns the variant, if any.
func validAdjustment(in *contracts.InventoryAdjustRequest) (*uuid.UUID, error) {
	if in.Adjust == 0 || in.Adjust > maxQuantity || in.Adjust < -maxQuantity {
		return nil, contracts.InvalidArgument("adjust", "adjust must be a non-zero number of units between -%d and %d", maxQuantity, maxQuantity)
	}
	if err := validText("reason", in.Reason, 1, maxReasonLen); err != nil {
		return nil, err
	}
	switch in.Kind {
	case "":
		in.Kind = contracts.LedgerAdjustment
	case contracts.LedgerAdjustment:
	case contracts.LedgerIncoming:
		if in.Adjust < 0 {
			return nil, contracts.InvalidArgument("adjust", "incoming stock must be positive")
		}
	default:
		return nil, contracts.InvalidArgument("kind", "kind must be adjustment or incoming")
	}
	if in.VariantID == "" {
		return nil, nil
	}
	v, err := parseBodyID(in.VariantID, "variant_id")
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// adjustInventory is product.inventory.adjust: available stock moves
// (never below zero) and the ledger says why; the answer is the inventory.
func (c *core) adjustInventory(ctx context.Context, actor contracts.Actor, idStr string, in contracts.InventoryAdjustRequest) (*contracts.Inventory, error) {
	id, err := parseID(idStr, "product")
	if err != nil {
		return nil, err
	}
	vid, err := validAdjustment(&in)
	if err != nil {
		return nil, err
	}
	err = c.writeCatalog(ctx, func(tx catalogTx, ch *change) error {
		p, err := lockOwned(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		ok, err := tx.AddStock(ctx, id, vid, in.Adjust)
		if err != nil {
			return err
		}
		if !ok {
			if vid != nil {
				has, err := tx.HasVariant(ctx, id, *vid)
				if err != nil {
					return err
				}
				if !has {
					return contracts.InvalidArgument("variant_id", "variant not found on this product")
				}
			}
			return contracts.Errorf(contracts.CodeFailedPrecondition, "not enough available stock to remove %d units", -in.Adjust)
		}
		if err := tx.Ledger(ctx, id, vid, in.Kind, in.Adjust, in.Reason, actor.ID); err != nil {
			return err
		}
		ch.product(id.String(), p.Slug)
		return tx.Event(ctx, contracts.EventProductUpdated, productEventOf(p))
	})
	if err != nil {
		return nil, err
	}
	return c.inventory(ctx, actor, id.String(), contracts.Page{})
}

// orderLine is one line of order.placed.
type orderLine struct {
	ProductID string `json:"product_id"`
	VariantID string `json:"variant_id,omitempty"`
	Quantity  int64  `json:"quantity"`
}

// orderPlaced mirrors the payload of order.placed (owned by the order
// service's contracts).
type orderPlaced struct {
	OrderID string      `json:"order_id"`
	UserID  string      `json:"user_id"`
	Items   []orderLine `json:"items"`
}

// orderRef mirrors order.paid (the fields used here).
type orderRef struct {
	OrderID string `json:"order_id"`
	UserID  string `json:"user_id"`
	Reason  string `json:"reason,omitempty"`
}

// stockLine is a validated, merged reservation line.
type stockLine struct {
	product uuid.UUID
	variant *uuid.UUID
	qty     int64
}

func (l stockLine) item() contracts.InventoryItem {
	it := contracts.InventoryItem{ProductID: l.product.String(), Quantity: l.qty}
	if l.variant != nil {
		it.VariantID = l.variant.String()
	}
	return it
}

// mergeLines validates and merges the lines of an order (the same product
// and variant twice count once with the sum), sorted by product then
// variant (product-level first) so that concurrent reservations lock rows
// in one order and cannot deadlock. Malformed lines come back as
// shortfalls.
func mergeLines(items []orderLine) ([]stockLine, []contracts.InventoryShortfall) {
	type key struct {
		p uuid.UUID
		v uuid.UUID
	}
	sum := map[key]*stockLine{}
	var bad []contracts.InventoryShortfall
	for _, it := range items {
		p, err := uuid.Parse(it.ProductID)
		var v uuid.UUID
		var verr error
		if it.VariantID != "" {
			v, verr = uuid.Parse(it.VariantID)
		}
		if err != nil || verr != nil || it.Quantity <= 0 || it.Quantity > maxQuantity {
			bad = append(bad, contracts.InventoryShortfall{ProductID: it.ProductID, VariantID: it.VariantID, Requested: it.Quantity})
			continue
		}
		k := key{p, v}
		if l, ok := sum[k]; ok {
			l.qty += it.Quantity
			continue
		}
		l := &stockLine{product: p, qty: it.Quantity}
		if it.VariantID != "" {
			vv := v
			l.variant = &vv
		}
		sum[k] = l
	}
	lines := make([]stockLine, 0, len(sum))
	for _, l := range sum {
		lines = append(lines, *l)
	}
	sort.Slice(lines, func(i, j int) bool {
		if lines[i].product != lines[j].product {
			return lines[i].product.String() < lines[j].product.String()
		}
		if lines[i].variant == nil || lines[j].variant == nil {
			return lines[i].variant == nil && lines[j].variant != nil
		}
		return lines[i].variant.String() < lines[j].variant.String()
	})
	return lines, bad
}

// take moves qty units of a line from stock to reserved, atomically and
// only if that many are available on an active product. It reports the
// product (for events) and whether the line's stock status changed.
func take(ctx context.Context, tx inventoryTx, l stockLine) (ok bool, p productRow, crossed bool, err error) {
	ok, p, after, err := tx.Take(ctx, l)
	if err != nil || !ok {
		return false, p, false, err
	}
	return true, p, contracts.StockStatusOf(after) != contracts.StockStatusOf(after+l.qty), nil
}

// reserve holds stock for every line of an order, or for none: all lines
// are taken in one transaction with UPDATE … WHERE stock >= qty, inside a
// savepoint that is rolled back when any line falls short. It writes
// inventory.reserved or inventory.rejected. An order seen before (a
// redelivery under a new event id, or an order cancelled before it was
// placed) reserves nothing again.
func reserve(ctx context.Context, tx inventoryTx, o orderPlaced, ch *change) error {
	oid, err := uuid.Parse(o.OrderID)
	if err != nil {
		return contracts.InvalidArgument("order_id", "order.placed: malformed order_id %q", o.OrderID)
	}
	fresh, err := tx.NewReservation(ctx, oid, o.UserID)
	if err != nil || !fresh {
		return err
	}
	lines, short := mergeLines(o.Items)
	if len(lines) == 0 && len(short) == 0 {
		short = append(short, contracts.InventoryShortfall{}) // an order without items cannot be reserved
	}
	got, short, err := takeAll(ctx, tx, lines, short)
	if err != nil {
		return err
	}
	if len(short) > 0 {
		if err := tx.SetReservation(ctx, oid, "rejected", contracts.RejectOutOfStock); err != nil {
			return err
		}
		return tx.Event(ctx, contracts.EventInventoryRejected, contracts.InventoryRejected{OrderID: oid.String(), Reason: contracts.RejectOutOfStock, Items: short})
	}
	return holdLines(ctx, tx, oid, o.UserID, got, ch)
}

// taken is a line whose units were taken from stock: the product as it
// is now, and whether its stock status crossed (a document change).
type taken struct {
	l       stockLine
	p       productRow
	crossed bool
}

// takeAll takes every line's units in a savepoint, all or none: with any
// shortfall (short on entry counts too) the savepoint is rolled back and
// the shortfalls, with what is available, are returned.
func takeAll(ctx context.Context, tx inventoryTx, lines []stockLine, short []contracts.InventoryShortfall) ([]taken, []contracts.InventoryShortfall, error) {
	var got []taken
	err := tx.Savepoint(ctx, func(sp inventoryTx) (bool, error) {
		for _, l := range lines {
			ok, p, crossed, err := take(ctx, sp, l)
			if err != nil {
				return false, err
			}
			if ok {
				got = append(got, taken{l, p, crossed})
				continue
			}
			n, err := sp.Available(ctx, l)
			if err != nil {
				return false, err
			}
			s := contracts.InventoryShortfall{ProductID: l.product.String(), Requested: l.qty, Available: n}
			if l.variant != nil {
				s.VariantID = l.variant.String()
			}
			short = append(short, s)
		}
		return len(short) == 0, nil
	})
	if err != nil {
		return nil, nil, err
	}
	if len(short) > 0 {
		return nil, short, nil
	}
	return got, nil, nil
}

// holdLines records a reservation's lines and their ledger entries,
// announces the documents whose stock status changed, and
// inventory.reserved.
func holdLines(ctx context.Context, tx inventoryTx, oid uuid.UUID, userID string, got []taken, ch *change) error {
	items := make([]contracts.InventoryItem, 0, len(got))
	for i, t := range got {
		if err := tx.AddLine(ctx, oid, i, t.l); err != nil {
			return err
		}
		if err := tx.OrderLedger(ctx, t.l, contracts.LedgerReservation, "order "+oid.String(), userID, oid); err != nil {
			return err
		}
		ch.product(t.l.product.String(), t.p.Slug)
		if t.crossed {
			if err := tx.Event(ctx, contracts.EventProductUpdated, productEventOf(t.p)); err != nil {
				return err
			}
		}
		items = append(items, t.l.item())
	}
	return tx.Event(ctx, contracts.EventInventoryReserved, contracts.InventoryReserved{OrderID: oid.String(), Items: items})
}

// moveHeld applies a held line's return to stock (release) or its sale
// (commit) and reports the product row for events.
func moveHeld(ctx context.Context, tx inventoryTx, l stockLine, release bool) (p productRow, crossed, found bool, err error) {
	back := int64(0)
	if release {
		back = l.qty
	}
	return moveUnits(ctx, tx, l, back, -l.qty)
}

// moveUnits adds dStock units to a line's available stock and dReserved to
// its reserved units, and reports the product row for events and whether
// the available stock changed its stock status.
func moveUnits(ctx context.Context, tx inventoryTx, l stockLine, dStock, dReserved int64) (p productRow, crossed, found bool, err error) {
	p, after, found, err := tx.MoveUnits(ctx, l, dStock, dReserved)
	if err != nil || !found {
		return p, false, found, err
	}
	return p, dStock != 0 && contracts.StockStatusOf(after) != contracts.StockStatusOf(after-dStock), true, nil
}

// putBack returns an order's lines to stock with move, writing a ledger
// entry of kind with note for each and marking the product changed (with
// product.updated when its stock status crossed a threshold). Lines whose
// product or variant was deleted since are skipped. It returns the items
// of the inventory.released event.
func putBack(ctx context.Context, tx inventoryTx, oid uuid.UUID, lines []stockLine, move func(stockLine) (productRow, bool, bool, error),
	kind, note, actorID string, ch *change) ([]contracts.InventoryItem, error) {
	items := make([]contracts.InventoryItem, 0, len(lines))
	for _, l := range lines {
		p, crossed, found, err := move(l)
		if err != nil {
			return nil, err
		}
		if !found {
			continue
		}
		if err := tx.OrderLedger(ctx, l, kind, note, actorID, oid); err != nil {
			return nil, err
		}
		ch.product(l.product.String(), p.Slug)
		if crossed {
			if err := tx.Event(ctx, contracts.EventProductUpdated, productEventOf(p)); err != nil {
				return nil, err
			}
		}
		items = append(items, l.item())
	}
	return items, nil
}

// release returns an order's held units to stock and writes
// inventory.released. A reservation not held (committed, returned,
// released, rejected) is left alone; an unknown order gets a released
// tombstone so a late order.placed reserves nothing.
//
// Reserve and release commute, whichever order they arrive in and however
// their transactions overlap (both run at READ COMMITTED; each
// inventoryTx step is one statement):
//   - release first: its tombstone is inserted; reserve's NewReservation
//     (INSERT … ON CONFLICT DO NOTHING) waits for it and then reserves
//     nothing (or, if the release rolled back, reserves normally).
//   - reserve first, still uncommitted when release reads: release's
//     LockReservation (SELECT … FOR UPDATE) does not see the row, its
//     Tombstone waits on the reservation's key and then inserts nothing.
//     That conflict means the reservation has committed meanwhile, so
//     release reads it again (a new statement sees it) and releases the
//     held units. Without the second read the units stayed held until the
//     sweeper expired them.
func release(ctx context.Context, tx inventoryTx, oid uuid.UUID, userID, reason, actorID string, ch *change) error {
	status, err := lockOrTombstone(ctx, tx, oid, userID, reason)
	if err != nil || status != "held" {
		return err
	}
	lines, err := tx.Lines(ctx, oid)
	if err != nil {
		return err
	}
	items, err := putBack(ctx, tx, oid, lines, func(l stockLine) (productRow, bool, bool, error) { return moveHeld(ctx, tx, l, true) },
		contracts.LedgerRelease, reason+": order "+oid.String(), actorID, ch)
	if err != nil {
		return err
	}
	if err := tx.SetReservation(ctx, oid, "released", reason); err != nil {
		return err
	}
	return tx.Event(ctx, contracts.EventInventoryReleased, contracts.InventoryReleased{OrderID: oid.String(), Reason: reason, Items: items})
}

// lockOrTombstone locks an order's reservation and returns its status, or,
// when the order has none, inserts a released tombstone and returns "".
// A tombstone that conflicts with a reservation committed concurrently
// (invisible to the first read, visible to the next statement at READ
// COMMITTED) is not inserted; the reservation is read and locked instead.
func lockOrTombstone(ctx context.Context, tx inventoryTx, oid uuid.UUID, userID, reason string) (string, error) {
	for range 3 {
		status, found, err := tx.LockReservation(ctx, oid)
		if err != nil || found {
			return status, err
		}
		inserted, err := tx.Tombstone(ctx, oid, userID, reason)
		if err != nil {
			return "", err
		}
		if inserted {
			return "", nil
		}
	}
	// Reservations are never deleted, so a conflict is followed by a
	// visible row; this is reached only if that ever changes.
	return "", fmt.Errorf("reservation of order %s neither readable nor insertable", oid)
}

// releaseReturned is the reason of the inventory.released written when an
// order's sold units come back to stock (the order was cancelled after it
// had been paid). The order service acts only on "expired".
const releaseReturned = "returned"

// orderCancelled mirrors order.cancelled (contracts.OrderCancelled; the
// fields used here).
type orderCancelled struct {
	OrderID    string `json:"order_id"`
	UserID     string `json:"user_id"`
	Reason     string `json:"reason,omitempty"`
	PrevStatus string `json:"prev_status,omitempty"`
	Refunded   bool   `json:"refunded,omitempty"`
}

// afterPayment reports whether the event says the order had been paid.
func (o orderCancelled) afterPayment() bool {
	return o.PrevStatus == contracts.OrderStatusPaid || o.Refunded
}

// cancelOrder applies order.cancelled. Held units go back to stock
// (release). Sold units (a committed reservation) go back to stock once,
// when the event says the order was cancelled after payment: the goods
// never left (an order is cancellable only before it ships), and the
// reservation becomes "returned" so that no later cancellation returns
// them again. A committed reservation whose cancellation does not say it
// was paid is left alone (errSoldNotPaid).
func cancelOrder(ctx context.Context, tx inventoryTx, oid uuid.UUID, o orderCancelled, ch *change) error {
	status, _, err := tx.LockReservation(ctx, oid)
	if err != nil {
		return err
	}
	if status == "committed" {
		if !o.afterPayment() {
			return errSoldNotPaid
		}
		return restock(ctx, tx, oid, o.UserID, "cancelled after payment", ch)
	}
	return release(ctx, tx, oid, o.UserID, contracts.ReleaseCancelled, o.UserID, ch)
}

// refundUnshipped puts back the sold units of an order refunded before it
// shipped (the goods never left). A reservation already returned (or never
// committed) is left alone, so a redelivery changes nothing.
func refundUnshipped(ctx context.Context, tx inventoryTx, oid uuid.UUID, actorID string, ch *change) error {
	status, _, err := tx.LockReservation(ctx, oid)
	if err != nil || status != "committed" {
		return err
	}
	return restock(ctx, tx, oid, actorID, "refunded before shipping", ch)
}

// errSoldNotPaid: order.cancelled for an order whose units were sold, but
// the event does not say it had been paid.
var errSoldNotPaid = fmt.Errorf("cancelled order's stock was sold but the cancellation does not say it was paid")

// restock returns the sold units of a committed reservation to stock
// (ledger kind incoming, with the order id), marks the reservation
// returned and writes inventory.released with reason "returned". The
// caller holds the reservation's row lock and has checked it is committed.
func restock(ctx context.Context, tx inventoryTx, oid uuid.UUID, actorID, why string, ch *change) error {
	lines, err := tx.Lines(ctx, oid)
	if err != nil {
		return err
	}
	reason := "returned: order " + oid.String() + " " + why
	items, err := putBack(ctx, tx, oid, lines, func(l stockLine) (productRow, bool, bool, error) { return moveUnits(ctx, tx, l, l.qty, 0) },
		contracts.LedgerIncoming, reason, actorID, ch)
	if err != nil {
		return err
	}
	if err := tx.SetReservation(ctx, oid, "returned", releaseReturned); err != nil {
		return err
	}
	return tx.Event(ctx, contracts.EventInventoryReleased, contracts.InventoryReleased{OrderID: oid.String(), Reason: releaseReturned, Items: items})
}

// commit turns an order's held units into sold ones (outgoing). It returns
// errLostReservation when the reservation had already been released (it
// expired before the payment arrived); nothing is changed then.
func commit(ctx context.Context, tx inventoryTx, oid uuid.UUID, userID string, ch *change) error {
	status, found, err := tx.LockReservation(ctx, oid)
	if err != nil {
		return err
	}
	if !found {
		return errLostReservation
	}
	switch status {
	case "committed", "returned":
		return nil // a redelivery: already sold (and perhaps returned since)
	case "held":
	default:
		return errLostReservation
	}
	lines, err := tx.Lines(ctx, oid)
	if err != nil {
		return err
	}
	for _, l := range lines {
		p, _, found, err := moveHeld(ctx, tx, l, false)
		if err != nil {
			return err
		}
		if !found {
			continue
		}
		if err := tx.OrderLedger(ctx, l, contracts.LedgerOutgoing, "sold: order "+oid.String(), userID, oid); err != nil {
			return err
		}
		ch.product(l.product.String(), p.Slug)
	}
	return tx.SetReservation(ctx, oid, "committed", "")
}

// errLostReservation: order.paid for an order whose stock is not held.
var errLostReservation = fmt.Errorf("no held reservation")

// sweepBatch is how many expired reservations one transaction releases.
const sweepBatch = 100

// sweepExpired releases reservations held longer than the TTL (reason
// "expired"), in batches; several instances may sweep at once (the store
// skips the reservations another holds). It returns how many it released.
func (c *core) sweepExpired(ctx context.Context) (int, error) {
	total := 0
	for {
		n := 0
		err := applyChangeOf(ctx, c, func(f func(inventoryTx) error) error { return c.stock.Write(ctx, f) }, func(tx inventoryTx, ch *change) error {
			n = 0
			due, err := tx.DueReservations(ctx, c.cfg.ReservationTTL, sweepBatch)
			if err != nil {
				return err
			}
			for _, r := range due {
				if err := release(ctx, tx, r.orderID, r.userID, contracts.ReleaseExpired, "system:reservation-sweeper", ch); err != nil {
					return err
				}
			}
			n = len(due)
			return nil
		})
		total += n
		if err != nil || n < sweepBatch {
			return total, err
		}
	}
}

// sweepLoop runs sweepExpired every interval until ctx ends.
func (c *core) sweepLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := c.sweepExpired(ctx); err != nil {
			if ctx.Err() == nil {
				c.log.Error("reservation sweep failed", "err", err)
			}
		} else if n > 0 {
			c.log.Info("released expired reservations", "count", n)
		}
	}
}
