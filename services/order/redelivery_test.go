package order_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/services/order/payment"
)

// Issue 6: every event the order service consumes may arrive more than
// once, redelivered by the broker (same event id) or re-sent by a producer
// under a new id; and a process may die between the provider's charge and
// the commit that records it. These tests play the inventory themselves
// (the fake product service's catalogue answers product.lookup, but its
// stock keeper is never started) so they decide exactly what is delivered
// and how often.

// publishAll publishes evs on the bus at once, as the inventory would.
func (e *env) publishAll(evs ...contracts.Event) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	errs := make([]error, len(evs))
	var wg sync.WaitGroup
	for i, ev := range evs {
		wg.Go(func() { errs[i] = e.prod.pub.Publish(ctx, ev) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			e.t.Fatalf("publish: %v", err)
		}
	}
}

// consumed is how many events of typ the order service has handled
// successfully (oc_events_consumed_total{service="order",result="ok"}).
func (e *env) consumed(typ string) int {
	return int(e.metric("oc_events_consumed_total", map[string]string{"service": "order", "type": typ, "result": "ok"}))
}

// outboxCount counts the events of typ about order id the order service
// wrote (its outbox: what it emitted, whether published yet or not).
func (e *env) outboxCount(typ, id string) int {
	e.t.Helper()
	return e.count(`SELECT count(*) FROM oc_outbox WHERE type = $1 AND payload->'data'->>'order_id' = $2`, typ, id)
}

// settleOutbox waits until the relay published every row of the order
// service's outbox and the spy saw them: once the outbox is drained, a
// marker event published after it reaches the spy's queue behind them, and
// the spy (one worker) consumes in order, so seeing the marker means every
// earlier event was seen. The marker is a payment.* type the spy binds and
// the order service does not.
func (e *env) settleOutbox() {
	e.t.Helper()
	testenv.Eventually(e.t, "the outbox drained", func() bool { return e.count(`SELECT count(*) FROM oc_outbox WHERE published_at IS NULL`) == 0 })
	marker := uuid.NewString()
	e.publishAll(inventoryEvent(e.t, "payment.test_barrier", map[string]string{"order_id": marker}))
	e.waitEvent("payment.test_barrier", marker)
}

