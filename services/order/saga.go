package order

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/services/order/payment"
)

// handleEvent is the consumer of the inventory's answers.
func (s *Service) handleEvent(ctx context.Context, ev contracts.Event) error {
	var err error
	switch ev.Type {
	case contracts.EventInventoryReserved:
		var p contracts.InventoryReserved
		if err := ev.Decode(&p); err != nil {
			return bus.Permanent(err)
		}
		err = s.onReserved(ctx, ev, p.OrderID)
	case contracts.EventInventoryRejected:
		var p contracts.InventoryRejected
		if err := ev.Decode(&p); err != nil {
			return bus.Permanent(err)
		}
		err = s.onRejected(ctx, ev, p.OrderID)
	case contracts.EventInventoryReleased:
		var p contracts.InventoryReleased
		if err := ev.Decode(&p); err != nil {
			return bus.Permanent(err)
		}
		if p.Reason != contracts.ReleaseExpired {
			return nil // the echo of our own cancellation
		}
		err = s.onExpired(ctx, ev, p.OrderID)
	default:
		return nil
	}
	if contracts.ErrorCode(err) == contracts.CodeNotFound {
		// Not one of our orders (or a malformed id): nothing to do, and
		// retrying will not change that.
		s.log.Warn("inventory event for an unknown order", "type", ev.Type, "event_id", ev.ID)
		return nil
	}
	return err
}

// validOrderID reports ids that can be looked up (a malformed one would be
// a database error rather than not found).
func validOrderID(id string) error {
	if !isUUID(id) {
		return contracts.NotFound("order")
	}
	return nil
}

// onReserved moves a pending order to reserved, takes its charge lease and
// charges it.
func (s *Service) onReserved(ctx context.Context, ev contracts.Event, orderID string) error {
	if err := validOrderID(orderID); err != nil {
		return err
	}
	claimed := false
	o, err := s.store.UpdateOnce(ctx, ev, orderID, func(_ pgx.Tx, o *Order) ([]outEvent, error) {
		claimed = false
		if o.Status != contracts.OrderStatusPending {
			return nil, errNoChange // late: timed out or cancelled meanwhile
		}
		now := s.now().UTC()
		if err := o.move(contracts.OrderStatusReserved, "reserved", now); err != nil {
			return nil, err
		}
		lease := now.Add(s.cfg.ChargeLease)
		o.ChargeLease = &lease
		claimed = true
		return nil, nil
	})
	if err != nil || !claimed {
		return err
	}
	s.m.step.WithLabelValues(stepReservation).Observe(o.ReservedAt.Sub(o.CreatedAt).Seconds())
	s.charge(ctx, orderID)
	return nil
}

// onRejected cancels a pending order for lack of stock.
func (s *Service) onRejected(ctx context.Context, ev contracts.Event, orderID string) error {
	if err := validOrderID(orderID); err != nil {
		return err
	}
	var after func()
	_, err := s.store.UpdateOnce(ctx, ev, orderID, func(_ pgx.Tx, o *Order) ([]outEvent, error) {
		after = nil
		if o.Status != contracts.OrderStatusPending {
			return nil, errNoChange
		}
		evs, err := s.cancelIn(o, contracts.ReasonOutOfStock)
		after = func() {
			s.m.cancelled.WithLabelValues(contracts.ReasonOutOfStock).Inc()
			s.m.step.WithLabelValues(stepReservation).Observe(s.now().Sub(o.CreatedAt).Seconds())
		}
		return evs, err
	})
	if err == nil && after != nil {
		after()
	}
	return err
}

