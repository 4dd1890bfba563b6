package product_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// ledgerOf reads every page of a product's ledger, newest first.
func ledgerOf(h *harness, productID string) []contracts.LedgerEntry {
	h.t.Helper()
	var all []contracts.LedgerEntry
	cursor := ""
	for range 100 {
		p := contracts.Params{"id": {productID}, "limit": {"100"}}
		if cursor != "" {
			p["cursor"] = []string{cursor}
		}
		inv := ok[contracts.Inventory](h, admin, contracts.MethodProductInventoryGet, p, nil)
		all = append(all, inv.Ledger...)
		if cursor = inv.NextCursor; cursor == "" {
			return all
		}
	}
	h.t.Fatalf("ledger of %s: more than 100 pages", productID)
	return nil
}

// ledgerTotals sums a product-level ledger by kind, and says which orders
// each kind names (with the units per order).
type ledgerTotals struct {
	sum     map[string]int64
	byOrder map[string]map[string]int64 // kind → order id → units
}

func totals(entries []contracts.LedgerEntry) ledgerTotals {
	t := ledgerTotals{sum: map[string]int64{}, byOrder: map[string]map[string]int64{}}
	for _, e := range entries {
		t.sum[e.Kind] += e.Quantity
		if e.OrderID != "" {
			if t.byOrder[e.Kind] == nil {
				t.byOrder[e.Kind] = map[string]int64{}
			}
			t.byOrder[e.Kind][e.OrderID] += e.Quantity
		}
	}
	return t
}

// balance checks that the ledger explains the product's counters:
// available = incoming − reserved + released + adjustments, and
// held = reserved − released − sold.
func (lt ledgerTotals) balance(t *testing.T, inv contracts.Inventory) {
	t.Helper()
	s := lt.sum
	if avail := s[contracts.LedgerIncoming] - s[contracts.LedgerReservation] + s[contracts.LedgerRelease] + s[contracts.LedgerAdjustment]; avail != inv.Stock {
		t.Errorf("ledger %v gives %d available, inventory says %d", s, avail, inv.Stock)
	}
	if held := s[contracts.LedgerReservation] - s[contracts.LedgerRelease] - s[contracts.LedgerOutgoing]; held != inv.Reserved {
		t.Errorf("ledger %v gives %d held, inventory says %d", s, held, inv.Reserved)
	}
}

// publishAll publishes evs concurrently (a goroutine each) and fails the
// test if any publish is not confirmed.
func publishAll(t *testing.T, h *harness, evs []contracts.Event) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(evs))
	for _, ev := range evs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := h.pub.Publish(ctx, ev); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("publish: %v", err)
	}
}

func event(typ string, data any) contracts.Event {
	b, _ := json.Marshal(data)
	return contracts.Event{ID: uuid.NewString(), Type: typ, OccurredAt: time.Now().UTC(), Data: b}
}

// oneEventPerOrder maps each order id of evs to the type of its event, and
// fails the test if an order has more than one.
func oneEventPerOrder(t *testing.T, evs []contracts.Event) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, ev := range evs {
		var d struct {
			OrderID string `json:"order_id"`
		}
		_ = json.Unmarshal(ev.Data, &d)
		if prev, dup := out[d.OrderID]; dup {
			t.Errorf("order %s answered twice: %s and %s", d.OrderID, prev, ev.Type)
		}
		out[d.OrderID] = ev.Type
	}
	return out
}

