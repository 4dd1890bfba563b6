package product_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// ledgerBalance checks the stock accounting of one product (or one of its
// variants when variantID is set) against its ledger:
//
//	stock    = incoming + adjustments - reservations + releases
//	reserved = reservations - releases - outgoing
//	stock + sold net of returns = initial stock + adjustments
//
// where returns are incoming entries carrying an order id and the initial
// stock is the incoming entry without one. It returns the net units sold.
func ledgerBalance(t *testing.T, inv contracts.Inventory, variantID string) (soldNet int64) {
	t.Helper()
	var stock, reserved int64
	if variantID == "" {
		stock, reserved = inv.Stock, inv.Reserved
	} else {
		found := false
		for _, v := range inv.Variants {
			if v.VariantID == variantID {
				stock, reserved, found = v.Stock, v.Reserved, true
			}
		}
		if !found {
			t.Fatalf("variant %s not in %+v", variantID, inv.Variants)
		}
	}
	if inv.NextCursor != "" {
		t.Fatalf("ledger longer than one page")
	}
	var avail, held, initialAndAdjusted int64
	for _, e := range inv.Ledger {
		if e.VariantID != variantID {
			continue
		}
		switch e.Kind {
		case contracts.LedgerIncoming:
			avail += e.Quantity
			if e.OrderID != "" {
				soldNet -= e.Quantity
			} else {
				initialAndAdjusted += e.Quantity
			}
		case contracts.LedgerAdjustment:
			avail += e.Quantity
			initialAndAdjusted += e.Quantity
		case contracts.LedgerReservation:
			avail -= e.Quantity
			held += e.Quantity
		case contracts.LedgerRelease:
			avail += e.Quantity
			held -= e.Quantity
		case contracts.LedgerOutgoing:
			held -= e.Quantity
			soldNet += e.Quantity
		default:
			t.Fatalf("unknown ledger kind %q", e.Kind)
		}
	}
	if avail != stock || held != reserved || stock+reserved+soldNet != initialAndAdjusted {
		t.Fatalf("ledger (variant %q): available %d held %d sold %d initial+adjusted %d; inventory stock %d reserved %d\n%+v",
			variantID, avail, held, soldNet, initialAndAdjusted, stock, reserved, inv.Ledger)
	}
	return soldNet
}

// settle waits until the consumer has got past everything published
// before: a marker order is placed and its reservation seen, then the
// marker is cancelled so that it holds nothing.
func settle(t *testing.T, h *harness, productID string) {
	t.Helper()
	h.drain()
	m := uuid.NewString()
	h.publish("order.placed", placed(m, line{"product_id": productID, "quantity": 1}))
	if ev := h.waitEvents(1, forOrder(m, contracts.EventInventoryReserved, contracts.EventInventoryRejected))[0]; ev.Type == contracts.EventInventoryReserved {
		h.publish("order.cancelled", map[string]any{"order_id": m, "user_id": customer.ID, "reason": "marker", "prev_status": "reserved"})
		h.waitEvents(1, forOrder(m, contracts.EventInventoryReleased))
	}
}

func cancelledAfterPayment(orderID string) map[string]any {
	return map[string]any{"order_id": orderID, "user_id": customer.ID, "reason": "cancelled_by_user",
		"prev_status": contracts.OrderStatusPaid, "refunded": true}
}

