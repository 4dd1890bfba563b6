package e2e_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
)

// TestOrderRaceForTheLastUnits (issue 6): 100 buyers race for a shelf of
// 10 units of one product, through the gateway, on the real product
// service. Each has already put one unit in the cart (the shelf still shows
// 10) and all 100 check out at once, each with its own Idempotency-Key and
// the good test card. Exactly 10 orders are paid, each charged exactly once;
// every other buyer either was refused at checkout (409: the catalogue
// already showed the shelf empty when that checkout priced its line — no
// order, nothing charged) or has an order cancelled out_of_stock whose
// payment was voided without any call to the provider. The shelf ends
// empty with nothing left reserved: never oversold, nothing leaked.
func TestOrderRaceForTheLastUnits(t *testing.T) {
	t.Parallel()
	const (
		racers = 100
		units  = 10
		price  = 4200
	)
	env := startShop(t)
	c := newClient(t, env)
	adm := c.as(adminSession(c).Access)
	cat := newCategory(adm, "Limited Editions", "")
	seller, _ := account(c, "seller")
	shelf := newProduct(seller, "Signed Print", cat.ID, price, units)

	buyers := make([]*client, racers)
	for i := range buyers {
		buyers[i], _ = account(c, "")
	}
	// Every buyer takes one unit into the cart while the shelf shows 10.
	parallel(t, racers, func(i int) (response, error) {
		return send(buyers[i], "PUT", "/cart/items/"+shelf.ID, contracts.CartSetItemRequest{Quantity: 1})
	}, http.StatusOK)

	// All check out at once: each goroutine is parked on the start line
	// before the gun goes.
	replies := make([]response, racers)
	errs := make([]error, racers)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		ready.Add(1)
		done.Go(func() {
			ready.Done()
			<-start
			replies[i], errs[i] = send(buyers[i], "POST", "/orders", checkoutOf(cardOK), "Idempotency-Key", newKey())
		})
	}
	ready.Wait()
	close(start)
	done.Wait()

	var paid, outOfStock, refused int
	for i, r := range replies {
		if errs[i] != nil {
			t.Fatalf("buyer %d: checkout: %v", i, errs[i])
		}
		switch r.Status {
		case http.StatusConflict:
			// Not placed: the shelf already showed empty to this checkout.
			wantError(t, r, http.StatusConflict, "failed_precondition")
			refused++
			if l := listOrders(buyers[i], "/orders"); len(l) != 0 {
				t.Errorf("buyer %d was refused at checkout yet has orders %+v", i, l)
			}
			continue
		case http.StatusAccepted:
		default:
			t.Errorf("buyer %d: checkout answered %s", i, r)
			continue
		}
		placed := decode[contracts.Order](t, r)
		if placed.Status != contracts.OrderStatusPending || placed.Total != contracts.USD(price) {
			t.Errorf("buyer %d: placed order = %+v", i, placed)
		}
		awaitSettled(buyers[i], placed.ID)
		o := getOrder(buyers[i], placed.ID) // the full view, with the payment attempts
		switch {
		case o.Status == contracts.OrderStatusPaid:
			paid++
			if o.Payment.Status != contracts.PaymentStatusSucceeded {
				t.Errorf("buyer %d: paid order's payment is %q, want succeeded", i, o.Payment.Status)
			}
			if a := o.Payment.Attempts; len(a) != 1 || a[0].Kind != "charge" || a[0].Status != "succeeded" || a[0].Amount != contracts.USD(price) {
				t.Errorf("buyer %d: paid order's payment attempts = %+v, want exactly one succeeded charge of %d", i, a, price)
			}
		case o.Status == contracts.OrderStatusCancelled && o.StatusReason == contracts.ReasonOutOfStock:
			outOfStock++
			if o.Payment.Status != contracts.PaymentStatusVoided {
				t.Errorf("buyer %d: order cancelled out of stock has payment %q, want voided", i, o.Payment.Status)
			}
			for _, a := range o.Payment.Attempts {
				if a.Kind == "charge" {
					t.Errorf("buyer %d: order cancelled out of stock has a charge attempt %+v", i, a)
				}
			}
		default:
			t.Errorf("buyer %d: order ended %s (%q), want paid or cancelled out_of_stock", i, o.Status, o.StatusReason)
		}
	}
	t.Logf("race split of %d buyers for %d units: %d paid, %d placed then cancelled out_of_stock, %d refused at checkout (409, no order)",
		racers, units, paid, outOfStock, refused)
	if paid != units {
		t.Errorf("%d orders paid for a shelf of %d units, want exactly %d", paid, units, units)
	}
	if paid+outOfStock+refused != racers {
		t.Errorf("paid %d + out of stock %d + refused %d = %d buyers accounted for, want %d",
			paid, outOfStock, refused, paid+outOfStock+refused, racers)
	}
	// Behind the public API: the provider took exactly the 10 sales.
	if n := charges(t, env); n != units {
		t.Errorf("charges at the payment provider = %d, want %d", n, units)
	}
	if got := metric(t, env, "oc_orders_paid_total"); got != units {
		t.Errorf("oc_orders_paid_total = %v, want %d", got, units)
	}
	if got := metric(t, env, "oc_orders_cancelled_total", `reason="out_of_stock"`); got != float64(outOfStock) {
		t.Errorf("oc_orders_cancelled_total{reason=out_of_stock} = %v, want %d", got, outOfStock)
	}
	if got := metric(t, env, "oc_orders_placed_total"); got != float64(paid+outOfStock) {
		t.Errorf("oc_orders_placed_total = %v, want %d", got, paid+outOfStock)
	}
	// Never oversold, nothing left held.
	awaitStock(seller, shelf.ID, 0, 0)
}

// parallel runs call(i) for i in [0, n) at once and fails the test unless
// every answer has status want.
func parallel(t *testing.T, n int, call func(i int) (response, error), want int) {
	t.Helper()
	replies := make([]response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { replies[i], errs[i] = call(i) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if replies[i].Status != want {
			t.Fatalf("call %d: got %s, want %d", i, replies[i], want)
		}
	}
}
