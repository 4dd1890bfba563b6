package order_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/services/order/payment"
)

// TestHappyPathFromCartToPaid: cart → checkout → reserved → charged → paid,
// with catalogue prices, the card reduced to token+last4, the cart emptied
// and order.placed/order.paid carrying what notifications need.
func TestHappyPathFromCartToPaid(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.prod.start()
	e.start(nil)
	mug := e.prod.add("Mug", 1250, 10, sellerA, contracts.ProductActive)
	tea := e.prod.add("Tea", 499, 10, sellerB, contracts.ProductActive)

	ok[contracts.Cart](t, e.setItem(buyer, mug, 2))
	cart := ok[contracts.Cart](t, e.setItem(buyer, tea, 3))
	if cart.Subtotal != contracts.USD(2*1250+3*499) || len(cart.Items) != 2 || cart.ItemCount != 5 {
		t.Fatalf("cart = %+v", cart)
	}

	// The client cannot smuggle prices in: unknown fields are refused.
	r := e.checkout(buyer, key(), map[string]any{"address": testAddress, "total": 1,
		"payment": map[string]any{"card_number": cardOK, "exp_month": 12, "exp_year": 2099, "cvc": "123"}})
	failed(t, r, contracts.CodeInvalidArgument, "unknown field")

	placed := ok[contracts.Order](t, e.checkout(buyer, key(), checkoutBody(cardOK)))
	if placed.Status != contracts.OrderStatusPending || placed.Total != contracts.USD(2*1250+3*499) {
		t.Fatalf("placed = %+v", placed)
	}
	if placed.Payment.Last4 != "4242" || placed.Payment.Brand != "visa" || placed.ShippingAddress.Country != "US" {
		t.Fatalf("payment/address = %+v %+v", placed.Payment, placed.ShippingAddress)
	}
	if len(placed.Items) != 2 || placed.Items[0].UnitPrice.Amount != 1250 || placed.Items[0].SellerID != sellerA.ID {
		t.Fatalf("items = %+v", placed.Items)
	}
	paid := e.waitStatus(buyer, placed.ID, contracts.OrderStatusPaid)
	if paid.Payment.Status != contracts.PaymentStatusSucceeded {
		t.Fatalf("payment = %+v", paid.Payment)
	}
	if a := paid.Payment.Attempts; len(a) != 1 || a[0].Kind != "charge" || a[0].Status != "succeeded" || a[0].Amount.Amount != placed.Total.Amount {
		t.Fatalf("payment attempts = %+v, want one succeeded charge of %d", a, placed.Total.Amount)
	}
	if got := e.prod.stock(mug); got != 8 {
		t.Fatalf("mug stock = %d, want 8", got)
	}
	if c := ok[contracts.Cart](t, e.call(buyer, contracts.MethodOrderCartGet, nil, nil, nil)); len(c.Items) != 0 {
		t.Fatalf("cart not emptied: %+v", c)
	}

	var pe contracts.OrderPaid
	if err := e.waitEvent(contracts.EventOrderPaid, placed.ID).Decode(&pe); err != nil {
		t.Fatal(err)
	}
	if pe.UserID != buyer.ID || pe.Total.Amount != placed.Total.Amount || len(pe.Items) != 2 ||
		pe.Items[1].Name != "Tea" || pe.Items[1].UnitPrice.Amount != 499 || len(pe.SellerIDs) != 2 {
		t.Fatalf("order.paid = %+v", pe)
	}
	e.waitEvent(contracts.EventOrderPlaced, placed.ID)

	// Nothing of the card beyond last4 is stored anywhere in the order DB.
	if n := e.count(`SELECT count(*) FROM orders o WHERE o::text LIKE '%' || $1 || '%'`, cardOK); n != 0 {
		t.Fatal("the full card number is stored in orders")
	}
	if n := e.count(`SELECT count(*) FROM test_provider_tokens t WHERE t::text LIKE '%' || $1 || '%'`, cardOK); n != 0 {
		t.Fatal("the full card number is stored by the provider")
	}
	if n := e.count(`SELECT count(*) FROM test_provider_charges WHERE idempotency_key = $1 AND status = 'succeeded'`, placed.ID); n != 1 {
		t.Fatalf("charges = %d, want 1", n)
	}
	for _, m := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"oc_orders_placed_total", nil, 1},
		{"oc_orders_paid_total", nil, 1},
		{"oc_revenue_minor_units_total", map[string]string{"currency": "USD"}, float64(placed.Total.Amount)},
		{"oc_saga_step_duration_seconds", map[string]string{"step": "charge"}, 1},
		{"oc_saga_step_duration_seconds", map[string]string{"step": "reservation"}, 1},
	} {
		if got := e.metric(m.name, m.labels); got != m.want {
			t.Errorf("%s%v = %v, want %v", m.name, m.labels, got, m.want)
		}
	}
}