// TestCancelAfterPaymentReturnsStockOnce: placed → paid → cancelled
// (prev_status paid, refunded) puts the sold units back in stock exactly
// once, ledgered as incoming, announced as inventory.released "returned",
// with product.updated when the stock status changes and a fresh product
// document. Redeliveries, a second cancellation under a new event id, a
// late order.paid and order.refunded change nothing more.
func TestCancelAfterPaymentReturnsStockOnce(t *testing.T) {
	t.Parallel()
	h := start(t)
	cat := h.category("Misc", nil)
	a := h.product(seller, contracts.ProductInput{Name: "Lamp", CategoryID: cat.ID, Price: contracts.USD(100), Stock: 4})
	b := h.product(seller2, contracts.ProductInput{Name: "Shirt", CategoryID: cat.ID, Price: contracts.USD(100),
		Variants: []contracts.VariantInput{{SKU: "S-M", Stock: 20}}})
	vb := b.Variants[0].ID

	o := uuid.NewString()
	h.publish("order.placed", placed(o, line{"product_id": a.ID, "quantity": 4}, line{"product_id": b.ID, "variant_id": vb, "quantity": 3}))
	h.waitEvents(1, forOrder(o, contracts.EventInventoryReserved))
	h.publish("order.paid", map[string]any{"order_id": o, "user_id": customer.ID, "total": contracts.USD(700)})
	testenv.Eventually(t, "the order paid: a's reservation sold", func() bool { return inventoryOf(h, a.ID).Reserved == 0 })
	if inv := inventoryOf(h, a.ID); inv.Stock != 0 || ledgerBalance(t, inv, "") != 4 {
		t.Fatalf("a after paid: %+v", inv)
	}
	// Cache the sold-out document: the return must invalidate it.
	if got := ok[contracts.Product](h, anonymous, contracts.MethodProductGet, id(a.ID), nil); got.StockStatus != contracts.StockOutOfStock {
		t.Fatalf("a after paid: stock status %s", got.StockStatus)
	}
	updatesBefore := len(h.waitEvents(0, func(ev contracts.Event) bool {
		return ev.Type == contracts.EventProductUpdated && strings.Contains(string(ev.Data), a.ID)
	}))

	cancel := h.publish("order.cancelled", cancelledAfterPayment(o))
	ev := h.waitEvents(1, forOrder(o, contracts.EventInventoryReleased))[0]
	var rel contracts.InventoryReleased
	if err := ev.Decode(&rel); err != nil {
		t.Fatal(err)
	}
	if rel.Reason != "returned" || len(rel.Items) != 2 {
		t.Fatalf("released %+v", rel)
	}
	for _, it := range rel.Items {
		want := int64(4)
		if it.ProductID == b.ID {
			want = 3
			if it.VariantID != vb {
				t.Fatalf("item %+v", it)
			}
		}
		if it.Quantity != want {
			t.Fatalf("item %+v", it)
		}
	}
	check := func(when string) {
		t.Helper()
		ia := inventoryOf(h, a.ID)
		if ia.Stock != 4 || ia.Reserved != 0 {
			t.Fatalf("a %s: stock %d reserved %d", when, ia.Stock, ia.Reserved)
		}
		if sold := ledgerBalance(t, ia, ""); sold != 0 {
			t.Fatalf("a %s: %d units sold net", when, sold)
		}
		ib := inventoryOf(h, b.ID)
		if ib.Variants[0].Stock != 20 || ib.Variants[0].Reserved != 0 {
			t.Fatalf("b %s: %+v", when, ib.Variants)
		}
		if sold := ledgerBalance(t, ib, vb); sold != 0 {
			t.Fatalf("b %s: %d units sold net", when, sold)
		}
		returns := 0
		for _, e := range append(ia.Ledger, ib.Ledger...) {
			if e.Kind == contracts.LedgerIncoming && e.OrderID == o {
				returns++
				if e.ActorID != customer.ID || e.Reason != "returned: order "+o+" cancelled after payment" {
					t.Fatalf("return entry %+v", e)
				}
			}
		}
		if returns != 2 {
			t.Fatalf("%s: %d return entries, want 2", when, returns)
		}
	}
	check("after the return")
	h.waitEvents(updatesBefore+1, func(ev contracts.Event) bool {
		return ev.Type == contracts.EventProductUpdated && strings.Contains(string(ev.Data), a.ID)
	})
	if got := ok[contracts.Product](h, anonymous, contracts.MethodProductGet, id(a.ID), nil); got.StockStatus == contracts.StockOutOfStock {
		t.Fatalf("a after return: stale stock status %s", got.StockStatus)
	}

	// Redelivery of the same event, a second cancellation under a new id, a
	// late order.paid and the order.refunded that follows the cancellation.
	h.republish(cancel)
	h.publish("order.cancelled", cancelledAfterPayment(o))
	h.publish("order.paid", map[string]any{"order_id": o, "user_id": customer.ID, "total": contracts.USD(700)})
	h.publish("order.refunded", map[string]any{"order_id": o, "user_id": customer.ID, "amount": contracts.USD(700),
		"reason": "cancelled_by_user", "status": contracts.OrderStatusCancelled})
	settle(t, h, a.ID)
	check("after redeliveries")
	if n := len(h.waitEvents(0, forOrder(o, contracts.EventInventoryReleased))); n != 1 {
		t.Fatalf("%d inventory.released for one order", n)
	}
}

// TestRefundOrUnpaidCancelOfSoldStockRestocksNothing: order.refunded alone
// (an admin refund of a shipped or delivered order) brings no goods back,
// nor does an order.cancelled that does not say the order was paid.
func TestRefundOrUnpaidCancelOfSoldStockRestocksNothing(t *testing.T) {
	t.Parallel()
	h := start(t)
	cat := h.category("Misc", nil)
	p := h.product(seller, contracts.ProductInput{Name: "Lamp", CategoryID: cat.ID, Price: contracts.USD(100), Stock: 10})
	o := uuid.NewString()
	h.publish("order.placed", placed(o, line{"product_id": p.ID, "quantity": 3}))
	h.waitEvents(1, forOrder(o, contracts.EventInventoryReserved))
	h.publish("order.paid", map[string]any{"order_id": o, "user_id": customer.ID, "total": contracts.USD(300)})
	testenv.Eventually(t, "the order paid: its reservation sold", func() bool { return inventoryOf(h, p.ID).Reserved == 0 })
	// Refunded after it shipped: the goods are with the buyer.
	h.publish("order.refunded", map[string]any{"order_id": o, "user_id": customer.ID, "amount": contracts.USD(300),
		"reason": "admin", "status": contracts.OrderStatusRefunded, "shipped": true})
	h.publish("order.cancelled", map[string]any{"order_id": o, "user_id": customer.ID, "reason": "x", "prev_status": contracts.OrderStatusReserved})
	settle(t, h, p.ID)
	inv := inventoryOf(h, p.ID)
	if inv.Stock != 7 || inv.Reserved != 0 {
		t.Fatalf("stock %d reserved %d", inv.Stock, inv.Reserved)
	}
	if sold := ledgerBalance(t, inv, ""); sold != 3 {
		t.Fatalf("%d units sold net, want 3", sold)
	}
	if n := len(h.waitEvents(0, forOrder(o, contracts.EventInventoryReleased))); n != 0 {
		t.Fatalf("%d inventory.released for a sold order", n)
	}
}