// inventoryEvent builds an inventory event about orderID.
func inventoryEvent(t testing.TB, typ string, data any) contracts.Event {
	t.Helper()
	ev, err := newEvent(typ, data)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// reissued is ev re-sent by its producer under a new event id (same type,
// same data): the inbox cannot recognise it, the order's state must.
func reissued(ev contracts.Event) contracts.Event {
	ev.ID = uuid.Must(uuid.NewV7()).String()
	ev.OccurredAt = time.Now().UTC()
	return ev
}

// TestDuplicateInventoryEventsChangeNothing: each inventory answer is
// delivered five times — three at once (the event, its redelivery with the
// same id, and a copy under a new id), then the last two again after the
// order settled. The outcome is that of one delivery: one charge and one
// order.paid for inventory.reserved; one cancellation and one
// order.cancelled for inventory.rejected and for inventory.released
// (expired); nothing at all for the inventory's echo of our own
// cancellation (released, reason cancelled).
func TestDuplicateInventoryEventsChangeNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // the fake's stock keeper stays off: this test is the inventory
	e.start(nil)
	pid := e.prod.add("Kettle", 2400, 100, sellerA, contracts.ProductActive)
	held := []contracts.InventoryItem{{ProductID: pid, Quantity: 1}}

	type counts map[string]int // event type → how many the order service emitted about the order
	for _, tc := range []struct {
		name                string
		typ                 string
		data                func(orderID string) any
		status, reason, pay string
		charges             int    // at the provider
		attempts            int    // payment attempts recorded (each a succeeded charge)
		metric              string // business counter that moves by exactly one ("" none)
		metricLabels        map[string]string
		emitted             counts
		inboxRows           int // of the event and its copy: the echo is dropped before the inbox
	}{
		{
			name: "inventory.reserved → charged once, paid once", typ: contracts.EventInventoryReserved,
			data:   func(id string) any { return contracts.InventoryReserved{OrderID: id, Items: held} },
			status: contracts.OrderStatusPaid, pay: contracts.PaymentStatusSucceeded, charges: 1, attempts: 1,
			metric:    "oc_orders_paid_total",
			emitted:   counts{contracts.EventOrderPaid: 1, contracts.EventOrderCancelled: 0, contracts.EventPaymentFailed: 0},
			inboxRows: 2,
		},
		{
			name: "inventory.rejected → cancelled out_of_stock once", typ: contracts.EventInventoryRejected,
			data: func(id string) any {
				return contracts.InventoryRejected{OrderID: id, Reason: contracts.RejectOutOfStock,
					Items: []contracts.InventoryShortfall{{ProductID: pid, Requested: 1}}}
			},
			status: contracts.OrderStatusCancelled, reason: contracts.ReasonOutOfStock, pay: contracts.PaymentStatusVoided,
			metric: "oc_orders_cancelled_total", metricLabels: map[string]string{"reason": contracts.ReasonOutOfStock},
			emitted:   counts{contracts.EventOrderCancelled: 1, contracts.EventOrderPaid: 0, contracts.EventPaymentFailed: 0},
			inboxRows: 2,
		},
		{
			name: "inventory.released expired → cancelled reservation_expired once", typ: contracts.EventInventoryReleased,
			data: func(id string) any {
				return contracts.InventoryReleased{OrderID: id, Reason: contracts.ReleaseExpired, Items: held}
			},
			status: contracts.OrderStatusCancelled, reason: contracts.ReasonReservationExpired, pay: contracts.PaymentStatusVoided,
			metric: "oc_orders_cancelled_total", metricLabels: map[string]string{"reason": contracts.ReasonReservationExpired},
			emitted:   counts{contracts.EventOrderCancelled: 1, contracts.EventOrderPaid: 0, contracts.EventPaymentFailed: 0},
			inboxRows: 2,
		},
		{
			name: "inventory.released cancelled (our own echo) → nothing", typ: contracts.EventInventoryReleased,
			data: func(id string) any {
				return contracts.InventoryReleased{OrderID: id, Reason: contracts.ReleaseCancelled, Items: held}
			},
			status: contracts.OrderStatusPending, pay: contracts.PaymentStatusPending,
			emitted: counts{contracts.EventOrderCancelled: 0, contracts.EventOrderPaid: 0, contracts.EventPaymentFailed: 0},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok[contracts.Order](t, e.checkout(buyer, key(), checkoutBody(cardOK, contracts.LineInput{ProductID: pid, Quantity: 1})))
			e.waitEvent(contracts.EventOrderPlaced, o.ID)
			metricBefore := 0.0
			if tc.metric != "" {
				metricBefore = e.metric(tc.metric, tc.metricLabels)
			}

			ev := inventoryEvent(t, tc.typ, tc.data(o.ID))
			twin := reissued(ev)
			base := e.consumed(tc.typ)
			e.publishAll(ev, ev, twin) // racing each other in the consumer's workers
			testenv.Eventually(t, "three deliveries handled", func() bool { return e.consumed(tc.typ) >= base+3 })
			got := e.waitStatus(buyer, o.ID, tc.status)
			e.publishAll(ev, twin) // late: after the order settled
			testenv.Eventually(t, "five deliveries handled", func() bool { return e.consumed(tc.typ) >= base+5 })
			e.settleOutbox()

			if n := e.consumed(tc.typ) - base; n != 5 {
				t.Errorf("deliveries handled = %d, want 5 (none retried or dead-lettered)", n)
			}
			got = ok[contracts.Order](t, e.get(buyer, o.ID))
			if got.Status != tc.status || got.StatusReason != tc.reason || got.Payment.Status != tc.pay {
				t.Errorf("order = %s (%q) payment %s, want %s (%q) payment %s",
					got.Status, got.StatusReason, got.Payment.Status, tc.status, tc.reason, tc.pay)
			}
			if len(got.Payment.Attempts) != tc.attempts {
				t.Errorf("payment attempts = %+v, want %d", got.Payment.Attempts, tc.attempts)
			}
			for _, a := range got.Payment.Attempts {
				if a.Kind != "charge" || a.Status != "succeeded" || a.Amount != got.Total {
					t.Errorf("payment attempt %+v, want a succeeded charge of %v", a, got.Total)
				}
			}
			if n := e.count(`SELECT count(*) FROM test_provider_charges WHERE idempotency_key = $1`, o.ID); n != tc.charges {
				t.Errorf("charges at the provider = %d, want %d", n, tc.charges)
			}
			if n := e.count(`SELECT count(*) FROM payments WHERE order_id = $1`, o.ID); n != tc.attempts {
				t.Errorf("payment rows = %d, want %d", n, tc.attempts)
			}
			for typ, want := range tc.emitted {
				if n := e.outboxCount(typ, o.ID); n != want {
					t.Errorf("%s written %d times, want %d", typ, n, want)
				}
				if n := len(e.eventsOf(typ, o.ID)); n != want {
					t.Errorf("%s seen on the bus %d times, want %d", typ, n, want)
				}
			}
			if n := e.outboxCount(contracts.EventOrderPlaced, o.ID); n != 1 {
				t.Errorf("order.placed written %d times, want 1", n)
			}
			// The redelivery is recognised by the inbox (one row per id);
			// the copy under a new id by the order's state.
			if n := e.count(`SELECT count(*) FROM oc_inbox WHERE consumer = 'order' AND event_id = ANY($1)`,
				[]string{ev.ID, twin.ID}); n != tc.inboxRows {
				t.Errorf("inbox rows for the event and its copy = %d, want %d", n, tc.inboxRows)
			}
			if tc.metric != "" {
				if d := e.metric(tc.metric, tc.metricLabels) - metricBefore; d != 1 {
					t.Errorf("%s%v moved by %v, want 1", tc.metric, tc.metricLabels, d)
				}
			}
		})
	}
}

