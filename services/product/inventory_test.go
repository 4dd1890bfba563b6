package product_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/services/product"
)

type line = map[string]any

func placed(orderID string, items ...line) map[string]any {
	return map[string]any{"order_id": orderID, "user_id": customer.ID, "items": items}
}

func inventoryOf(h *harness, productID string) contracts.Inventory {
	return ok[contracts.Inventory](h, admin, contracts.MethodProductInventoryGet, contracts.Params{"id": {productID}, "limit": {"100"}}, nil)
}

// TestConcurrentReservationsNeverOversell: 50 orders race for the last 10
// units; exactly 10 are reserved, stock ends at 0 and the ledger agrees.
func TestConcurrentReservationsNeverOversell(t *testing.T) {
	t.Parallel()
	h := start(t)
	cat := h.category("Tickets", nil)
	p := h.product(seller, contracts.ProductInput{Name: "Concert", CategoryID: cat.ID, Price: contracts.USD(100), Stock: 10})
	const orders = 50
	ids := make([]string, orders)
	var wg sync.WaitGroup
	for i := range orders {
		ids[i] = uuid.NewString()
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.publish("order.placed", placed(ids[i], line{"product_id": p.ID, "quantity": 1}))
		}()
	}
	wg.Wait()
	evs := h.waitEvents(orders, ofType(contracts.EventInventoryReserved, contracts.EventInventoryRejected))
	reserved, rejected := 0, 0
	for _, ev := range evs {
		switch ev.Type {
		case contracts.EventInventoryReserved:
			reserved++
		case contracts.EventInventoryRejected:
			var r contracts.InventoryRejected
			_ = ev.Decode(&r)
			if r.Reason != "out_of_stock" || len(r.Items) != 1 || r.Items[0].Requested != 1 || r.Items[0].Available != 0 {
				t.Errorf("rejection %+v", r)
			}
			rejected++
		}
	}
	if reserved != 10 || rejected != 40 {
		t.Fatalf("reserved %d rejected %d", reserved, rejected)
	}
	inv := inventoryOf(h, p.ID)
	if inv.Stock != 0 || inv.Reserved != 10 {
		t.Fatalf("stock %d reserved %d", inv.Stock, inv.Reserved)
	}
	var sum int64
	for _, e := range inv.Ledger {
		switch e.Kind {
		case contracts.LedgerIncoming:
			sum += e.Quantity
		case contracts.LedgerReservation:
			sum -= e.Quantity
		}
	}
	if sum != inv.Stock {
		t.Fatalf("ledger sums to %d, stock %d: %+v", sum, inv.Stock, inv.Ledger)
	}
	if got := ok[contracts.Product](h, anonymous, contracts.MethodProductGet, id(p.ID), nil); got.StockStatus != contracts.StockOutOfStock {
		t.Fatalf("stock status %s", got.StockStatus)
	}
}

