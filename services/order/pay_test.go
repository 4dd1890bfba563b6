package order_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// TestPayAgain: paying again is the buyer's, idempotent per key, only for
// an order awaiting payment, and a second decline leaves it awaiting
// payment again with every attempt recorded.
func TestPayAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.prod.start()
	e.start(nil)
	p := e.prod.add("Desk", 12000, 4, sellerA, contracts.ProductActive)
	o := ok[contracts.Order](t, e.checkout(buyer, key(), checkoutBody(cardDeclined, contracts.LineInput{ProductID: p, Quantity: 1})))
	e.waitStatus(buyer, o.ID, contracts.OrderStatusAwaitingPayment)

	failed(t, e.pay(buyer2, o.ID, key(), cardOK), contracts.CodeNotFound, "")
	failed(t, e.pay(buyer, o.ID, "", cardOK), contracts.CodeInvalidArgument, "Idempotency-Key")

	// Declined again: awaiting payment again, a third attempt is allowed.
	k := key()
	first := e.pay(buyer, o.ID, k, cardNoFunds)
	ok[contracts.Order](t, first)
	got := e.waitStatus(buyer, o.ID, contracts.OrderStatusAwaitingPayment)
	if got.StatusReason != contracts.ReasonInsufficientFunds || len(got.Payment.Attempts) != 2 {
		t.Fatalf("after a second decline: %s %s, attempts %+v", got.Status, got.StatusReason, got.Payment.Attempts)
	}
	// The same key replays the first answer byte for byte, whatever the
	// order's state; with another card it is a conflict.
	if again := e.pay(buyer, o.ID, k, cardNoFunds); !bytes.Equal(again.Body, first.Body) {
		t.Fatalf("replay = %s, want %s", again.Body, first.Body)
	}
	failed(t, e.pay(buyer, o.ID, k, cardOK), contracts.CodeConflict, "Idempotency-Key")

	ok[contracts.Order](t, e.pay(buyer, o.ID, key(), cardOK))
	got = e.waitStatus(buyer, o.ID, contracts.OrderStatusPaid)
	if n := len(got.Payment.Attempts); n != 3 || got.Payment.Last4 != "4242" {
		t.Fatalf("paid order: attempts %d, last4 %s", n, got.Payment.Last4)
	}
	failed(t, e.pay(buyer, o.ID, key(), cardOK), contracts.CodeFailedPrecondition, "order is paid")
	if n := e.count(`SELECT count(*) FROM test_provider_charges WHERE status = 'succeeded'`); n != 1 {
		t.Fatalf("%d successful charges, want 1", n)
	}
}

// TestUnpaidOrderTimesOut: an order whose payment was declined and not
// made again within the payment window (the pending timeout) is cancelled
// by the sweeper (payment_timeout) and its stock released; paying after
// the window is refused.
func TestUnpaidOrderTimesOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.PendingTimeout = 2 * time.Second
	e.prod.start()
	e.start(nil)
	p := e.prod.add("Chair", 5000, 3, sellerA, contracts.ProductActive)
	o := ok[contracts.Order](t, e.checkout(buyer, key(), checkoutBody(cardDeclined, contracts.LineInput{ProductID: p, Quantity: 2})))
	got := e.waitStatus(buyer, o.ID, contracts.OrderStatusCancelled)
	if got.StatusReason != contracts.ReasonPaymentTimeout || got.Payment.Status != contracts.PaymentStatusFailed {
		t.Fatalf("order = %s %s payment %s", got.Status, got.StatusReason, got.Payment.Status)
	}
	testenv.Eventually(t, "stock released", func() bool { return e.prod.stock(p) == 3 })
	failed(t, e.pay(buyer, o.ID, key(), cardOK), contracts.CodeFailedPrecondition, "cancelled")
}

// TestOrderNumber: every order has a distinct number, and order.get finds
// the order by it (with or without "#") for those who may see it.
func TestOrderNumber(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.prod.start()
	e.start(nil)
	p := e.prod.add("Cup", 500, 10, sellerA, contracts.ProductActive)
	a := ok[contracts.Order](t, e.checkout(buyer, key(), checkoutBody(cardOK, contracts.LineInput{ProductID: p, Quantity: 1})))
	b := ok[contracts.Order](t, e.checkout(buyer, key(), checkoutBody(cardOK, contracts.LineInput{ProductID: p, Quantity: 1})))
	if a.Number == "" || a.Number == b.Number {
		t.Fatalf("numbers %q and %q, want two distinct ones", a.Number, b.Number)
	}
	for _, ref := range []string{a.Number, "#" + a.Number} {
		if got := ok[contracts.Order](t, e.get(buyer, ref)); got.ID != a.ID {
			t.Fatalf("get %q = %s, want %s", ref, got.ID, a.ID)
		}
	}
	if got := ok[contracts.Order](t, e.get(sellerA, a.Number)); got.ID != a.ID {
		t.Fatalf("seller: get %q = %s", a.Number, got.ID)
	}
	failed(t, e.get(buyer2, a.Number), contracts.CodeNotFound, "")
	failed(t, e.get(buyer, "99999999"), contracts.CodeNotFound, "")
	failed(t, e.get(buyer, "#x"), contracts.CodeNotFound, "")
}
