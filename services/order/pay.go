package order

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/services/order/payment"
)

// Paying again after a declined card.
//
// A decline does not end the sale: the order moves from reserved to
// awaiting_payment with payment.failed (which tells the buyer), the stock
// stays held, and the buyer may pay again with another card (order.pay,
// POST /orders/{id}/pay, idempotent per Idempotency-Key like checkout).
// That moves the order back to reserved with the new card's token and a
// new charge attempt (charge_seq + 1, so the provider sees a new charge
// rather than the replay of the declined one) and charges it. The payment
// window is the pending timeout counted from placement: after it the
// sweeper cancels the order (payment_timeout), which releases the stock.
// Every attempt, with the card's last four digits, is in the order's
// payment attempts.

// chargeKey is the provider's idempotency key of o's current charge: the
// order id for the first, "<id>:<seq>" for a payment made again.
func chargeKey(o *Order) string {
	if o.ChargeSeq <= 1 {
		return o.ID
	}
	return o.ID + ":" + strconv.Itoa(o.ChargeSeq)
}

// payBy is the end of o's payment window.
func (s *Service) payBy(o *Order) time.Time { return o.CreatedAt.Add(s.cfg.PendingTimeout) }

// declined records a declined charge of the reserved order o: it awaits a
// new payment, with payment.failed.
func (s *Service) declined(o *Order, reason, code string, now time.Time) error {
	if err := o.move(contracts.OrderStatusAwaitingPayment, "left awaiting payment", now); err != nil {
		return err
	}
	o.StatusReason, o.PaymentStatus, o.ChargeLease = reason, contracts.PaymentStatusFailed, nil
	by := s.payBy(o).UTC()
	o.record(o.paymentFailedEvent(reason, code, &by))
	return nil
}

// Pay pays the order id (an id or a number) of actor again with a new
// card (req) after a decline, with the Idempotency-Key key, and returns the reply
// body: the order as it was accepted (reserved, the charge under way; a
// replay answers the same bytes). The charge is made before the reply, so
// the order a client reads next shows its outcome (paid, or
// awaiting_payment again after another decline).
func (s *Service) Pay(ctx context.Context, actor contracts.Actor, id, key string, req contracts.PayRequest) (json.RawMessage, error) {
	if actor.ID == "" {
		return nil, contracts.Unauthenticated("sign in to pay for an order")
	}
	if err := contracts.CheckIdempotencyKey(key); err != nil {
		return nil, err
	}
	id, err := s.orderID(ctx, id)
	if err != nil {
		return nil, err
	}
	// The order id is part of the request: the same key for another order
	// is a different request.
	hash := requestHash(contracts.CheckoutRequest{AddressID: "pay:" + id, Payment: req.Payment})
	if rec, err := s.store.Idempotency(ctx, actor.ID, key); err != nil {
		return nil, err
	} else if rec != nil {
		return replay(rec, hash)
	}
	reply, err := s.pay(ctx, actor, id, key, hash, req)
	if errors.Is(err, errDuplicateKey) {
		rec, rerr := s.store.Idempotency(ctx, actor.ID, key)
		if rerr != nil {
			return nil, rerr
		}
		if rec == nil {
			return nil, contracts.Errorf(contracts.CodeConflict, "a request with this Idempotency-Key is in progress; retry")
		}
		return replay(rec, hash)
	}
	return reply, err
}

func (s *Service) pay(ctx context.Context, actor contracts.Actor, id, key string, hash []byte, req contracts.PayRequest) (json.RawMessage, error) {
	o, err := s.load(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if o.UserID != actor.ID {
		return nil, contracts.PermissionDenied("only the buyer may pay for an order")
	}
	if err := s.payable(o); err != nil {
		return nil, err
	}
	if err := checkPaymentInput(req.Payment); err != nil {
		return nil, err
	}
	tok, err := s.provider.Tokenize(ctx, payment.Card{
		Number: req.Payment.CardNumber, ExpMonth: req.Payment.ExpMonth, ExpYear: req.Payment.ExpYear, CVC: req.Payment.CVC,
	})
	if err != nil {
		return nil, err
	}
	var reply []byte
	_, err = s.store.Update(ctx, o.ID, func(o *Order) error {
		if err := s.payable(o); err != nil {
			return err
		}
		now := s.now().UTC()
		if err := o.move(contracts.OrderStatusReserved, "paid again", now); err != nil {
			return err
		}
		lease := now.Add(s.cfg.ChargeLease)
		o.ChargeSeq++
		o.ChargeLease, o.ChargeHolder, o.PaymentStatus, o.StatusReason = &lease, s.instance, contracts.PaymentStatusPending, ""
		o.PaymentToken, o.CardBrand, o.CardLast4 = tok.Token, tok.Brand, tok.Last4
		var err error
		if reply, err = json.Marshal(o.View("")); err != nil {
			return err
		}
		o.keepReply(idemRecord{UserID: actor.ID, Key: key, RequestHash: hash, OrderID: o.ID, Reply: reply})
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("order paid again after a decline", "order_id", o.ID, "user_id", actor.ID)
	s.charge(context.WithoutCancel(ctx), o.ID)
	return reply, nil
}

// payable says whether o may be paid again now, or why not.
func (s *Service) payable(o *Order) error {
	if o.Status != contracts.OrderStatusAwaitingPayment {
		msg := "order is %s: only an order whose payment was declined can be paid again"
		if o.Status == contracts.OrderStatusPending || o.Status == contracts.OrderStatusReserved {
			msg = "order is %s: its payment is under way"
		}
		return contracts.Errorf(contracts.CodeFailedPrecondition, msg, o.Status).WithDetail("status", o.Status)
	}
	if !s.now().Before(s.payBy(o)) {
		return contracts.Errorf(contracts.CodeFailedPrecondition,
			"the time to pay for this order ended at %s; it is being cancelled", s.payBy(o).UTC().Format(time.RFC3339)).
			WithDetail("status", o.Status)
	}
	return nil
}

// sweepUnpaid cancels orders whose payment was declined and not made
// again within the payment window (payment_timeout); order.cancelled makes
// the inventory release their stock. Part of the recovery sweeper.
func (s *Service) sweepUnpaid(ctx context.Context, batch int) {
	ids, err := s.store.Unpaid(ctx, s.cfg.PendingTimeout, batch)
	if err != nil && ctx.Err() == nil {
		s.log.Error("sweep: unpaid orders", "err", err)
	}
	s.timeOut(ctx, ids, contracts.OrderStatusAwaitingPayment, contracts.ReasonPaymentTimeout, "cancelled an order not paid after a decline")
}