// TestReservationAllOrNothing: an order with one short line reserves none
// of its lines.
func TestReservationAllOrNothing(t *testing.T) {
	t.Parallel()
	h := start(t)
	cat := h.category("Misc", nil)
	a := h.product(seller, contracts.ProductInput{Name: "A", CategoryID: cat.ID, Price: contracts.USD(100), Stock: 5})
	b := h.product(seller2, contracts.ProductInput{Name: "B", CategoryID: cat.ID, Price: contracts.USD(100),
		Variants: []contracts.VariantInput{{SKU: "B-1", Stock: 2}}})
	vb := b.Variants[0].ID
	o1 := uuid.NewString()
	h.publish("order.placed", placed(o1, line{"product_id": a.ID, "quantity": 2}, line{"product_id": b.ID, "variant_id": vb, "quantity": 3}))
	ev := h.waitEvents(1, forOrder(o1, contracts.EventInventoryRejected, contracts.EventInventoryReserved))[0]
	if ev.Type != contracts.EventInventoryRejected {
		t.Fatalf("got %s", ev.Type)
	}
	var r contracts.InventoryRejected
	_ = ev.Decode(&r)
	if len(r.Items) != 1 || r.Items[0].VariantID != vb || r.Items[0].Available != 2 || r.Items[0].Requested != 3 {
		t.Fatalf("shortfalls %+v", r.Items)
	}
	if inv := inventoryOf(h, a.ID); inv.Stock != 5 || inv.Reserved != 0 {
		t.Fatalf("a was touched: %+v", inv)
	}

	// A good order (duplicate lines merge), then paid: reserved → sold.
	o2 := uuid.NewString()
	h.publish("order.placed", placed(o2, line{"product_id": a.ID, "quantity": 1}, line{"product_id": a.ID, "quantity": 1},
		line{"product_id": b.ID, "variant_id": vb, "quantity": 2}))
	ev = h.waitEvents(1, forOrder(o2, contracts.EventInventoryRejected, contracts.EventInventoryReserved))[0]
	var res contracts.InventoryReserved
	_ = ev.Decode(&res)
	if ev.Type != contracts.EventInventoryReserved || len(res.Items) != 2 {
		t.Fatalf("%s %s", ev.Type, ev.Data)
	}
	if inv := inventoryOf(h, a.ID); inv.Stock != 3 || inv.Reserved != 2 {
		t.Fatalf("a after reserve: %+v", inv)
	}
	h.publish("order.paid", map[string]any{"order_id": o2, "user_id": customer.ID, "total": contracts.USD(400)})
	testenv.Eventually(t, "order o2 paid: a's reservation sold", func() bool {
		inv := inventoryOf(h, a.ID)
		return inv.Reserved == 0 && inv.Stock == 3
	})
	inv := inventoryOf(h, b.ID)
	if inv.Variants[0].Stock != 0 || inv.Variants[0].Reserved != 0 || inv.Ledger[0].Kind != contracts.LedgerOutgoing || inv.Ledger[0].OrderID != o2 {
		t.Fatalf("b after paid: %+v", inv)
	}
	// A cancellation of a paid order that does not say it was paid
	// (no prev_status, not refunded) leaves the sold units alone.
	h.publish("order.cancelled", map[string]any{"order_id": o2, "user_id": customer.ID, "reason": "cancelled_by_user"})

	// Cancel releases a held reservation.
	o3 := uuid.NewString()
	h.publish("order.placed", placed(o3, line{"product_id": a.ID, "quantity": 3}))
	h.waitEvents(1, forOrder(o3, contracts.EventInventoryReserved))
	h.publish("order.cancelled", map[string]any{"order_id": o3, "user_id": customer.ID, "reason": "cancelled_by_user"})
	rel := h.waitEvents(1, forOrder(o3, contracts.EventInventoryReleased))[0]
	var rr contracts.InventoryReleased
	_ = rel.Decode(&rr)
	if rr.Reason != contracts.ReleaseCancelled || len(rr.Items) != 1 || rr.Items[0].Quantity != 3 {
		t.Fatalf("released %+v", rr)
	}
	if inv := inventoryOf(h, a.ID); inv.Stock != 3 || inv.Reserved != 0 {
		t.Fatalf("a after cancel: %+v", inv)
	}
	// A cancellation that overtakes its order.placed: the late placement
	// reserves nothing.
	o4 := uuid.NewString()
	h.publish("order.cancelled", map[string]any{"order_id": o4, "user_id": customer.ID, "reason": "x"})
	h.drain() // the cancellation is handled before its placement arrives
	h.publish("order.placed", placed(o4, line{"product_id": a.ID, "quantity": 1}))
	h.drain()
	o5 := uuid.NewString() // a marker whose reservation is announced after any of o4
	h.publish("order.placed", placed(o5, line{"product_id": a.ID, "quantity": 1}))
	h.waitEvents(1, forOrder(o5, contracts.EventInventoryReserved))
	if inv := inventoryOf(h, a.ID); inv.Reserved != 1 {
		t.Fatalf("late placement reserved: %+v", inv)
	}
	if n := len(h.waitEvents(0, forOrder(o4, contracts.EventInventoryReserved))); n != 0 {
		t.Fatalf("o4 reserved")
	}
}

