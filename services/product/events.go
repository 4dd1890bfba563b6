package product

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
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

// effect is what a consumed event does, inside the transaction that
// records the event as handled; nil when the event asks for nothing.
type effect func(tx inventoryTx, ch *change) error

// handleEvent applies one consumed event exactly once (the store's
// HandleOnce records its id with the effect). A malformed payload is dead-lettered at
// once: retrying cannot fix it.
func (c *core) handleEvent(ctx context.Context, ev contracts.Event) error {
	var apply effect
	var err error
	switch ev.Type {
	case evOrderPlaced:
		apply, err = c.onOrderPlaced(ctx, ev)
	case evOrderCancelled:
		apply, err = c.onOrderCancelled(ctx, ev)
	case evOrderPaid:
		apply, err = c.onOrderPaid(ctx, ev)
	case evOrderRefunded:
		apply, err = c.onOrderRefunded(ctx, ev)
	case evFileDeleted:
		apply, err = c.onFileDeleted(ctx, ev)
	}
	if err != nil {
		return bus.Permanent(err)
	}
	if apply == nil {
		return nil // not ours (a broader binding), or nothing to do; ack
	}
	err = applyChangeOf(ctx, c, func(f func(inventoryTx) error) error { return c.stock.HandleOnce(ctx, ev, f) }, apply)
	if err != nil {
		return fmt.Errorf("%s %s: %w", ev.Type, ev.ID, err)
	}
	return nil
}

// orderID parses the order id of an order event.
func orderID(ev contracts.Event, s string) (uuid.UUID, error) {
	oid, err := uuid.Parse(s)
	if err != nil {
		return oid, contracts.InvalidArgument("order_id", "%s: malformed order_id", ev.Type)
	}
	return oid, nil
}

// onOrderPlaced reserves the order's lines (all or none).
func (c *core) onOrderPlaced(ctx context.Context, ev contracts.Event) (effect, error) {
	var o orderPlaced
	if err := ev.Decode(&o); err != nil {
		return nil, err
	}
	if _, err := orderID(ev, o.OrderID); err != nil {
		return nil, err
	}
	return func(tx inventoryTx, ch *change) error { return reserve(ctx, tx, o, ch) }, nil
}

// onOrderCancelled releases the order's held stock, or returns its sold
// units when it was cancelled after payment.
func (c *core) onOrderCancelled(ctx context.Context, ev contracts.Event) (effect, error) {
	var o orderCancelled
	if err := ev.Decode(&o); err != nil {
		return nil, err
	}
	oid, err := orderID(ev, o.OrderID)
	if err != nil {
		return nil, err
	}
	return func(tx inventoryTx, ch *change) error {
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
	}, nil
}

// onOrderPaid turns the order's held stock into sold stock.
func (c *core) onOrderPaid(ctx context.Context, ev contracts.Event) (effect, error) {
	var o orderRef
	if err := ev.Decode(&o); err != nil {
		return nil, err
	}
	oid, err := orderID(ev, o.OrderID)
	if err != nil {
		return nil, err
	}
	return func(tx inventoryTx, ch *change) error {
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
	}, nil
}

// onOrderRefunded returns the units of a refunded order that was never
// shipped.
func (c *core) onOrderRefunded(ctx context.Context, ev contracts.Event) (effect, error) {
	var o contracts.OrderRefunded
	if err := ev.Decode(&o); err != nil {
		return nil, err
	}
	oid, err := orderID(ev, o.OrderID)
	if err != nil {
		return nil, err
	}
	if o.Status != contracts.OrderStatusRefunded || o.Shipped {
		// A cancelled order's stock follows order.cancelled; shipped
		// goods are with the buyer.
		return nil, nil
	}
	return func(tx inventoryTx, ch *change) error { return refundUnshipped(ctx, tx, oid, o.UserID, ch) }, nil
}

// onFileDeleted removes a deleted file from products and reviews.
func (c *core) onFileDeleted(ctx context.Context, ev contracts.Event) (effect, error) {
	var f fileDeleted
	if err := ev.Decode(&f); err != nil {
		return nil, err
	}
	fid, err := uuid.Parse(f.FileID)
	if err != nil {
		return nil, contracts.InvalidArgument("file_id", "file.deleted: malformed file_id")
	}
	return func(tx inventoryTx, ch *change) error {
		if err := forgetFile(ctx, tx, fid, ch); err != nil {
			return err
		}
		return tx.ForgetReviewImage(ctx, fid)
	}, nil
}

// forgetFile removes a deleted file from the images of products and their
// variants, announcing each product changed.
func forgetFile(ctx context.Context, tx inventoryTx, fileID uuid.UUID, ch *change) error {
	affected, err := tx.ForgetFile(ctx, fileID)
	if err != nil {
		return err
	}
	for _, p := range affected {
		ch.product(p.ID.String(), p.Slug)
		if err := tx.Event(ctx, contracts.EventProductUpdated, productEventOf(p)); err != nil {
			return err
		}
	}
	return nil
}