// vanishingProvider takes the money for real and then ends the goroutine
// that asked for it (runtime.Goexit) before the answer is returned: nothing
// after the provider's call runs — no outcome recorded, no lease released,
// the event not acked — exactly what a process killed at that instant
// leaves behind. (A provider returning an error instead lets the living
// service record an "error" attempt and release its lease, which is the
// outcome-unknown path, not a crash.)
type vanishingProvider struct {
	payment.Provider
	charged chan string // the order id, once the money was taken
}

func (v *vanishingProvider) Charge(ctx context.Context, key, token string, amount contracts.Money) (payment.Charge, error) {
	ch, err := v.Provider.Charge(ctx, key, token, amount)
	if err != nil || ch.Status != payment.ChargeSucceeded {
		return ch, err
	}
	v.charged <- key
	runtime.Goexit()
	return ch, nil
}

// countingProvider counts and timestamps the charges asked of it.
type countingProvider struct {
	payment.Provider
	mu    sync.Mutex
	calls []time.Time
}

func (c *countingProvider) Charge(ctx context.Context, key, token string, amount contracts.Money) (payment.Charge, error) {
	c.mu.Lock()
	c.calls = append(c.calls, time.Now())
	c.mu.Unlock()
	return c.Provider.Charge(ctx, key, token, amount)
}

func (c *countingProvider) snapshot() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.calls...)
}