// TestCancelBeforePaymentReleasesHeldStock: an order cancelled before it
// was paid gives its held units back (reason cancelled) once; a later
// cancellation, even one claiming the order was paid, returns nothing
// more, and a late order.paid sells nothing.
func TestCancelBeforePaymentReleasesHeldStock(t *testing.T) {
	t.Parallel()
	h := start(t)
	cat := h.category("Misc", nil)
	p := h.product(seller, contracts.ProductInput{Name: "Lamp", CategoryID: cat.ID, Price: contracts.USD(100), Stock: 6})
	o := uuid.NewString()
	h.publish("order.placed", placed(o, line{"product_id": p.ID, "quantity": 6}))
	h.waitEvents(1, forOrder(o, contracts.EventInventoryReserved))
	if inv := inventoryOf(h, p.ID); inv.Stock != 0 || inv.Reserved != 6 {
		t.Fatalf("after reserve %+v", inv)
	}
	cancel := h.publish("order.cancelled", map[string]any{"order_id": o, "user_id": customer.ID, "reason": "cancelled_by_user",
		"prev_status": contracts.OrderStatusReserved})
	ev := h.waitEvents(1, forOrder(o, contracts.EventInventoryReleased))[0]
	var rel contracts.InventoryReleased
	_ = ev.Decode(&rel)
	if rel.Reason != contracts.ReleaseCancelled || len(rel.Items) != 1 || rel.Items[0].Quantity != 6 {
		t.Fatalf("released %+v", rel)
	}
	h.republish(cancel)
	h.publish("order.cancelled", cancelledAfterPayment(o))
	h.publish("order.paid", map[string]any{"order_id": o, "user_id": customer.ID, "total": contracts.USD(600)})
	settle(t, h, p.ID)
	inv := inventoryOf(h, p.ID)
	if inv.Stock != 6 || inv.Reserved != 0 {
		t.Fatalf("stock %d reserved %d", inv.Stock, inv.Reserved)
	}
	if sold := ledgerBalance(t, inv, ""); sold != 0 {
		t.Fatalf("%d units sold net", sold)
	}
	if n := len(h.waitEvents(0, forOrder(o, contracts.EventInventoryReleased))); n != 1 {
		t.Fatalf("%d inventory.released for one order", n)
	}
}

// TestRefundBeforeShippingReturnsStock: an admin refund of a paid order
// that never shipped puts its units back once (the goods never left); a
// redelivery under a new event id changes nothing more.
func TestRefundBeforeShippingReturnsStock(t *testing.T) {
	t.Parallel()
	h := start(t)
	cat := h.category("Misc", nil)
	p := h.product(seller, contracts.ProductInput{Name: "Chair", CategoryID: cat.ID, Price: contracts.USD(100), Stock: 10})
	o := uuid.NewString()
	h.publish("order.placed", placed(o, line{"product_id": p.ID, "quantity": 4}))
	h.waitEvents(1, forOrder(o, contracts.EventInventoryReserved))
	h.publish("order.paid", map[string]any{"order_id": o, "user_id": customer.ID, "total": contracts.USD(400)})
	testenv.Eventually(t, "the order paid: its reservation sold", func() bool { return inventoryOf(h, p.ID).Reserved == 0 })
	refund := map[string]any{"order_id": o, "user_id": customer.ID, "amount": contracts.USD(400),
		"reason": "refunded_by_admin", "status": contracts.OrderStatusRefunded, "shipped": false}
	h.publish("order.refunded", refund)
	h.waitEvents(1, forOrder(o, contracts.EventInventoryReleased))
	h.publish("order.refunded", refund) // a second event id: no second return
	settle(t, h, p.ID)
	inv := inventoryOf(h, p.ID)
	if inv.Stock != 10 || inv.Reserved != 0 {
		t.Fatalf("stock %d reserved %d, want 10 and 0", inv.Stock, inv.Reserved)
	}
	if sold := ledgerBalance(t, inv, ""); sold != 0 {
		t.Fatalf("%d units sold net, want 0", sold)
	}
	if n := len(h.waitEvents(0, forOrder(o, contracts.EventInventoryReleased))); n != 1 {
		t.Fatalf("%d inventory.released, want 1", n)
	}
}