// TestDeclinedCardAwaitsPayment: the test provider's decline cards leave
// the order awaiting_payment with the reason and payment.failed (with the
// end of the payment window), the stock still held and no order.cancelled.
// Paying again with a good card pays the order; cancelling instead
// releases the stock.
func TestDeclinedCardAwaitsPayment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.prod.start()
	e.start(nil)
	for _, tc := range []struct {
		card, reason string
	}{
		{cardDeclined, contracts.ReasonPaymentDeclined},
		{cardNoFunds, contracts.ReasonInsufficientFunds},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			p := e.prod.add("Lamp", 3000, 5, sellerA, contracts.ProductActive)
			o := ok[contracts.Order](t, e.checkout(buyer, key(), checkoutBody(tc.card, contracts.LineInput{ProductID: p, Quantity: 2})))
			got := e.waitStatus(buyer, o.ID, contracts.OrderStatusAwaitingPayment)
			if got.StatusReason != tc.reason || got.Payment.Status != contracts.PaymentStatusFailed {
				t.Fatalf("order = %s %s payment %s", got.Status, got.StatusReason, got.Payment.Status)
			}
			var pf contracts.PaymentFailed
			if err := e.waitEvent(contracts.EventPaymentFailed, o.ID).Decode(&pf); err != nil {
				t.Fatal(err)
			}
			if pf.Reason != tc.reason || pf.Amount.Amount != 6000 || pf.UserID != buyer.ID || pf.PayBy == nil ||
				pf.OrderNumber != got.Number || !pf.PayBy.After(got.CreatedAt) {
				t.Fatalf("payment.failed = %+v", pf)
			}
			// What the decline must not do (cancel, release the stock) is
			// checked behind a barrier: an event published after it.
			if tc.card == cardDeclined {
				paid := ok[contracts.Order](t, e.pay(buyer, o.ID, key(), cardOK))
				if paid.Status != contracts.OrderStatusReserved {
					t.Fatalf("pay answered %s, want reserved", paid.Status)
				}
				got = e.waitStatus(buyer, o.ID, contracts.OrderStatusPaid)
				if a := got.Payment.Attempts; len(a) != 2 || a[0].Status != "declined" || a[0].Last4 != "0002" ||
					a[1].Status != "succeeded" || a[1].Last4 != "4242" {
					t.Fatalf("attempts = %+v", a)
				}
				// order.paid comes after anything the decline published:
				// once the spy and the inventory have it, an order.cancelled
				// of the decline would have arrived too.
				e.waitEvent(contracts.EventOrderPaid, o.ID)
				if n := len(e.eventsOf(contracts.EventOrderCancelled, o.ID)); n != 0 {
					t.Fatalf("%d order.cancelled after a decline, want none (the buyer may pay again)", n)
				}
				testenv.Eventually(t, "the inventory handled order.paid", func() bool {
					return e.prod.handledEvent(o.ID, contracts.EventOrderPaid)
				})
				if got := e.prod.stock(p); got != 3 {
					t.Fatalf("stock after the decline and payment = %d, want 3 (held throughout)", got)
				}
				return
			}
			ok[contracts.Order](t, e.call(buyer, contracts.MethodOrderCancel, contracts.Params{"id": {o.ID}}, nil, nil))
			// The buyer's cancellation is the barrier: the only
			// order.cancelled is theirs, from awaiting_payment.
			var c contracts.OrderCancelled
			if err := e.waitEvent(contracts.EventOrderCancelled, o.ID).Decode(&c); err != nil {
				t.Fatal(err)
			}
			if n := len(e.eventsOf(contracts.EventOrderCancelled, o.ID)); n != 1 || c.Reason != contracts.ReasonCancelledByUser ||
				c.PrevStatus != contracts.OrderStatusAwaitingPayment {
				t.Fatalf("%d order.cancelled, first %+v; want only the buyer's, from awaiting_payment", n, c)
			}
			testenv.Eventually(t, "stock back to 5", func() bool { return e.prod.stock(p) == 5 })
		})
	}
}

