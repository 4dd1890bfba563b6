package e2e_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/platform"
	"github.com/opencommerce/opencommerce/platform/platformtest"
)

// payAgain posts a new card for the order id with key.
func payAgain(c *client, id, key, card string) response {
	c.t.Helper()
	return c.do("POST", "/orders/"+id+"/pay", contracts.PayRequest{Payment: checkoutOf(card).Payment}, "Idempotency-Key", key)
}

// TestPaymentRetry: a declined card keeps the sale: the order awaits
// another payment with its stock held, POST /orders/{id}/pay (idempotent)
// pays it, every attempt shows, and the replies of cancel and refund carry
// the attempts like GET does.
func TestPaymentRetry(t *testing.T) {
	t.Parallel()
	env := startShop(t)
	c := newClient(t, env)
	adm := c.as(adminSession(c).Access)
	cat := newCategory(adm, "Kitchen", "")

	t.Run("declined, then paid with another card", func(t *testing.T) {
		c := c.with(t)
		seller, _ := account(c, "seller")
		buyer, _ := account(c, "")
		stranger, _ := account(c, "")
		p := newProduct(seller, "Dutch Oven", cat.ID, 8900, 5)
		setCart(buyer, p.ID, 2)
		o := placeOrder(buyer, newKey(), checkoutOf(cardDeclined))
		got := awaitOrder(buyer, o.ID, contracts.OrderStatusAwaitingPayment)
		if got.StatusReason != contracts.ReasonPaymentDeclined || got.Payment.Status != contracts.PaymentStatusFailed {
			t.Errorf("declined order: %s %s payment %s", got.Status, got.StatusReason, got.Payment.Status)
		}
		awaitStock(seller, p.ID, 3, 2) // still held

		wantError(t, payAgain(buyer, o.ID, "", cardOK), http.StatusBadRequest, "invalid_argument")
		wantError(t, payAgain(stranger, o.ID, newKey(), cardOK), http.StatusNotFound, "not_found")
		wantError(t, buyer.do("POST", "/orders/"+o.ID+"/pay", map[string]any{"payment": map[string]any{"method": "card"}},
			"Idempotency-Key", newKey()), http.StatusBadRequest, "invalid_argument")

		key := newKey()
		first := payAgain(buyer, o.ID, key, cardOK)
		if first.Status != http.StatusAccepted {
			t.Fatalf("pay: %s", first)
		}
		paid := awaitOrder(buyer, o.ID, contracts.OrderStatusPaid)
		a := paid.Payment.Attempts
		if len(a) != 2 || a[0].Status != "declined" || a[0].Last4 != "0002" || a[1].Status != "succeeded" || a[1].Last4 != "4242" {
			t.Errorf("attempts = %+v, want the declined one then the paid one", a)
		}
		if paid.Payment.Last4 != "4242" || paid.StatusReason != "" {
			t.Errorf("paid order: card %s, reason %q", paid.Payment.Last4, paid.StatusReason)
		}
		inv := awaitStock(seller, p.ID, 3, 0) // sold
		if l := ledgerFor(inv, o.ID); l[contracts.LedgerOutgoing] != 2 || l[contracts.LedgerRelease] != 0 {
			t.Errorf("ledger = %v, want the 2 units sold and none released", l)
		}
		// The same key again replays the answer; a new key for a paid
		// order is refused.
		if again := payAgain(buyer, o.ID, key, cardOK); again.Status != http.StatusAccepted || !bytes.Equal(again.Body, first.Body) {
			t.Errorf("replay: %s, want %s", again, first)
		}
		wantError(t, payAgain(buyer, o.ID, newKey(), cardOK), http.StatusConflict, "failed_precondition")

		// cancel and refund answer the attempts like GET.
		refunded := decode[contracts.Order](t, adm.must(http.StatusOK, "POST", "/orders/"+o.ID+"/refund", nil))
		if len(refunded.Payment.Attempts) != 3 || refunded.Payment.Attempts[2].Kind != "refund" {
			t.Errorf("refund answered attempts %+v, want the two charges and the refund", refunded.Payment.Attempts)
		}
	})

	t.Run("cancel answers the attempts", func(t *testing.T) {
		c := c.with(t)
		seller, _ := account(c, "seller")
		buyer, _ := account(c, "")
		p := newProduct(seller, "Whisk", cat.ID, 900, 5)
		o := placeOrder(buyer, newKey(), checkoutOf(cardOK, line(p.ID, 1)))
		awaitOrder(buyer, o.ID, contracts.OrderStatusPaid)
		got := decode[contracts.Order](t, buyer.must(http.StatusOK, "POST", "/orders/"+o.ID+"/cancel", nil))
		if got.Payment.Attempts == nil || got.Payment.Attempts[0].Kind != "charge" {
			t.Errorf("cancel answered attempts %+v, want the charge (and the refund)", got.Payment.Attempts)
		}
	})
}

// TestUnpaidOrderIsCancelledAfterItsWindow: an order declined and not paid
// again within the payment window (the pending timeout) is cancelled by
// the sweeper (payment_timeout), its stock released, and can no longer be
// paid.
func TestUnpaidOrderIsCancelledAfterItsWindow(t *testing.T) {
	t.Parallel()
	env := platformtest.Start(t, platformtest.Options{WideRateLimits: true, Tweak: func(c *platform.Config) {
		c.Services.Order.PendingTimeout = 3 * time.Second
		c.Services.Order.SweepInterval = 200 * time.Millisecond
	}})
	c := newClient(t, env)
	adm := c.as(adminSession(c).Access)
	cat := newCategory(adm, "Garden", "")
	seller, _ := account(c, "seller")
	buyer, _ := account(c, "")
	p := newProduct(seller, "Watering Can", cat.ID, 1900, 4)
	o := placeOrder(buyer, newKey(), checkoutOf(cardNoFunds, line(p.ID, 3)))
	got := awaitOrder(buyer, o.ID, contracts.OrderStatusCancelled)
	if got.StatusReason != contracts.ReasonPaymentTimeout {
		t.Errorf("order ended %s (%s), want cancelled payment_timeout", got.Status, got.StatusReason)
	}
	inv := awaitStock(seller, p.ID, 4, 0)
	if l := ledgerFor(inv, o.ID); l[contracts.LedgerReservation] != 3 || l[contracts.LedgerRelease] != 3 {
		t.Errorf("ledger = %v, want 3 reserved and 3 released", l)
	}
	wantError(t, payAgain(buyer, o.ID, newKey(), cardOK), http.StatusConflict, "failed_precondition")
}