// TestRecoveryAfterDeathBetweenChargeAndRecord: the instance dies after
// the provider took the money and before it committed the outcome, holding
// the charge lease and leaving inventory.reserved unacked. Another
// instance (another replica: a different order.instance, so not the dead
// one's restart, which would resume at once) waits out the dead one's
// lease, charges again with the same idempotency key and gets the first
// outcome back: the order is paid, the buyer
// charged once, one payment attempt (the one that knew the outcome), one
// order.paid; the redelivered inventory.reserved changes nothing.
func TestRecoveryAfterDeathBetweenChargeAndRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.prod.start()
	v := &vanishingProvider{charged: make(chan string, 1)}
	e.cfg.Instance = "replica-a"
	e.start(func(p payment.Provider) payment.Provider { v.Provider = p; return v })
	pid := e.prod.add("Desk", 15000, 3, sellerA, contracts.ProductActive)
	o := ok[contracts.Order](t, e.checkout(buyer, key(), checkoutBody(cardOK, contracts.LineInput{ProductID: pid, Quantity: 1})))
	select {
	case id := <-v.charged:
		if id != o.ID {
			t.Fatalf("charged %s, want the order id %s as the idempotency key", id, o.ID)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the order was never charged")
	}
	e.stop() // within the lease: the dead instance's sweeper must not have repaired it

	// What the dead process left: money taken, nothing recorded.
	var lease time.Time
	var status string
	if err := e.db().QueryRow(context.Background(), `SELECT status, charge_lease FROM orders WHERE id = $1`, o.ID).
		Scan(&status, &lease); err != nil {
		t.Fatal(err)
	}
	if status != contracts.OrderStatusReserved {
		t.Fatalf("after the death the order is %s, want reserved", status)
	}
	if n := e.count(`SELECT count(*) FROM test_provider_charges WHERE idempotency_key = $1 AND status = 'succeeded'`, o.ID); n != 1 {
		t.Fatalf("charges at the provider before the restart = %d, want 1", n)
	}
	if n := e.count(`SELECT count(*) FROM payments WHERE order_id = $1`, o.ID); n != 0 {
		t.Fatalf("payment rows before the restart = %d, want 0 (the process died before recording)", n)
	}
	if n := e.outboxCount(contracts.EventOrderPaid, o.ID); n != 0 {
		t.Fatalf("order.paid written before the restart: %d", n)
	}

	cp := &countingProvider{}
	e.cfg.Instance = "replica-b"
	e.start(func(p payment.Provider) payment.Provider { cp.Provider = p; return cp })
	got := e.waitStatus(buyer, o.ID, contracts.OrderStatusPaid)
	// The requeued inventory.reserved reaches the new instance too (the
	// dead one never acked it) and is a duplicate there.
	testenv.Eventually(t, "the unacked inventory.reserved redelivered", func() bool { return e.consumed(contracts.EventInventoryReserved) >= 1 })
	e.settleOutbox()

	calls := cp.snapshot()
	if len(calls) != 1 {
		t.Errorf("charges asked by the new instance = %d, want 1 (the retry)", len(calls))
	}
	if len(calls) > 0 && calls[0].Before(lease.Add(-50*time.Millisecond)) {
		t.Errorf("the new instance charged at %v, before the dead one's lease ran out at %v", calls[0], lease)
	}
	if got.Payment.Status != contracts.PaymentStatusSucceeded {
		t.Errorf("payment = %+v", got.Payment)
	}
	if a := got.Payment.Attempts; len(a) != 1 || a[0].Kind != "charge" || a[0].Status != "succeeded" || a[0].Amount != got.Total {
		t.Errorf("payment attempts = %+v, want one succeeded charge of %v", a, got.Total)
	}
	if n := e.count(`SELECT count(*) FROM test_provider_charges WHERE idempotency_key = $1`, o.ID); n != 1 {
		t.Errorf("charges at the provider = %d, want 1", n)
	}
	// The recorded outcome is the provider's first one, not a new charge.
	if n := e.count(`SELECT count(*) FROM payments p JOIN test_provider_charges c ON c.idempotency_key = p.order_id::text
		AND c.ref = p.provider_ref WHERE p.order_id = $1`, o.ID); n != 1 {
		t.Errorf("recorded attempts matching the provider's charge = %d, want 1", n)
	}
	if n := e.outboxCount(contracts.EventOrderPaid, o.ID); n != 1 {
		t.Errorf("order.paid written %d times, want 1", n)
	}
	if n := len(e.eventsOf(contracts.EventOrderPaid, o.ID)); n != 1 {
		t.Errorf("order.paid seen %d times, want 1", n)
	}
	if n := e.prod.stock(pid); n != 2 {
		t.Errorf("stock = %d, want 2 (one unit sold)", n)
	}
}