// TestOutOfStockCancels: inventory.rejected ends the order cancelled
// out_of_stock with the payment voided and nothing charged.
func TestOutOfStockCancels(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.prod.start()
	e.start(nil)
	p := e.prod.add("Rare", 100, 5, sellerA, contracts.ProductActive)
	e.prod.setReject(true) // someone else bought it meanwhile
	o := ok[contracts.Order](t, e.checkout(buyer, key(), checkoutBody(cardOK, contracts.LineInput{ProductID: p, Quantity: 1})))
	got := e.waitStatus(buyer, o.ID, contracts.OrderStatusCancelled)
	if got.StatusReason != contracts.ReasonOutOfStock || got.Payment.Status != contracts.PaymentStatusVoided {
		t.Fatalf("order = %s %s %s", got.Status, got.StatusReason, got.Payment.Status)
	}
	e.waitEvent(contracts.EventOrderCancelled, o.ID)
	if n := e.count(`SELECT count(*) FROM test_provider_charges`); n != 0 {
		t.Fatalf("charged %d times for an order without stock", n)
	}
}

// TestConcurrentCheckoutSameKey: ten identical checkouts at once with one
// Idempotency-Key give one order, one charge and ten identical answers;
// the key with another body is a conflict.
func TestConcurrentCheckoutSameKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.prod.start()
	e.start(nil)
	p := e.prod.add("Pen", 250, 50, sellerA, contracts.ProductActive)
	k := key()
	body := checkoutBody(cardOK, contracts.LineInput{ProductID: p, Quantity: 4})
	replies := make([]string, 10)
	var wg sync.WaitGroup
	for i := range replies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.checkout(buyer, k, body)
			replies[i] = r.Status + " " + string(r.Body)
		}()
	}
	wg.Wait()
	for i, r := range replies {
		if r != replies[0] {
			t.Fatalf("reply %d differs:\n%s\n%s", i, r, replies[0])
		}
	}
	o := ok[contracts.Order](t, e.checkout(buyer, k, body)) // a later replay too
	if n := e.count(`SELECT count(*) FROM orders WHERE user_id = $1`, buyer.ID); n != 1 {
		t.Fatalf("orders = %d, want 1", n)
	}
	e.waitStatus(buyer, o.ID, contracts.OrderStatusPaid)
	if n := e.count(`SELECT count(*) FROM test_provider_charges`); n != 1 {
		t.Fatalf("charges = %d, want 1", n)
	}
	if got := e.prod.stock(p); got != 46 {
		t.Fatalf("stock = %d, want 46 (one reservation)", got)
	}

	other := checkoutBody(cardOK, contracts.LineInput{ProductID: p, Quantity: 5})
	err := failed(t, e.checkout(buyer, k, other), contracts.CodeConflict, "Idempotency-Key")
	if err.Details["order_id"] != o.ID {
		t.Fatalf("conflict details = %v", err.Details)
	}
	// Keys are per user: another buyer's identical key is a new order.
	o2 := ok[contracts.Order](t, e.checkout(buyer2, k, body))
	if o2.ID == o.ID {
		t.Fatal("two users share an idempotency key")
	}
	failed(t, e.checkout(buyer, "", body), contracts.CodeInvalidArgument, "Idempotency-Key")
	failed(t, e.checkout(buyer, strings.Repeat("\x01", 200), body), contracts.CodeInvalidArgument, "Idempotency-Key") // NULs the decoder refuses first
}

