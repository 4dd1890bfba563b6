package product

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/pg"
)

// Event types the product service consumes.
const (
	evOrderPlaced    = "order.placed"
	evOrderCancelled = "order.cancelled"
	evOrderPaid      = "order.paid"
	evOrderRefunded  = "order.refunded"
	evFileDeleted    = "file.deleted"
)

// bindings are the routing keys of the events.product queue.
var bindings = []string{evOrderPlaced, evOrderCancelled, evOrderPaid, evOrderRefunded, evFileDeleted}

// fileDeleted mirrors the payload of file.deleted (the file service's).
type fileDeleted struct {
	FileID  string `json:"file_id"`
	OwnerID string `json:"owner_id"`
}

// handleEvent applies one consumed event exactly once (pg.HandleOnce
// records its id with the effect). A malformed payload is dead-lettered at
// once: retrying cannot fix it.
func (c *core) handleEvent(ctx context.Context, ev contracts.Event) error {
	var apply func(tx pgx.Tx, ch *change) error
	switch ev.Type {
	case evOrderPlaced:
		var o orderPlaced
		if err := ev.Decode(&o); err != nil {
			return bus.Permanent(err)
		}
		if _, err := uuid.Parse(o.OrderID); err != nil {
			return bus.Permanent(contracts.InvalidArgument("order_id", "order.placed: malformed order_id"))
		}
		apply = func(tx pgx.Tx, ch *change) error { return reserve(ctx, tx, o, ch) }
	case evOrderCancelled:
		var o orderCancelled
		if err := ev.Decode(&o); err != nil {
			return bus.Permanent(err)
		}
		oid, err := uuid.Parse(o.OrderID)
		if err != nil {
			return bus.Permanent(contracts.InvalidArgument("order_id", "order.cancelled: malformed order_id"))
		}
		apply = func(tx pgx.Tx, ch *change) error {
			err := cancelOrder(ctx, tx, oid, o, ch)
			if errors.Is(err, errSoldNotPaid) {
				// The units were sold (order.paid) but the cancellation
				// says the order was not paid: the two services disagree.
				// Nothing is put back blindly; make it visible.
				c.log.Error("order cancelled with sold stock but not as paid; stock left alone",
					"order_id", oid, "prev_status", o.PrevStatus, "refunded", o.Refunded)
				return nil
			}
			return err
		}
	case evOrderPaid:
		var o orderRef
		if err := ev.Decode(&o); err != nil {
			return bus.Permanent(err)
		}
		oid, err := uuid.Parse(o.OrderID)
		if err != nil {
			return bus.Permanent(contracts.InvalidArgument("order_id", "order.paid: malformed order_id"))
		}
		apply = func(tx pgx.Tx, ch *change) error {
			err := commit(ctx, tx, oid, o.UserID, ch)
			if errors.Is(err, errLostReservation) {
				// The payment arrived after the reservation was released
				// (expired or cancelled): the units may be sold to someone
				// else already. Nothing is taken here; the order service
				// owns the refund decision. Make it visible.
				c.log.Error("order paid without held stock", "order_id", oid)
				return nil
			}
			return err
		}
	case evOrderRefunded:
		var o contracts.OrderRefunded
		if err := ev.Decode(&o); err != nil {
			return bus.Permanent(err)
		}
		oid, err := uuid.Parse(o.OrderID)
		if err != nil {
			return bus.Permanent(contracts.InvalidArgument("order_id", "order.refunded: malformed order_id"))
		}
		if o.Status != contracts.OrderStatusRefunded || o.Shipped {
			// A cancelled order's stock follows order.cancelled; shipped
			// goods are with the buyer.
			return nil
		}
		apply = func(tx pgx.Tx, ch *change) error { return refundUnshipped(ctx, tx, oid, o.UserID, ch) }
	case evFileDeleted:
		var f fileDeleted
		if err := ev.Decode(&f); err != nil {
			return bus.Permanent(err)
		}
		fid, err := uuid.Parse(f.FileID)
		if err != nil {
			return bus.Permanent(contracts.InvalidArgument("file_id", "file.deleted: malformed file_id"))
		}
		apply = func(tx pgx.Tx, ch *change) error {
			if err := forgetFile(ctx, tx, fid, ch); err != nil {
				return err
			}
			return forgetReviewImage(ctx, tx, fid)
		}
	default:
		return nil // not ours (a broader binding); ack
	}
	err := c.applyChange(ctx, func(f func(pgx.Tx) error) error { return pg.HandleOnce(ctx, c.pool, Name, ev, f) }, apply)
	if err != nil {
		return fmt.Errorf("%s %s: %w", ev.Type, ev.ID, err)
	}
	return nil
}