// onExpired cancels an order whose held stock the inventory gave back
// (the reservation expired). Before payment that is a plain cancellation.
// A paid order whose reservation expired first (the charge landed after
// the hold ran out, say after a long outage) has no goods behind it: the
// inventory could not turn the hold into a sale, so the order is cancelled
// and the money returned rather than kept for stock that was never sold.
func (s *Service) onExpired(ctx context.Context, ev contracts.Event, orderID string) error {
	if err := validOrderID(orderID); err != nil {
		return err
	}
	changed, wasPaid := false, false
	_, err := s.store.UpdateOnce(ctx, ev, orderID, func(_ pgx.Tx, o *Order) ([]outEvent, error) {
		changed, wasPaid = false, false
		switch o.Status {
		case contracts.OrderStatusPending, contracts.OrderStatusReserved, contracts.OrderStatusAwaitingPayment:
		case contracts.OrderStatusPaid:
			wasPaid = true
		default:
			return nil, errNoChange
		}
		changed = true
		return s.cancelIn(o, contracts.ReasonReservationExpired)
	})
	if err != nil || !changed {
		return err
	}
	s.m.cancelled.WithLabelValues(contracts.ReasonReservationExpired).Inc()
	if wasPaid {
		s.log.Warn("paid order lost its stock reservation; cancelled and refunded", "order_id", orderID)
		if _, err := s.refundPayment(ctx, orderID); err != nil {
			// The cancellation stands; the sweeper finishes the refund.
			s.log.Warn("refund failed; the sweeper retries", "order_id", orderID, "err", err)
		}
	}
	return nil
}

// cancelIn cancels o (pending, reserved or paid) with reason and returns
// the events. A paid order keeps its payment "succeeded" until
// refundPayment returned the money; the others are voided. A charge in
// flight on a reserved order is refunded when it lands (see charge).
func (s *Service) cancelIn(o *Order, reason string) ([]outEvent, error) {
	prev := o.Status
	if err := o.move(contracts.OrderStatusCancelled, "cancelled", s.now().UTC()); err != nil {
		return nil, err
	}
	o.StatusReason = reason
	refund := prev == contracts.OrderStatusPaid
	if !refund {
		o.PaymentStatus = contracts.PaymentStatusVoided
	}
	return []outEvent{o.cancelledEvent(prev, refund)}, nil
}

// declineProcessingError is the decline code of a charge the provider
// refused as malformed.
const declineProcessingError = "processing_error"