// crashingProvider charges for real and then "dies" before the order
// service learns the outcome, as a process killed mid-call would.
type crashingProvider struct {
	payment.Provider
	mu      sync.Mutex
	crashes int
}

func (c *crashingProvider) Charge(ctx context.Context, key, token string, amount contracts.Money) (payment.Charge, error) {
	if _, err := c.Provider.Charge(ctx, key, token, amount); err != nil {
		return payment.Charge{}, err
	}
	c.mu.Lock()
	c.crashes++
	c.mu.Unlock()
	return payment.Charge{}, errors.New("connection reset by peer")
}

// TestRecoveryAfterCrashBeforeReservation: the service stops right after
// the order.placed commit, the inventory is down meanwhile; after restart
// the saga completes and the card is charged once.
func TestRecoveryAfterCrashBeforeReservation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start(nil)
	p := e.prod.add("Chair", 4000, 3, sellerA, contracts.ProductActive)
	o := ok[contracts.Order](t, e.checkout(buyer, key(), checkoutBody(cardOK, contracts.LineInput{ProductID: p, Quantity: 1})))
	e.stop()

	e.prod.start()
	e.start(nil)
	e.waitStatus(buyer, o.ID, contracts.OrderStatusPaid)
	if n := e.count(`SELECT count(*) FROM test_provider_charges`); n != 1 {
		t.Fatalf("charges = %d, want 1", n)
	}
}

// TestRecoveryAfterCrashDuringCharge: the provider took the money but the
// service died before recording it; after a restart the sweeper re-runs
// the charge, which returns the first outcome: paid, charged once.
func TestRecoveryAfterCrashDuringCharge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.prod.start()
	crash := &crashingProvider{}
	e.start(func(p payment.Provider) payment.Provider { crash.Provider = p; return crash })
	p := e.prod.add("Desk", 15000, 3, sellerA, contracts.ProductActive)
	o := ok[contracts.Order](t, e.checkout(buyer, key(), checkoutBody(cardOK, contracts.LineInput{ProductID: p, Quantity: 1})))
	testenv.Eventually(t, "a charge attempt", func() bool { crash.mu.Lock(); defer crash.mu.Unlock(); return crash.crashes > 0 })
	e.stop()
	if n := e.count(`SELECT count(*) FROM orders WHERE id = $1 AND status = 'reserved'`, o.ID); n != 1 {
		t.Fatal("the order is not left reserved by the crash")
	}
	e.start(nil)
	got := e.waitStatus(buyer, o.ID, contracts.OrderStatusPaid)
	if got.Payment.Status != contracts.PaymentStatusSucceeded {
		t.Fatalf("payment = %+v", got.Payment)
	}
	if n := e.count(`SELECT count(*) FROM test_provider_charges`); n != 1 {
		t.Fatalf("charges = %d, want 1", n)
	}
	if n := e.count(`SELECT count(*) FROM payments WHERE order_id = $1 AND kind = 'charge' AND status = 'succeeded'`, o.ID); n != 1 {
		t.Fatalf("succeeded attempts = %d, want 1", n)
	}
	if n := e.count(`SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'error'`, o.ID); n < 1 {
		t.Fatal("the failed attempt was not recorded")
	}
	// The buyer's cancellation is published after every order.paid of the
	// charge and its retry: once the spy has it, they have all arrived.
	ok[contracts.Order](t, e.call(buyer, contracts.MethodOrderCancel, contracts.Params{"id": {o.ID}}, nil, nil))
	e.waitEvent(contracts.EventOrderCancelled, o.ID)
	if evs := e.eventsOf(contracts.EventOrderPaid, o.ID); len(evs) != 1 {
		t.Fatalf("order.paid emitted %d times, want once", len(evs))
	}
}

// hangingProvider charges for real and then never answers until release
// is closed, as a provider call cut short by the death of its process:
// the money is taken, the order service never learns it.
type hangingProvider struct {
	payment.Provider
	entered chan struct{}
	release chan struct{}
}

func (h *hangingProvider) Charge(ctx context.Context, key, token string, amount contracts.Money) (payment.Charge, error) {
	ch, err := h.Provider.Charge(ctx, key, token, amount)
	select {
	case h.entered <- struct{}{}:
	default:
	}
	<-h.release
	return ch, err
}