// Issue 5: 200 orders of one unit race for the last 50 units. Exactly 50
// are reserved and 150 rejected (out of stock, nothing available), one
// answer per order; stock ends at 0 with 50 held, and the ledger (read
// through every page) explains both counters and names exactly the
// reserved orders. Paying the 50 (concurrently, one payment delivered
// twice) sells them: nothing held, 50 units outgoing for those orders,
// still nothing available.
func TestTwoHundredOrdersForFiftyUnits(t *testing.T) {
	t.Parallel()
	h := start(t)
	cat := h.category("Limited", nil)
	p := h.product(seller, contracts.ProductInput{Name: "Limited Edition", CategoryID: cat.ID, Price: contracts.USD(5000), Stock: 50})
	const orders, units = 200, 50

	mine := map[string]bool{}
	evs := make([]contracts.Event, orders)
	for i := range evs {
		o := uuid.NewString()
		mine[o] = true
		evs[i] = event("order.placed", placed(o, line{"product_id": p.ID, "quantity": 1}))
	}
	publishAll(t, h, evs)
	isMine := func(ev contracts.Event) bool {
		if !ofType(contracts.EventInventoryReserved, contracts.EventInventoryRejected)(ev) {
			return false
		}
		var d struct {
			OrderID string `json:"order_id"`
		}
		_ = json.Unmarshal(ev.Data, &d)
		return mine[d.OrderID]
	}
	h.waitEvents(orders, isMine)
	// Barrier for a duplicate answer: every delivery handled, then a
	// marker (rejected: the stock is gone) announced after any of theirs.
	h.drain()
	first := uuid.NewString()
	h.publish("order.placed", placed(first, line{"product_id": p.ID, "quantity": 1}))
	h.waitEvents(1, forOrder(first, contracts.EventInventoryRejected))
	answers := h.waitEvents(orders, isMine)
	byOrder := oneEventPerOrder(t, answers)
	if len(byOrder) != orders {
		t.Fatalf("%d orders answered, want %d", len(byOrder), orders)
	}
	reserved := map[string]bool{}
	for _, ev := range answers {
		switch ev.Type {
		case contracts.EventInventoryReserved:
			var r contracts.InventoryReserved
			if err := ev.Decode(&r); err != nil || len(r.Items) != 1 || r.Items[0].ProductID != p.ID || r.Items[0].Quantity != 1 {
				t.Errorf("reserved %s (%v)", ev.Data, err)
			}
			reserved[r.OrderID] = true
		case contracts.EventInventoryRejected:
			var r contracts.InventoryRejected
			if err := ev.Decode(&r); err != nil || r.Reason != contracts.RejectOutOfStock || len(r.Items) != 1 ||
				r.Items[0].ProductID != p.ID || r.Items[0].Requested != 1 || r.Items[0].Available != 0 {
				t.Errorf("rejected %s (%v)", ev.Data, err)
			}
		}
	}
	if len(reserved) != units {
		t.Fatalf("%d reserved, %d rejected; want %d and %d", len(reserved), orders-len(reserved), units, orders-units)
	}

	inv := inventoryOf(h, p.ID)
	if inv.Stock != 0 || inv.Reserved != units {
		t.Fatalf("after the race: stock %d reserved %d, want 0 and %d", inv.Stock, inv.Reserved, units)
	}
	lt := totals(ledgerOf(h, p.ID))
	lt.balance(t, inv)
	if lt.sum[contracts.LedgerIncoming] != units || lt.sum[contracts.LedgerReservation] != units {
		t.Errorf("ledger sums %v: want %d incoming and %d reserved", lt.sum, units, units)
	}
	if got := lt.byOrder[contracts.LedgerReservation]; !slices.Equal(sortedKeys(got), sortedKeys(reserved)) {
		t.Errorf("the ledger's reservations name %d orders, not the %d reserved ones", len(got), len(reserved))
	} else {
		for o, n := range got {
			if n != 1 {
				t.Errorf("order %s holds %d units in the ledger", o, n)
			}
		}
	}
	if got := ok[contracts.Product](h, anonymous, contracts.MethodProductGet, id(p.ID), nil); got.StockStatus != contracts.StockOutOfStock {
		t.Errorf("stock status %s, want %s", got.StockStatus, contracts.StockOutOfStock)
	}

	// Paid: held → sold, every order once even if its payment is
	// delivered twice.
	var paid []contracts.Event
	for o := range reserved {
		paid = append(paid, event("order.paid", map[string]any{"order_id": o, "user_id": customer.ID, "total": contracts.USD(5000)}))
	}
	paid = append(paid, paid[0]) // the same event again
	publishAll(t, h, paid)
	testenv.Eventually(t, "every paid order sold", func() bool { return inventoryOf(h, p.ID).Reserved == 0 })
	// Every payment (the duplicate too) handled, and a marker placement
	// behind them.
	h.drain()
	marker := uuid.NewString()
	h.publish("order.placed", placed(marker, line{"product_id": p.ID, "quantity": 1}))
	h.waitEvents(1, forOrder(marker, contracts.EventInventoryRejected))

	inv = inventoryOf(h, p.ID)
	if inv.Stock != 0 || inv.Reserved != 0 {
		t.Fatalf("after payment: stock %d reserved %d, want 0 and 0", inv.Stock, inv.Reserved)
	}
	lt = totals(ledgerOf(h, p.ID))
	lt.balance(t, inv)
	if lt.sum[contracts.LedgerOutgoing] != units || lt.sum[contracts.LedgerRelease] != 0 {
		t.Errorf("ledger sums %v: want %d outgoing, nothing released", lt.sum, units)
	}
	if got := lt.byOrder[contracts.LedgerOutgoing]; !slices.Equal(sortedKeys(got), sortedKeys(reserved)) {
		t.Errorf("the ledger's sales name %d orders, not the %d reserved ones", len(got), len(reserved))
	} else {
		for o, n := range got {
			if n != 1 {
				t.Errorf("order %s sold %d units (a payment counted twice?)", o, n)
			}
		}
	}
}