// charge takes the payment of a reserved order whose charge lease the
// caller holds, and records the outcome: paid, or awaiting_payment on a
// decline (see declined).
// An unknown outcome (provider error) leaves the order reserved with the
// lease running until ChargeRetryAfter, for the sweeper to retry. Errors
// are logged, not returned: the order's state says what is left to do.
func (s *Service) charge(ctx context.Context, orderID string) {
	o, err := s.store.Get(ctx, orderID)
	if err != nil {
		s.log.Error("charge: load order", "order_id", orderID, "err", err)
		return
	}
	if o.Status != contracts.OrderStatusReserved {
		return
	}
	amount := o.money(o.Total)
	seq := o.ChargeSeq
	start := time.Now()
	ch, err := s.provider.Charge(ctx, chargeKey(o), o.PaymentToken, amount)
	s.m.step.WithLabelValues(stepCharge).Observe(time.Since(start).Seconds())
	if code := contracts.ErrorCode(err); code == contracts.CodeInvalidArgument || code == contracts.CodeFailedPrecondition {
		// The provider refuses the request itself (unknown token, key
		// misuse): retrying cannot help, so the order fails like a decline.
		s.log.Error("charge refused by the provider", "order_id", o.ID, "err", err)
		ch, err = payment.Charge{Status: payment.ChargeDeclined, DeclineCode: declineProcessingError, Amount: amount}, nil
	}
	if err != nil {
		s.log.Warn("charge outcome unknown; will retry", "order_id", o.ID, "err", err)
		bg := context.WithoutCancel(ctx)
		if err := recordAttempt(bg, s.store.pool, o.ID, attempt{
			Kind: "charge", Status: "error", Amount: amount.Amount, Currency: amount.Currency, Error: truncate(err.Error(), 500),
			Last4: o.CardLast4,
		}); err != nil {
			s.log.Error("record charge attempt", "order_id", o.ID, "err", err)
		}
		if err := s.store.ReleaseCharge(bg, o.ID, s.cfg.ChargeRetryAfter); err != nil {
			s.log.Error("release charge lease", "order_id", o.ID, "err", err)
		}
		return
	}
	var after func()
	var refundNeeded bool
	_, err = s.store.Update(ctx, o.ID, func(tx pgx.Tx, o *Order) ([]outEvent, error) {
		after, refundNeeded = nil, false
		lateCharge := ch.Status == payment.ChargeSucceeded && o.ChargeRef == "" &&
			(o.Status == contracts.OrderStatusCancelled || o.Status == contracts.OrderStatusRefunded)
		if (o.Status != contracts.OrderStatusReserved && !lateCharge) || o.ChargeSeq != seq {
			// A twin attempt (the sweeper's retry of a call that outlived
			// its lease) already recorded the outcome: the provider's
			// answer is the same, so record nothing, not even the attempt
			// (errNoChange commits what fn wrote through tx).
			return nil, errNoChange
		}
		a := attempt{Kind: "charge", Status: ch.Status, Amount: amount.Amount, Currency: amount.Currency, ProviderRef: ch.Ref,
			Error: ch.DeclineCode, Last4: o.CardLast4}
		if ch.Status != payment.ChargeSucceeded {
			a.Status = "declined"
		}
		if err := recordAttempt(ctx, tx, o.ID, a); err != nil {
			return nil, err
		}
		now := s.now().UTC()
		switch {
		case o.Status == contracts.OrderStatusReserved && ch.Status == payment.ChargeSucceeded:
			if err := o.move(contracts.OrderStatusPaid, "paid", now); err != nil {
				return nil, err
			}
			o.PaymentStatus, o.ChargeRef, o.ChargeLease = contracts.PaymentStatusSucceeded, ch.Ref, nil
			after = func() {
				s.m.paid.Inc()
				s.m.revenue.WithLabelValues(o.Currency).Add(float64(o.Total))
				if o.ReservedAt != nil {
					s.m.step.WithLabelValues(stepPayment).Observe(now.Sub(*o.ReservedAt).Seconds())
				}
			}
			return []outEvent{o.paidEvent()}, nil
		case o.Status == contracts.OrderStatusReserved:
			reason := contracts.ReasonPaymentDeclined
			if ch.DeclineCode == payment.DeclineInsufficientFunds {
				reason = contracts.ReasonInsufficientFunds
			}
			evs, err := s.declined(o, reason, ch.DeclineCode, now)
			if err != nil {
				return nil, err
			}
			after = func() {
				if o.ReservedAt != nil {
					s.m.step.WithLabelValues(stepPayment).Observe(now.Sub(*o.ReservedAt).Seconds())
				}
			}
			return evs, nil
		case lateCharge:
			// Cancelled while the charge was in flight: the money came in
			// anyway and must go back.
			o.PaymentStatus, o.ChargeRef, o.UpdatedAt = contracts.PaymentStatusSucceeded, ch.Ref, now
			refundNeeded = true
			return nil, nil
		}
		return nil, errNoChange // a twin attempt already recorded the outcome
	})
	if err != nil {
		s.log.Error("charge: record outcome", "order_id", o.ID, "err", err)
		return
	}
	if after != nil {
		after()
	}
	if refundNeeded {
		if _, err := s.refundPayment(ctx, o.ID); err != nil {
			s.log.Warn("refund after late charge; the sweeper retries", "order_id", o.ID, "err", err)
		}
	}
}