// TestRestartResumesItsInterruptedChargeAtOnce: an order service dies
// while a charge is in flight (the provider took the money, the outcome
// was never recorded) and the order stays reserved under that instance's
// charge lease. Restarted with the same identity, the instance resumes the
// charge at start, without waiting for the lease: with a lease of an hour
// only that can make the order paid within the test. The retry returns the
// first outcome: one charge, one succeeded attempt, one order.paid.
func TestRestartResumesItsInterruptedChargeAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.ChargeLease = time.Hour
	e.prod.start()
	hung := &hangingProvider{entered: make(chan struct{}, 1), release: make(chan struct{})}
	first := e.start(func(p payment.Provider) payment.Provider { hung.Provider = p; return hung })
	p := e.prod.add("Lamp", 5200, 3, sellerA, contracts.ProductActive)
	o := ok[contracts.Order](t, e.checkout(buyer, key(), checkoutBody(cardOK, contracts.LineInput{ProductID: p, Quantity: 1})))
	select {
	case <-hung.entered:
	case <-time.After(testenv.Wait):
		t.Fatal("no charge reached the provider")
	}
	// The first run dies mid-charge: it stops taking requests and events,
	// and its charge records nothing before the test ends.
	stopped := make(chan struct{})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = first.Stop(ctx)
		close(stopped)
	}()
	t.Cleanup(func() { close(hung.release); <-stopped })
	if n := e.count(`SELECT count(*) FROM orders WHERE id = $1 AND status = 'reserved' AND charge_lease > now() + interval '50 minutes'`, o.ID); n != 1 {
		t.Fatal("the order is not reserved under the crashed attempt's lease")
	}

	e.start(nil)
	got := e.waitStatus(buyer, o.ID, contracts.OrderStatusPaid)
	if got.Payment.Status != contracts.PaymentStatusSucceeded {
		t.Fatalf("payment = %+v", got.Payment)
	}
	if n := e.count(`SELECT count(*) FROM test_provider_charges`); n != 1 {
		t.Fatalf("charges = %d, want 1", n)
	}
	if n := e.count(`SELECT count(*) FROM payments WHERE order_id = $1 AND kind = 'charge' AND status = 'succeeded'`, o.ID); n != 1 {
		t.Fatalf("succeeded attempts = %d, want 1", n)
	}
	// The buyer's cancellation is published after the order.paid: once
	// the spy has it, every order.paid has arrived.
	ok[contracts.Order](t, e.call(buyer, contracts.MethodOrderCancel, contracts.Params{"id": {o.ID}}, nil, nil))
	e.waitEvent(contracts.EventOrderCancelled, o.ID)
	if evs := e.eventsOf(contracts.EventOrderPaid, o.ID); len(evs) != 1 {
		t.Fatalf("order.paid emitted %d times, want once", len(evs))
	}
}

// TestPendingTimesOut: an order the inventory never answers is cancelled
// reservation_timeout by the sweeper.
func TestPendingTimesOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.PendingTimeout = 300e6 // 300ms
	e.start(nil)
	p := e.prod.add("Clock", 700, 3, sellerA, contracts.ProductActive)
	o := ok[contracts.Order](t, e.checkout(buyer, key(), checkoutBody(cardOK, contracts.LineInput{ProductID: p, Quantity: 1})))
	got := e.waitStatus(buyer, o.ID, contracts.OrderStatusCancelled)
	if got.StatusReason != contracts.ReasonReservationTimeout {
		t.Fatalf("reason = %s", got.StatusReason)
	}
	e.waitEvent(contracts.EventOrderCancelled, o.ID)
	// A reservation that arrives late changes nothing; the inventory
	// releases it on order.cancelled.
	e.prod.start()
	testenv.Eventually(t, "late reservation released", func() bool { return e.prod.stock(p) == 3 })
	// Barrier: the order service has handled the late inventory.reserved
	// (its inbox holds it) before the order is looked at.
	testenv.Eventually(t, "the late reservation handled", func() bool {
		return e.count(`SELECT count(*) FROM oc_inbox WHERE consumer = 'order'`) >= 1
	})
	if g := ok[contracts.Order](t, e.get(buyer, o.ID)); g.Status != contracts.OrderStatusCancelled {
		t.Fatalf("status = %s", g.Status)
	}
}