// Issue 5: duplicate order.placed deliveries arriving at the same time —
// the same event id twice and the same order under a new event id — reserve
// each order once (TestRedeliveredOrderPlacedIsIdempotent sends them one
// after another).
func TestConcurrentDuplicatePlacementsReserveOnce(t *testing.T) {
	t.Parallel()
	h := start(t)
	cat := h.category("Dupes", nil)
	p := h.product(seller, contracts.ProductInput{Name: "Duplicated", CategoryID: cat.ID, Price: contracts.USD(100), Stock: 100})
	const orders, qty = 20, 2
	mine := map[string]bool{}
	var evs []contracts.Event
	for range orders {
		o := uuid.NewString()
		mine[o] = true
		body := placed(o, line{"product_id": p.ID, "quantity": qty})
		ev := event("order.placed", body)
		evs = append(evs, ev, ev, event("order.placed", body))
	}
	publishAll(t, h, evs)
	isMine := func(ev contracts.Event) bool {
		if !ofType(contracts.EventInventoryReserved, contracts.EventInventoryRejected)(ev) {
			return false
		}
		var d struct {
			OrderID string `json:"order_id"`
		}
		_ = json.Unmarshal(ev.Data, &d)
		return mine[d.OrderID]
	}
	h.waitEvents(orders, isMine)
	h.drain() // every duplicate handled
	marker := uuid.NewString()
	h.publish("order.placed", placed(marker, line{"product_id": p.ID, "quantity": 1}))
	h.waitEvents(1, forOrder(marker, contracts.EventInventoryReserved))
	byOrder := oneEventPerOrder(t, h.waitEvents(orders, isMine))
	for o, typ := range byOrder {
		if typ != contracts.EventInventoryReserved {
			t.Errorf("order %s: %s", o, typ)
		}
	}
	inv := inventoryOf(h, p.ID)
	if want := int64(orders*qty + 1); inv.Reserved != want || inv.Stock != 100-want {
		t.Fatalf("stock %d reserved %d, want %d and %d", inv.Stock, inv.Reserved, 100-want, want)
	}
	lt := totals(ledgerOf(h, p.ID))
	lt.balance(t, inv)
	for o := range mine {
		if n := lt.byOrder[contracts.LedgerReservation][o]; n != qty {
			t.Errorf("order %s: %d units in the ledger, want %d", o, n, qty)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