// heldFirstProvider holds the first charge asked of it until release is
// closed; later charges go straight through.
type heldFirstProvider struct {
	payment.Provider
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (h *heldFirstProvider) Charge(ctx context.Context, key, token string, amount contracts.Money) (payment.Charge, error) {
	first := false
	h.once.Do(func() { first = true })
	if first {
		close(h.entered)
		<-h.release
	}
	return h.Provider.Charge(ctx, key, token, amount)
}

// TestChargeOutlivingItsLeaseRecordsOneAttempt: a charge call slower than
// the charge lease is overtaken by the sweeper's retry (a twin with the same
// idempotency key), which records the outcome: paid. When the slow call
// finally returns the same outcome it must add nothing — no second
// "succeeded" charge among the payment attempts (which would read as a
// double charge), no second order.paid.
func TestChargeOutlivingItsLeaseRecordsOneAttempt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.ChargeLease = 500 * time.Millisecond
	e.prod.start()
	h := &heldFirstProvider{entered: make(chan struct{}), release: make(chan struct{})}
	e.start(func(p payment.Provider) payment.Provider { h.Provider = p; return h })
	pid := e.prod.add("Rug", 8800, 3, sellerA, contracts.ProductActive)
	o := ok[contracts.Order](t, e.checkout(buyer, key(), checkoutBody(cardOK, contracts.LineInput{ProductID: pid, Quantity: 1})))
	select {
	case <-h.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the order was never charged")
	}
	e.waitStatus(buyer, o.ID, contracts.OrderStatusPaid) // the sweeper's twin, after the lease ran out
	close(h.release)
	// The slow call records its outcome (or not) in its own time: wait
	// until the event handler that made it has returned.
	testenv.Eventually(t, "the slow charge returned", func() bool { return e.consumed(contracts.EventInventoryReserved) >= 1 })
	e.settleOutbox()

	got := ok[contracts.Order](t, e.get(buyer, o.ID))
	if got.Status != contracts.OrderStatusPaid || got.Payment.Status != contracts.PaymentStatusSucceeded {
		t.Errorf("order = %s payment %s, want paid succeeded", got.Status, got.Payment.Status)
	}
	if a := got.Payment.Attempts; len(a) != 1 || a[0].Kind != "charge" || a[0].Status != "succeeded" {
		t.Errorf("payment attempts = %+v, want exactly one succeeded charge", a)
	}
	if n := e.count(`SELECT count(*) FROM test_provider_charges WHERE idempotency_key = $1`, o.ID); n != 1 {
		t.Errorf("charges at the provider = %d, want 1", n)
	}
	if n := e.outboxCount(contracts.EventOrderPaid, o.ID); n != 1 {
		t.Errorf("order.paid written %d times, want 1", n)
	}
}

// TestPaidOrderWhoseReservationExpiredIsRefunded: the charge landed after
// the inventory let the hold expire (its inventory.released "expired"
// arrives once the order is paid). The product service could not sell the
// units, so the order ends cancelled (reservation_expired) with the money
// returned once, announced as order.cancelled (refunded) and order.refunded;
// a redelivery changes nothing more.
func TestPaidOrderWhoseReservationExpiredIsRefunded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start(nil)
	pid := e.prod.add("Teapot", 3100, 100, sellerA, contracts.ProductActive)
	held := []contracts.InventoryItem{{ProductID: pid, Quantity: 1}}
	o := ok[contracts.Order](t, e.checkout(buyer, key(), checkoutBody(cardOK, contracts.LineInput{ProductID: pid, Quantity: 1})))
	e.waitEvent(contracts.EventOrderPlaced, o.ID)
	e.publishAll(inventoryEvent(t, contracts.EventInventoryReserved, contracts.InventoryReserved{OrderID: o.ID, Items: held}))
	e.waitStatus(buyer, o.ID, contracts.OrderStatusPaid)

	expired := inventoryEvent(t, contracts.EventInventoryReleased, contracts.InventoryReleased{OrderID: o.ID, Reason: contracts.ReleaseExpired, Items: held})
	e.publishAll(expired, reissued(expired))
	got := e.waitStatus(buyer, o.ID, contracts.OrderStatusCancelled)
	testenv.Eventually(t, "the payment refunded", func() bool {
		got = ok[contracts.Order](t, e.get(buyer, o.ID))
		return got.Payment.Status == contracts.PaymentStatusRefunded
	})
	e.publishAll(expired) // late redelivery
	e.settleOutbox()
	got = ok[contracts.Order](t, e.get(buyer, o.ID))
	if got.StatusReason != contracts.ReasonReservationExpired {
		t.Fatalf("reason = %q, want %q", got.StatusReason, contracts.ReasonReservationExpired)
	}
	var charges, refunds int
	for _, a := range got.Payment.Attempts {
		switch {
		case a.Kind == "charge" && a.Status == "succeeded":
			charges++
		case a.Kind == "refund" && a.Status == "succeeded":
			refunds++
		}
	}
	if charges != 1 || refunds != 1 {
		t.Fatalf("attempts %+v: want one charge and one refund", got.Payment.Attempts)
	}
	var c contracts.OrderCancelled
	if err := e.waitEvent(contracts.EventOrderCancelled, o.ID).Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.PrevStatus != contracts.OrderStatusPaid || !c.Refunded {
		t.Fatalf("order.cancelled = %+v, want prev_status paid and refunded", c)
	}
	if n := e.outboxCount(contracts.EventOrderCancelled, o.ID); n != 1 {
		t.Fatalf("order.cancelled written %d times, want 1", n)
	}
	if n := e.outboxCount(contracts.EventOrderRefunded, o.ID); n != 1 {
		t.Fatalf("order.refunded written %d times, want 1", n)
	}
}