// gatedProvider holds every charge until the gate opens.
type gatedProvider struct {
	payment.Provider
	entered chan struct{}
	gate    chan struct{}
}

func (g *gatedProvider) Charge(ctx context.Context, key, token string, amount contracts.Money) (payment.Charge, error) {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	<-g.gate
	return g.Provider.Charge(ctx, key, token, amount)
}

// TestCancelDuringChargeRefunds: the buyer cancels while the charge is at
// the provider; the money that comes in anyway goes back.
func TestCancelDuringChargeRefunds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.prod.start()
	g := &gatedProvider{entered: make(chan struct{}, 1), gate: make(chan struct{})}
	e.start(func(p payment.Provider) payment.Provider { g.Provider = p; return g })
	p := e.prod.add("Vase", 5000, 3, sellerA, contracts.ProductActive)
	o := ok[contracts.Order](t, e.checkout(buyer, key(), checkoutBody(cardOK, contracts.LineInput{ProductID: p, Quantity: 1})))
	<-g.entered
	c := ok[contracts.Order](t, e.call(buyer, contracts.MethodOrderCancel, contracts.Params{"id": {o.ID}}, nil, nil))
	if c.Status != contracts.OrderStatusCancelled || c.Payment.Status != contracts.PaymentStatusVoided {
		t.Fatalf("cancelled = %s payment %s", c.Status, c.Payment.Status)
	}
	close(g.gate)
	testenv.Eventually(t, "the late charge refunded", func() bool {
		return ok[contracts.Order](t, e.get(buyer, o.ID)).Payment.Status == contracts.PaymentStatusRefunded
	})
	if got := ok[contracts.Order](t, e.get(buyer, o.ID)); got.Status != contracts.OrderStatusCancelled || got.StatusReason != contracts.ReasonCancelledByUser {
		t.Fatalf("order = %s %s", got.Status, got.StatusReason)
	}
	e.waitEvent(contracts.EventOrderRefunded, o.ID)
	if n := e.count(`SELECT count(*) FROM test_provider_refunds`); n != 1 {
		t.Fatalf("refunds = %d", n)
	}
	// order.refunded (awaited above) is published after whatever the late
	// charge's outcome published: a wrong order.paid would be seen by now.
	if len(e.eventsOf(contracts.EventOrderPaid, o.ID)) != 0 {
		t.Fatal("a cancelled order was announced paid")
	}
	testenv.Eventually(t, "stock back", func() bool { return e.prod.stock(p) == 3 })
}

// refusingProvider refuses every charge as malformed.
type refusingProvider struct{ payment.Provider }

func (refusingProvider) Charge(context.Context, string, string, contracts.Money) (payment.Charge, error) {
	return payment.Charge{}, contracts.InvalidArgument("token", "unknown payment token")
}

// TestChargeRefusedByProviderAwaitsPayment: a charge the provider refuses
// as malformed is not retried forever; the order fails like a decline (it
// awaits another card, the stock held).
func TestChargeRefusedByProviderAwaitsPayment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.prod.start()
	e.start(func(p payment.Provider) payment.Provider { return refusingProvider{p} })
	p := e.prod.add("Hat", 900, 3, sellerA, contracts.ProductActive)
	o := ok[contracts.Order](t, e.checkout(buyer, key(), checkoutBody(cardOK, contracts.LineInput{ProductID: p, Quantity: 1})))
	got := e.waitStatus(buyer, o.ID, contracts.OrderStatusAwaitingPayment)
	if got.StatusReason != contracts.ReasonPaymentDeclined || got.Payment.Status != contracts.PaymentStatusFailed {
		t.Fatalf("order = %s %s", got.StatusReason, got.Payment.Status)
	}
	if got := e.prod.stock(p); got != 2 {
		t.Fatalf("stock = %d, want 2 (held while the buyer may pay again)", got)
	}
}