// TestRedeliveredOrderPlacedIsIdempotent: the same event delivered twice
// reserves once.
func TestRedeliveredOrderPlacedIsIdempotent(t *testing.T) {
	t.Parallel()
	h := start(t)
	cat := h.category("Misc", nil)
	p := h.product(seller, contracts.ProductInput{Name: "Thing", CategoryID: cat.ID, Price: contracts.USD(100), Stock: 10})
	o := uuid.NewString()
	ev := h.publish("order.placed", placed(o, line{"product_id": p.ID, "quantity": 4}))
	h.waitEvents(1, forOrder(o, contracts.EventInventoryReserved))
	h.republish(ev)
	h.republish(ev)
	// The same order under a new event id (a republished outbox row) is
	// recognised by its order id.
	h.publish("order.placed", placed(o, line{"product_id": p.ID, "quantity": 4}))
	h.drain() // every duplicate handled
	marker := uuid.NewString()
	h.publish("order.placed", placed(marker, line{"product_id": p.ID, "quantity": 1}))
	h.waitEvents(1, forOrder(marker, contracts.EventInventoryReserved))
	inv := inventoryOf(h, p.ID)
	if inv.Stock != 5 || inv.Reserved != 5 {
		t.Fatalf("stock %d reserved %d", inv.Stock, inv.Reserved)
	}
	if n := len(h.waitEvents(1, forOrder(o, contracts.EventInventoryReserved))); n != 1 {
		t.Fatalf("%d reserved events for one order", n)
	}
}

// TestReservationExpiry: held stock is released after the TTL with reason
// expired.
func TestReservationExpiry(t *testing.T) {
	t.Parallel()
	h := start(t, func(c *product.Config) { c.ReservationTTL = 100 * time.Millisecond })
	cat := h.category("Misc", nil)
	p := h.product(seller, contracts.ProductInput{Name: "Thing", CategoryID: cat.ID, Price: contracts.USD(100), Stock: 3})
	o := uuid.NewString()
	h.publish("order.placed", placed(o, line{"product_id": p.ID, "quantity": 3}))
	h.waitEvents(1, forOrder(o, contracts.EventInventoryReserved))
	// The reservation expires 100ms after it was made: sweep until it is
	// released, never more than it.
	swept := 0
	testenv.Eventually(t, "the expired reservation swept", func() bool {
		n, err := h.svc.SweepExpired(t.Context())
		if err != nil {
			t.Fatalf("sweep: %v", err)
		}
		swept += n
		return swept > 0
	})
	if swept != 1 {
		t.Fatalf("swept %d reservations, want 1", swept)
	}
	ev := h.waitEvents(1, forOrder(o, contracts.EventInventoryReleased))[0]
	var r contracts.InventoryReleased
	_ = ev.Decode(&r)
	if r.Reason != contracts.ReleaseExpired {
		t.Fatalf("reason %q", r.Reason)
	}
	if inv := inventoryOf(h, p.ID); inv.Stock != 3 || inv.Reserved != 0 || inv.Ledger[0].Kind != contracts.LedgerRelease {
		t.Fatalf("after expiry %+v", inv)
	}
	if n, _ := h.svc.SweepExpired(t.Context()); n != 0 {
		t.Fatalf("swept again: %d", n)
	}
}