// refundPayment returns the money of a closed (cancelled or refunded) order
// whose payment is still "succeeded", marks the payment refunded and emits
// order.refunded. The provider call is idempotent per order, so a crash
// before the commit is repaired by calling it again (the sweeper does).
func (s *Service) refundPayment(ctx context.Context, orderID string) (*Order, error) {
	return s.store.Update(ctx, orderID, func(tx pgx.Tx, o *Order) ([]outEvent, error) {
		closed := o.Status == contracts.OrderStatusCancelled || o.Status == contracts.OrderStatusRefunded
		if !closed || o.PaymentStatus != contracts.PaymentStatusSucceeded || o.ChargeRef == "" {
			return nil, errNoChange
		}
		// Returns may have refunded part of the charge already, or be
		// refunding it (approved; see refundReturn): the rest goes back.
		amount := o.money(o.Total - o.returnsCommitted())
		if amount.Amount > 0 {
			// Holding the row lock across the provider call keeps a
			// concurrent refund of the same order waiting rather than racing.
			rf, err := s.provider.Refund(ctx, "refund:"+o.ID, o.ChargeRef, amount)
			if err != nil {
				return nil, err
			}
			if err := recordAttempt(ctx, tx, o.ID, attempt{
				Kind: "refund", Status: "succeeded", Amount: amount.Amount, Currency: amount.Currency, ProviderRef: rf.Ref,
			}); err != nil {
				return nil, err
			}
		}
		o.PaymentStatus, o.UpdatedAt = contracts.PaymentStatusRefunded, s.now().UTC()
		reason := o.StatusReason
		return []outEvent{o.refundedEvent(reason, amount.Amount)}, nil
	})
}

// sweep is one pass of the recovery sweeper (see the package doc).
func (s *Service) sweep(ctx context.Context) {
	const batch = 100
	ids, err := s.store.StuckReserved(ctx, batch)
	if err != nil && ctx.Err() == nil {
		s.log.Error("sweep: stuck reserved orders", "err", err)
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return
		}
		ok, err := s.store.ClaimCharge(ctx, id, s.cfg.ChargeLease)
		if err != nil {
			s.log.Error("sweep: claim charge", "order_id", id, "err", err)
			continue
		}
		if ok {
			s.log.Info("sweep: resuming the charge of a reserved order", "order_id", id)
			s.charge(ctx, id)
		}
	}
	ids, err = s.store.StalePending(ctx, s.cfg.PendingTimeout, batch)
	if err != nil && ctx.Err() == nil {
		s.log.Error("sweep: stale pending orders", "err", err)
	}
	s.timeOut(ctx, ids, contracts.OrderStatusPending, contracts.ReasonReservationTimeout, "cancelled an order the inventory never answered")
	s.sweepUnpaid(ctx, batch)
	ids, err = s.store.ids(ctx, `SELECT id FROM orders WHERE status IN ('cancelled', 'refunded')
		AND payment_status = 'succeeded' ORDER BY updated_at LIMIT $1`, batch)
	if err != nil && ctx.Err() == nil {
		s.log.Error("sweep: unrefunded orders", "err", err)
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return
		}
		if _, err := s.refundPayment(ctx, id); err != nil {
			s.log.Warn("sweep: refund", "order_id", id, "err", err)
		}
	}
	s.sweepReturns(ctx, batch)
	if n, err := s.store.PurgeIdempotency(ctx, s.cfg.IdempotencyRetention); err != nil && ctx.Err() == nil {
		s.log.Error("sweep: purge idempotency keys", "err", err)
	} else if n > 0 {
		s.log.Info("sweep: purged idempotency keys", "count", n)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// isUUID reports whether s is a UUID in its canonical text form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// timeOut cancels with reason each order of ids still in status (a step of
// the sweeper); done says what happened, in the log.
func (s *Service) timeOut(ctx context.Context, ids []string, status, reason, done string) {
	for _, id := range ids {
		if ctx.Err() != nil {
			return
		}
		changed := false
		_, err := s.store.Update(ctx, id, func(_ pgx.Tx, o *Order) ([]outEvent, error) {
			changed = false
			if o.Status != status {
				return nil, errNoChange
			}
			changed = true
			evs, err := s.cancelIn(o, reason)
			if status == contracts.OrderStatusAwaitingPayment {
				o.PaymentStatus = contracts.PaymentStatusFailed // declined, never charged
			}
			return evs, err
		})
		if err != nil {
			s.log.Error("sweep: cancel a timed-out order", "order_id", id, "reason", reason, "err", err)
			continue
		}
		if changed {
			s.m.cancelled.WithLabelValues(reason).Inc()
			s.log.Info("sweep: "+done, "order_id", id)
		}
	}
}
