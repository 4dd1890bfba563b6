package order

import (
	"context"
	"time"

	"github.com/google/uuid"

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
	o, err := s.store.UpdateOnce(ctx, ev, orderID, func(o *Order) error {
		claimed = false
		if o.Status != contracts.OrderStatusPending {
			return errNoChange // late: timed out or cancelled meanwhile
		}
		now := s.now().UTC()
		if err := o.move(contracts.OrderStatusReserved, "reserved", now); err != nil {
			return err
		}
		lease := now.Add(s.cfg.ChargeLease)
		o.ChargeLease, o.ChargeHolder = &lease, s.instance
		claimed = true
		return nil
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
	_, err := s.store.UpdateOnce(ctx, ev, orderID, func(o *Order) error {
		after = nil
		if o.Status != contracts.OrderStatusPending {
			return errNoChange
		}
		err := s.cancelIn(o, contracts.ReasonOutOfStock)
		after = func() {
			s.m.cancelled.WithLabelValues(contracts.ReasonOutOfStock).Inc()
			s.m.step.WithLabelValues(stepReservation).Observe(s.now().Sub(o.CreatedAt).Seconds())
		}
		return err
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
	_, err := s.store.UpdateOnce(ctx, ev, orderID, func(o *Order) error {
		changed, wasPaid = false, false
		switch o.Status {
		case contracts.OrderStatusPending, contracts.OrderStatusReserved, contracts.OrderStatusAwaitingPayment:
		case contracts.OrderStatusPaid:
			wasPaid = true
		default:
			return errNoChange
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

// cancelIn cancels o (pending, reserved or paid) with reason and records
// order.cancelled. A paid order keeps its payment "succeeded" until
// refundPayment returned the money; the others are voided. A charge in
// flight on a reserved order is refunded when it lands (see charge).
func (s *Service) cancelIn(o *Order, reason string) error {
	prev := o.Status
	if err := o.move(contracts.OrderStatusCancelled, "cancelled", s.now().UTC()); err != nil {
		return err
	}
	o.StatusReason = reason
	refund := prev == contracts.OrderStatusPaid
	if !refund {
		o.PaymentStatus = contracts.PaymentStatusVoided
	}
	o.record(o.cancelledEvent(prev, refund))
	return nil
}

// declineProcessingError is the decline code of a charge the provider
// refused as malformed.
const declineProcessingError = "processing_error"

// charge takes the payment of a reserved order whose charge lease the
// caller holds, and records the outcome: paid, or awaiting_payment on a
// decline (see declined). An unknown outcome (provider error) leaves the
// order reserved with the lease running until ChargeRetryAfter, for the
// sweeper to retry. Errors are logged, not returned: the order's state
// says what is left to do. The steps: load the leased order, call the
// provider, record the outcome (and refund a charge that landed on an
// order cancelled meanwhile).
func (s *Service) charge(ctx context.Context, orderID string) {
	o := s.leasedOrder(ctx, orderID)
	if o == nil {
		return
	}
	ch, err := s.callCharge(ctx, o)
	if err != nil {
		s.chargeUnknown(context.WithoutCancel(ctx), o, err)
		return
	}
	s.recordCharge(ctx, o, ch)
}

// leasedOrder loads the order to charge; nil when it is gone or no longer
// reserved (a twin recorded the outcome).
func (s *Service) leasedOrder(ctx context.Context, orderID string) *Order {
	o, err := s.store.Get(ctx, orderID)
	if err != nil {
		s.log.Error("charge: load order", "order_id", orderID, "err", err)
		return nil
	}
	if o.Status != contracts.OrderStatusReserved {
		return nil
	}
	return o
}

// callCharge asks the provider for o's charge. A request the provider
// refuses as such (unknown token, key misuse) cannot succeed on a retry,
// so it comes back as a decline (processing_error); an error is an unknown
// outcome.
func (s *Service) callCharge(ctx context.Context, o *Order) (payment.Charge, error) {
	amount := o.money(o.Total)
	start := time.Now()
	ch, err := s.provider.Charge(ctx, chargeKey(o), o.PaymentToken, amount)
	s.m.step.WithLabelValues(stepCharge).Observe(time.Since(start).Seconds())
	if code := contracts.ErrorCode(err); code == contracts.CodeInvalidArgument || code == contracts.CodeFailedPrecondition {
		s.log.Error("charge refused by the provider", "order_id", o.ID, "err", err)
		return payment.Charge{Status: payment.ChargeDeclined, DeclineCode: declineProcessingError, Amount: amount}, nil
	}
	return ch, err
}

// chargeUnknown records a charge attempt of charged (the order as it was
// charged) whose outcome is unknown, and lets its lease run until
// ChargeRetryAfter so the sweeper retries then.
func (s *Service) chargeUnknown(ctx context.Context, charged *Order, cause error) {
	s.log.Warn("charge outcome unknown; will retry", "order_id", charged.ID, "err", cause)
	amount := charged.money(charged.Total)
	_, err := s.store.Update(ctx, charged.ID, func(o *Order) error {
		o.recordAttempt(attempt{
			Kind: "charge", Status: "error", Amount: amount.Amount, Currency: amount.Currency,
			Error: truncate(cause.Error(), 500), Last4: charged.CardLast4,
		})
		if o.Status == contracts.OrderStatusReserved {
			// The retry is any instance's sweeper's once the wait is
			// over: no attempt holds the order meanwhile.
			retry := s.now().Add(s.cfg.ChargeRetryAfter).UTC()
			o.ChargeLease, o.ChargeHolder = &retry, ""
		}
		return nil
	})
	if err != nil {
		s.log.Error("charge: record unknown outcome", "order_id", charged.ID, "err", err)
	}
}

// recordCharge records the provider's answer ch to the charge of charged
// (the order as it was charged): the attempt and the order's new state
// (see settleCharge), then a refund if the charge landed on an order
// cancelled meanwhile.
func (s *Service) recordCharge(ctx context.Context, charged *Order, ch payment.Charge) {
	var after func()
	var refundNeeded bool
	_, err := s.store.Update(ctx, charged.ID, func(o *Order) error {
		var err error
		after, refundNeeded, err = s.settleCharge(o, charged, ch)
		return err
	})
	if err != nil {
		s.log.Error("charge: record outcome", "order_id", charged.ID, "err", err)
		return
	}
	if after != nil {
		after()
	}
	if refundNeeded {
		if _, err := s.refundPayment(ctx, charged.ID); err != nil {
			s.log.Warn("refund after late charge; the sweeper retries", "order_id", charged.ID, "err", err)
		}
	}
}

// settleCharge decides what the charge outcome ch does to o (locked):
// paid, awaiting payment after a decline, or for a charge that landed on
// an order cancelled meanwhile, a payment to refund (refund). after, when
// set, records the metrics once the change is saved. A twin attempt (the
// sweeper's retry of a call that outlived its lease) that already
// recorded the outcome makes it errNoChange: the provider's answer is the
// same, so nothing is recorded, not even the attempt.
func (s *Service) settleCharge(o, charged *Order, ch payment.Charge) (after func(), refund bool, err error) {
	lateCharge := ch.Status == payment.ChargeSucceeded && o.ChargeRef == "" &&
		(o.Status == contracts.OrderStatusCancelled || o.Status == contracts.OrderStatusRefunded)
	if (o.Status != contracts.OrderStatusReserved && !lateCharge) || o.ChargeSeq != charged.ChargeSeq {
		return nil, false, errNoChange
	}
	amount := charged.money(charged.Total)
	a := attempt{Kind: "charge", Status: ch.Status, Amount: amount.Amount, Currency: amount.Currency, ProviderRef: ch.Ref,
		Error: ch.DeclineCode, Last4: o.CardLast4}
	if ch.Status != payment.ChargeSucceeded {
		a.Status = "declined"
	}
	o.recordAttempt(a)
	now := s.now().UTC()
	switch {
	case lateCharge:
		// Cancelled while the charge was in flight: the money came in
		// anyway and must go back.
		o.PaymentStatus, o.ChargeRef, o.UpdatedAt = contracts.PaymentStatusSucceeded, ch.Ref, now
		return nil, true, nil
	case ch.Status == payment.ChargeSucceeded:
		if err := o.move(contracts.OrderStatusPaid, "paid", now); err != nil {
			return nil, false, err
		}
		o.PaymentStatus, o.ChargeRef, o.ChargeLease = contracts.PaymentStatusSucceeded, ch.Ref, nil
		o.record(o.paidEvent())
		return func() {
			s.m.paid.Inc()
			s.m.revenue.WithLabelValues(o.Currency).Add(float64(o.Total))
			s.observePayment(o, now)
		}, false, nil
	}
	reason := contracts.ReasonPaymentDeclined
	if ch.DeclineCode == payment.DeclineInsufficientFunds {
		reason = contracts.ReasonInsufficientFunds
	}
	if err := s.declined(o, reason, ch.DeclineCode, now); err != nil {
		return nil, false, err
	}
	return func() { s.observePayment(o, now) }, false, nil
}

// observePayment measures the payment step of o (reserved → outcome).
func (s *Service) observePayment(o *Order, now time.Time) {
	if o.ReservedAt != nil {
		s.m.step.WithLabelValues(stepPayment).Observe(now.Sub(*o.ReservedAt).Seconds())
	}
}

// refundPayment returns the money of a closed (cancelled or refunded) order
// whose payment is still "succeeded", marks the payment refunded and emits
// order.refunded. The provider call is idempotent per order, so a crash
// before the commit is repaired by calling it again (the sweeper does).
func (s *Service) refundPayment(ctx context.Context, orderID string) (*Order, error) {
	return s.store.Update(ctx, orderID, func(o *Order) error {
		closed := o.Status == contracts.OrderStatusCancelled || o.Status == contracts.OrderStatusRefunded
		if !closed || o.PaymentStatus != contracts.PaymentStatusSucceeded || o.ChargeRef == "" {
			return errNoChange
		}
		// Returns may have refunded part of the charge already, or be
		// refunding it (approved; see refundReturn): the rest goes back.
		amount := o.money(o.Total - o.returnsCommitted())
		if amount.Amount > 0 {
			// Holding the row lock across the provider call keeps a
			// concurrent refund of the same order waiting rather than racing.
			rf, err := s.provider.Refund(ctx, "refund:"+o.ID, o.ChargeRef, amount)
			if err != nil {
				return err
			}
			o.recordAttempt(attempt{
				Kind: "refund", Status: "succeeded", Amount: amount.Amount, Currency: amount.Currency, ProviderRef: rf.Ref,
			})
		}
		o.PaymentStatus, o.UpdatedAt = contracts.PaymentStatusRefunded, s.now().UTC()
		o.record(o.refundedEvent(o.StatusReason, amount.Amount))
		return nil
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
		ok, err := s.store.ClaimCharge(ctx, id, s.cfg.ChargeLease, s.instance)
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
	ids, err = s.store.Unrefunded(ctx, batch)
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

// resumeHeld charges again, at once, the reserved orders whose running
// charge lease this instance holds: at Start nothing of this run is in
// flight yet, so those are attempts its previous run (a crash, a kill)
// left unfinished. Without it they would wait for their lease to run out
// before the sweeper retried them. The provider's idempotency per order
// and attempt makes the retry return the first outcome.
func (s *Service) resumeHeld(ctx context.Context) {
	// One pass: an order left over (more than the batch, or a charge that
	// could not even load its order) keeps its lease and is the sweeper's
	// once it runs out.
	const batch = 1000
	ids, err := s.store.ReclaimHeld(ctx, s.instance, s.cfg.ChargeLease, batch)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("resume: charges left in flight", "err", err)
		}
		return
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return
		}
		s.log.Info("resuming a charge the previous run left in flight", "order_id", id, "instance", s.instance)
		s.charge(ctx, id)
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
		_, err := s.store.Update(ctx, id, func(o *Order) error {
			changed = false
			if o.Status != status {
				return errNoChange
			}
			changed = true
			err := s.cancelIn(o, reason)
			if status == contracts.OrderStatusAwaitingPayment {
				o.PaymentStatus = contracts.PaymentStatusFailed // declined, never charged
			}
			return err
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