func TestInventoryAdjustAndLookup(t *testing.T) {
	t.Parallel()
	h := start(t)
	cat := h.category("Misc", nil)
	p := h.product(seller, contracts.ProductInput{Name: "Thing", CategoryID: cat.ID, Price: contracts.USD(250), Stock: 2,
		Variants: []contracts.VariantInput{{SKU: "T-S", Stock: 4}}})
	inv := ok[contracts.Inventory](h, seller, contracts.MethodProductInventoryAdjust, id(p.ID),
		contracts.InventoryAdjustRequest{Adjust: 10, Reason: "delivery", Kind: "incoming"})
	if inv.Stock != 12 || inv.Ledger[0].Kind != "incoming" || inv.Ledger[0].ActorID != seller.ID || inv.Ledger[0].Reason != "delivery" {
		t.Fatalf("adjusted %+v", inv)
	}
	h.fails(contracts.CodeFailedPrecondition, seller, contracts.MethodProductInventoryAdjust, id(p.ID), contracts.InventoryAdjustRequest{Adjust: -13, Reason: "broken"})
	h.fails(contracts.CodeInvalidArgument, seller, contracts.MethodProductInventoryAdjust, id(p.ID), contracts.InventoryAdjustRequest{Adjust: -1})
	h.fails(contracts.CodeInvalidArgument, seller, contracts.MethodProductInventoryAdjust, id(p.ID), contracts.InventoryAdjustRequest{Adjust: 0, Reason: "x"})
	inv = ok[contracts.Inventory](h, admin, contracts.MethodProductInventoryAdjust, id(p.ID),
		contracts.InventoryAdjustRequest{Adjust: -1, Reason: "count", VariantID: p.Variants[0].ID})
	if inv.Variants[0].Stock != 3 || inv.Ledger[0].VariantID != p.Variants[0].ID || inv.Ledger[0].Quantity != -1 {
		t.Fatalf("variant adjust %+v", inv)
	}
	// Ledger pagination.
	page := ok[contracts.Inventory](h, seller, contracts.MethodProductInventoryGet, contracts.Params{"id": {p.ID}, "limit": {"2"}}, nil)
	if len(page.Ledger) != 2 || page.NextCursor == "" {
		t.Fatalf("page %+v", page)
	}
	rest := ok[contracts.Inventory](h, seller, contracts.MethodProductInventoryGet, contracts.Params{"id": {p.ID}, "limit": {"2"}, "cursor": {page.NextCursor}}, nil)
	if len(rest.Ledger) != 2 || rest.NextCursor != "" || rest.Ledger[0].At.After(page.Ledger[1].At) {
		t.Fatalf("rest %+v", rest)
	}

	// Lookup: ordered, batched, missing ids flagged.
	missing := uuid.NewString()
	b, _ := json.Marshal(contracts.LookupRequest{IDs: []string{missing, p.ID, "garbage"}})
	r, err := h.deps.RPC.Call(t.Context(), product.Name, contracts.MethodProductLookup, b, busOpts())
	if err != nil || !r.OK() {
		t.Fatalf("lookup %v %s", err, r.Body)
	}
	var lk contracts.LookupReply
	_ = json.Unmarshal(r.Body, &lk)
	if len(lk.Items) != 3 || lk.Items[0].Exists || lk.Items[0].ID != missing || lk.Items[2].Exists || !lk.Items[1].Exists {
		t.Fatalf("lookup %+v", lk.Items)
	}
	it := lk.Items[1]
	// A product with variants is bought by variant: Available is theirs (3),
	// not the product-level 12 no order can take.
	if it.Price.Amount != 250 || it.Available != 3 || it.SellerID != seller.ID || it.Status != "active" ||
		len(it.Variants) != 1 || it.Variants[0].Stock != 3 || it.Variants[0].Price.Amount != 250 {
		t.Fatalf("lookup item %+v", it)
	}
	big := make([]string, 201)
	for i := range big {
		big[i] = fmt.Sprint(i)
	}
	b, _ = json.Marshal(contracts.LookupRequest{IDs: big})
	if r, _ := h.deps.RPC.Call(t.Context(), product.Name, contracts.MethodProductLookup, b, busOpts()); r.Status != "invalid_argument" {
		t.Fatalf("oversized lookup: %s", r.Status)
	}
}
