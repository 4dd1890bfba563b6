package e2e_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
)

// Issue 6 through the gateway: carts, checkout and the order saga (stock
// reservation, payment, cancellation and release), idempotency under
// concurrency, the order's life after payment and every refusal, against
// the real servers. The subtests share one platform and run one after the
// other (the metric and charge counts are deltas); each has its own
// products and buyers, so its lists and stock figures are its own.
func TestOrderSaga(t *testing.T) {
	t.Parallel()
	env := startShop(t)
	c := newClient(t, env)
	adm := c.as(adminSession(c).Access)
	cat := newCategory(adm, "Kitchen", "")

	t.Run("happy path: cart, checkout, paid, stock sold, lists and isolation", func(t *testing.T) {
		c, adm := c.with(t), adm.with(t)
		sellerA, sa := account(c, "seller")
		sellerB, sb := account(c, "seller")
		buyer, bs := account(c, "")
		stranger, _ := account(c, "")
		kettle := newProduct(sellerA, "Copper Kettle", cat.ID, 1999, 5)
		mugs := newProduct(sellerB, "Stoneware Mug", cat.ID, 500, 3)

		setCart(buyer, kettle.ID, 1)
		setCart(buyer, kettle.ID, 2) // replaces the quantity
		cart := setCart(buyer, mugs.ID, 1)
		if len(cart.Items) != 2 {
			t.Fatalf("cart after two products: %+v", cart)
		}
		// The cart reads names and prices from the catalogue.
		cart = decode[contracts.Cart](t, buyer.must(http.StatusOK, "GET", "/cart", nil))
		wantLines := map[string]contracts.CartItem{
			kettle.ID: {Name: "Copper Kettle", Quantity: 2, UnitPrice: contracts.USD(1999), Total: contracts.USD(3998), Available: true},
			mugs.ID:   {Name: "Stoneware Mug", Quantity: 1, UnitPrice: contracts.USD(500), Total: contracts.USD(500), Available: true},
		}
		for _, it := range cart.Items {
			w, ok := wantLines[it.ProductID]
			if !ok || it.Name != w.Name || it.Quantity != w.Quantity || it.UnitPrice != w.UnitPrice || it.Total != w.Total ||
				!it.Available || it.Problem != "" {
				t.Errorf("cart line %+v, want %+v", it, w)
			}
		}
		if len(cart.Items) != 2 || cart.Subtotal != contracts.USD(4498) || cart.ItemCount != 3 {
			t.Errorf("cart = %+v, want 2 lines, subtotal 44.98 USD, 3 units", cart)
		}

		placedBefore := metric(t, env, "oc_orders_placed_total")
		key := newKey()
		req := checkoutOf(cardOK)
		o := placeOrder(buyer, key, req)
		if o.UserID != bs.ID || o.Total != contracts.USD(4498) || o.Subtotal != contracts.USD(4498) || len(o.Items) != 2 {
			t.Errorf("placed order = %+v", o)
		}
		if o.Payment.Method != "card" || o.Payment.Last4 != "4242" || o.Payment.Brand == "" || o.Payment.Status != contracts.PaymentStatusPending {
			t.Errorf("placed order payment = %+v", o.Payment)
		}
		if a := o.ShippingAddress; a.Line1 != shipTo().Line1 || a.City != "London" || a.Country != "GB" || a.PostalCode != "SW1Y 4JH" {
			t.Errorf("shipping address snapshot = %+v", a)
		}
		for _, it := range o.Items {
			switch it.ProductID {
			case kettle.ID:
				if it.SellerID != sa.ID || it.Quantity != 2 || it.UnitPrice != contracts.USD(1999) || it.Total != contracts.USD(3998) {
					t.Errorf("kettle line = %+v", it)
				}
			case mugs.ID:
				if it.SellerID != sb.ID || it.Quantity != 1 || it.UnitPrice != contracts.USD(500) {
					t.Errorf("mug line = %+v", it)
				}
			default:
				t.Errorf("unexpected line %+v", it)
			}
		}
		if got := metric(t, env, "oc_orders_placed_total") - placedBefore; got != 1 {
			t.Errorf("oc_orders_placed_total moved by %v, want 1", got)
		}
		// The cart the order came from is empty now.
		if cart := decode[contracts.Cart](t, buyer.must(http.StatusOK, "GET", "/cart", nil)); len(cart.Items) != 0 || cart.ItemCount != 0 {
			t.Errorf("cart after checkout = %+v", cart)
		}

		paid := awaitOrder(buyer, o.ID, contracts.OrderStatusPaid)
		if paid.Payment.Status != contracts.PaymentStatusSucceeded || paid.StatusReason != "" || paid.Shipment != nil {
			t.Errorf("paid order = %+v", paid)
		}
		// The sold units leave the stock for good once the sale is committed.
		inv := awaitStock(sellerA, kettle.ID, 3, 0)
		if l := ledgerFor(inv, o.ID); l[contracts.LedgerReservation] != 2 || l[contracts.LedgerOutgoing] != 2 {
			t.Errorf("kettle ledger for the order = %v, want reservation 2 and outgoing 2", l)
		}
		awaitStock(sellerB, mugs.ID, 2, 0)
		if p := decode[product](t, buyer.must(http.StatusOK, "GET", "/products/"+kettle.ID, nil)); p.Stock != 3 {
			t.Errorf("product page stock after the sale = %d, want 3", p.Stock)
		}

		// The same key and body replays the first answer.
		again := decode[contracts.Order](t, buyer.must(http.StatusAccepted, "POST", "/orders", req, "Idempotency-Key", key))
		if again.ID != o.ID {
			t.Errorf("replay answered order %s, want %s", again.ID, o.ID)
		}

		// The buyer lists it; each seller lists it with only their items
		// and their subtotal, never the buyer's card; an admin sees it.
		mine := listOrders(buyer, "/orders")
		if len(mine) != 1 || mine[0].ID != o.ID || mine[0].Status != contracts.OrderStatusPaid || len(mine[0].Items) != 2 {
			t.Errorf("buyer's orders = %+v", mine)
		}
		for _, sc := range []struct {
			cl      *client
			product string
			total   contracts.Money
		}{{sellerA, kettle.ID, contracts.USD(3998)}, {sellerB, mugs.ID, contracts.USD(500)}} {
			so := findOrder(listOrders(sc.cl, "/seller/orders"), o.ID)
			if so == nil {
				t.Errorf("seller's orders miss %s", o.ID)
				continue
			}
			if len(so.Items) != 1 || so.Items[0].ProductID != sc.product || so.Total != sc.total || so.Payment.Last4 != "" {
				t.Errorf("seller view of the order = %+v", so)
			}
			if g := getOrder(sc.cl, o.ID); len(g.Items) != 1 || g.Items[0].ProductID != sc.product {
				t.Errorf("seller GET of the order = %+v", g)
			}
		}
		if g := getOrder(adm, o.ID); len(g.Items) != 2 {
			t.Errorf("admin GET of the order = %+v", g)
		}
		if findOrder(listOrders(adm, "/seller/orders"), o.ID) == nil {
			t.Errorf("admin's seller orders miss %s", o.ID)
		}

		// Nobody else learns the order exists.
		wantError(t, stranger.do("GET", "/orders/"+o.ID, nil), http.StatusNotFound, "not_found")
		wantError(t, stranger.do("POST", "/orders/"+o.ID+"/cancel", nil), http.StatusNotFound, "not_found")
		if got := listOrders(stranger, "/orders"); len(got) != 0 {
			t.Errorf("stranger's orders = %+v", got)
		}
		rival, _ := account(c, "seller")
		wantError(t, rival.do("GET", "/orders/"+o.ID, nil), http.StatusNotFound, "not_found")
		if got := listOrders(rival, "/seller/orders"); len(got) != 0 {
			t.Errorf("unrelated seller's orders = %+v", got)
		}
		wantError(t, buyer.do("GET", "/seller/orders", nil), http.StatusForbidden, "permission_denied")
		wantError(t, c.do("GET", "/orders/"+o.ID, nil), http.StatusUnauthorized, "unauthenticated")
		// A key is the buyer's own: another buyer's identical key places
		// another order (which cannot be priced from an empty cart).
		wantError(t, stranger.do("POST", "/orders", req, "Idempotency-Key", key), http.StatusConflict, "failed_precondition")
	})

	// A declined charge leaves the order awaiting another payment with the
	// provider's reason, the stock still held; cancelling it then gives the
	// stock back.
	for _, tc := range []struct{ card, reason string }{
		{cardDeclined, contracts.ReasonPaymentDeclined},
		{cardNoFunds, contracts.ReasonInsufficientFunds},
	} {
		t.Run("card "+tc.card+" → awaiting_payment "+tc.reason+", stock restored on cancel", func(t *testing.T) {
			c := c.with(t)
			seller, _ := account(c, "seller")
			buyer, _ := account(c, "")
			p := newProduct(seller, "Cast Iron Pan "+tc.reason, cat.ID, 4500, 5)
			setCart(buyer, p.ID, 2)
			paidBefore := metric(t, env, "oc_orders_paid_total")
			o := placeOrder(buyer, newKey(), checkoutOf(tc.card))
			got := awaitOrder(buyer, o.ID, contracts.OrderStatusAwaitingPayment)
			if got.StatusReason != tc.reason || got.Payment.Status != contracts.PaymentStatusFailed {
				t.Errorf("declined order: reason %q payment %q, want %q and failed", got.StatusReason, got.Payment.Status, tc.reason)
			}
			awaitStock(seller, p.ID, 3, 2)
			cancelled := decode[contracts.Order](t, buyer.must(http.StatusOK, "POST", "/orders/"+o.ID+"/cancel", nil))
			if cancelled.Status != contracts.OrderStatusCancelled || len(cancelled.Payment.Attempts) != 1 {
				t.Errorf("cancel answered %s with attempts %+v, want cancelled with the declined attempt", cancelled.Status, cancelled.Payment.Attempts)
			}
			inv := awaitStock(seller, p.ID, 5, 0)
			if l := ledgerFor(inv, o.ID); l[contracts.LedgerReservation] != 2 || l[contracts.LedgerRelease] != 2 || l[contracts.LedgerOutgoing] != 0 {
				t.Errorf("ledger for the declined order = %v, want reservation 2 and release 2", l)
			}
			if n := metric(t, env, "oc_orders_paid_total") - paidBefore; n != 0 {
				t.Errorf("oc_orders_paid_total moved by %v on a declined card", n)
			}
			if l := listOrders(buyer, "/orders"); len(l) != 1 || l[0].Status != contracts.OrderStatusCancelled {
				t.Errorf("buyer's orders = %+v", l)
			}
			// A cancelled order cannot be cancelled again.
			wantError(t, buyer.do("POST", "/orders/"+o.ID+"/cancel", nil), http.StatusConflict, "failed_precondition")
		})
	}

	t.Run("one Idempotency-Key sent ten times at once places one order, charged once", func(t *testing.T) {
		c := c.with(t)
		seller, _ := account(c, "seller")
		buyer, _ := account(c, "")
		p := newProduct(seller, "Chef Knife", cat.ID, 7900, 20)
		setCart(buyer, p.ID, 3)
		placedBefore := metric(t, env, "oc_orders_placed_total")
		chargedBefore := charges(t, env)

		key, req := newKey(), checkoutOf(cardOK)
		const n = 10
		replies := make([]response, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				replies[i], errs[i] = send(buyer, "POST", "/orders", req, "Idempotency-Key", key)
			})
		}
		close(start)
		wg.Wait()
		id := ""
		for i, r := range replies {
			if errs[i] != nil {
				t.Fatalf("request %d: %v", i, errs[i])
			}
			if r.Status != http.StatusAccepted {
				t.Errorf("request %d: %s, want 202", i, r)
				continue
			}
			o := decode[contracts.Order](t, r)
			if id == "" {
				id = o.ID
			}
			if o.ID != id {
				t.Errorf("request %d answered order %s, another %s", i, o.ID, id)
			}
		}
		if id == "" {
			t.Fatal("no request placed an order")
		}
		awaitOrder(buyer, id, contracts.OrderStatusPaid)
		if l := listOrders(buyer, "/orders"); len(l) != 1 || l[0].ID != id {
			t.Errorf("buyer's orders after ten identical checkouts = %+v", l)
		}
		// The stock moved by one order's quantity, and that order only.
		inv := awaitStock(seller, p.ID, 17, 0)
		reserved := int64(0)
		for _, e := range inv.Ledger {
			if e.Kind == contracts.LedgerReservation {
				reserved++
				if e.OrderID != id {
					t.Errorf("a reservation for another order: %+v", e)
				}
			}
		}
		if reserved != 1 {
			t.Errorf("%d reservations in the ledger, want 1", reserved)
		}
		if got := metric(t, env, "oc_orders_placed_total") - placedBefore; got != 1 {
			t.Errorf("oc_orders_placed_total moved by %v, want 1", got)
		}
		if got := charges(t, env) - chargedBefore; got != 1 {
			t.Errorf("the payment provider took %d charges, want 1", got)
		}

		// The same key for a different request is refused and names the
		// order it was used for.
		other := checkoutOf(cardOK)
		other.Address.City = "Manchester"
		r := buyer.do("POST", "/orders", other, "Idempotency-Key", key)
		wantError(t, r, http.StatusConflict, "conflict")
		var e struct {
			Error struct {
				Details map[string]any `json:"details"`
			} `json:"error"`
		}
		r.JSON(t, &e)
		if e.Error.Details["order_id"] != id {
			t.Errorf("conflict details = %v, want order_id %s", e.Error.Details, id)
		}
		if l := listOrders(buyer, "/orders"); len(l) != 1 {
			t.Errorf("%d orders after the conflicting request, want 1", len(l))
		}
	})

	t.Run("life after payment: ship, deliver, refund, cancel and every illegal step", func(t *testing.T) {
		c, adm := c.with(t), adm.with(t)
		seller, _ := account(c, "seller")
		rival, _ := account(c, "seller")
		buyer, _ := account(c, "")
		p := newProduct(seller, "Dutch Oven", cat.ID, 12000, 6)

		// Order 1 goes the whole way: shipped, delivered, refunded.
		o1 := placeOrder(buyer, newKey(), checkoutOf(cardOK, line(p.ID, 1)))
		awaitOrder(buyer, o1.ID, contracts.OrderStatusPaid)
		awaitStock(seller, p.ID, 5, 0)
		ship := contracts.ShipRequest{Carrier: "DHL", TrackingNumber: "JD014600006281230704"}
		// Only the seller of its items (or an admin) ships or delivers;
		// only an admin refunds.
		wantError(t, buyer.do("POST", "/orders/"+o1.ID+"/ship", ship), http.StatusForbidden, "permission_denied")
		wantError(t, buyer.do("POST", "/orders/"+o1.ID+"/deliver", nil), http.StatusForbidden, "permission_denied")
		wantError(t, buyer.do("POST", "/orders/"+o1.ID+"/refund", nil), http.StatusForbidden, "permission_denied")
		wantError(t, seller.do("POST", "/orders/"+o1.ID+"/refund", nil), http.StatusForbidden, "permission_denied")
		if r := rival.do("POST", "/orders/"+o1.ID+"/ship", ship); r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
			t.Errorf("another seller ships: %s, want 403 or 404", r)
		}
		// Deliver before ship.
		wantError(t, seller.do("POST", "/orders/"+o1.ID+"/deliver", nil), http.StatusConflict, "failed_precondition")
		// A shipment needs its carrier and tracking number.
		wantError(t, seller.do("POST", "/orders/"+o1.ID+"/ship", map[string]string{"carrier": "DHL"}), http.StatusBadRequest, "invalid_argument")
		wantError(t, seller.do("POST", "/orders/"+o1.ID+"/ship", map[string]string{"carrier": "DHL", "tracking_number": "1", "eta": "soon"}),
			http.StatusBadRequest, "invalid_argument")
		if o := getOrder(buyer, o1.ID); o.Status != contracts.OrderStatusPaid {
			t.Fatalf("after refused steps the order is %s, want paid", o.Status)
		}

		shipped := decode[contracts.Order](t, seller.must(http.StatusOK, "POST", "/orders/"+o1.ID+"/ship", ship))
		if shipped.Status != contracts.OrderStatusShipped || shipped.Shipment == nil || shipped.Shipment.Carrier != "DHL" ||
			shipped.Shipment.TrackingNumber != ship.TrackingNumber || shipped.Shipment.ShippedAt.IsZero() || shipped.Shipment.DeliveredAt != nil {
			t.Errorf("shipped order = %+v (shipment %+v)", shipped, shipped.Shipment)
		}
		if o := getOrder(buyer, o1.ID); o.Status != contracts.OrderStatusShipped || o.Shipment == nil || o.Shipment.TrackingNumber != ship.TrackingNumber {
			t.Errorf("the buyer sees %+v", o)
		}
		wantError(t, seller.do("POST", "/orders/"+o1.ID+"/ship", ship), http.StatusConflict, "failed_precondition")
		wantError(t, buyer.do("POST", "/orders/"+o1.ID+"/cancel", nil), http.StatusConflict, "failed_precondition")
		delivered := decode[contracts.Order](t, seller.must(http.StatusOK, "POST", "/orders/"+o1.ID+"/deliver", nil))
		if delivered.Status != contracts.OrderStatusDelivered || delivered.Shipment == nil || delivered.Shipment.DeliveredAt == nil {
			t.Errorf("delivered order = %+v", delivered)
		}
		wantError(t, seller.do("POST", "/orders/"+o1.ID+"/deliver", nil), http.StatusConflict, "failed_precondition")
		wantError(t, buyer.do("POST", "/orders/"+o1.ID+"/cancel", nil), http.StatusConflict, "failed_precondition")
		refunded := decode[contracts.Order](t, adm.must(http.StatusOK, "POST", "/orders/"+o1.ID+"/refund", map[string]string{"reason": "arrived dented"}))
		if refunded.Status != contracts.OrderStatusRefunded || refunded.StatusReason != contracts.ReasonRefundedByAdmin {
			t.Errorf("refunded order = %+v", refunded)
		}
		awaitPayment(buyer, o1.ID, contracts.PaymentStatusRefunded)
		wantError(t, adm.do("POST", "/orders/"+o1.ID+"/refund", nil), http.StatusConflict, "failed_precondition")
		wantError(t, seller.do("POST", "/orders/"+o1.ID+"/ship", ship), http.StatusConflict, "failed_precondition")
		// A refund of delivered goods brings nothing back to the shelf.
		if inv := inventoryOf(seller, p.ID); inv.Stock != 5 || inv.Reserved != 0 {
			t.Errorf("stock after refunding a delivered order: %d/%d, want 5/0", inv.Stock, inv.Reserved)
		}

		// Order 2 is paid, then cancelled by its buyer: refunded, and the
		// sold units are back in stock.
		o2 := placeOrder(buyer, newKey(), checkoutOf(cardOK, line(p.ID, 2)))
		awaitOrder(buyer, o2.ID, contracts.OrderStatusPaid)
		awaitStock(seller, p.ID, 3, 0)
		cancelled := decode[contracts.Order](t, buyer.must(http.StatusOK, "POST", "/orders/"+o2.ID+"/cancel", map[string]string{"reason": "changed my mind"}))
		if cancelled.Status != contracts.OrderStatusCancelled || cancelled.StatusReason != contracts.ReasonCancelledByUser {
			t.Errorf("cancelled paid order = %+v", cancelled)
		}
		awaitPayment(buyer, o2.ID, contracts.PaymentStatusRefunded)
		inv := awaitStock(seller, p.ID, 5, 0)
		if l := ledgerFor(inv, o2.ID); l[contracts.LedgerOutgoing] != 2 || l[contracts.LedgerIncoming] != 2 {
			t.Errorf("ledger for the cancelled paid order = %v, want outgoing 2 and incoming 2", l)
		}
		// A cancelled order goes nowhere.
		wantError(t, seller.do("POST", "/orders/"+o2.ID+"/ship", ship), http.StatusConflict, "failed_precondition")
		wantError(t, seller.do("POST", "/orders/"+o2.ID+"/deliver", nil), http.StatusConflict, "failed_precondition")
		wantError(t, adm.do("POST", "/orders/"+o2.ID+"/refund", nil), http.StatusConflict, "failed_precondition")
		wantError(t, buyer.do("POST", "/orders/"+o2.ID+"/cancel", nil), http.StatusConflict, "failed_precondition")
		// The ship refused on the cancelled order left the stock alone.
		if inv := inventoryOf(seller, p.ID); inv.Stock != 5 || inv.Reserved != 0 {
			t.Errorf("stock after refused steps: %d/%d, want 5/0", inv.Stock, inv.Reserved)
		}

		// Order 3: an admin ships, delivers and cancels for a buyer.
		o3 := placeOrder(buyer, newKey(), checkoutOf(cardOK, line(p.ID, 1)))
		awaitOrder(buyer, o3.ID, contracts.OrderStatusPaid)
		byAdmin := decode[contracts.Order](t, adm.must(http.StatusOK, "POST", "/orders/"+o3.ID+"/cancel", nil))
		if byAdmin.Status != contracts.OrderStatusCancelled || byAdmin.StatusReason != contracts.ReasonCancelledByAdmin {
			t.Errorf("order cancelled by an admin = %+v", byAdmin)
		}
		awaitPayment(buyer, o3.ID, contracts.PaymentStatusRefunded)
		awaitStock(seller, p.ID, 5, 0)

		statuses := map[string]string{}
		for _, o := range listOrders(buyer, "/orders") {
			statuses[o.ID] = o.Status
		}
		want := map[string]string{o1.ID: contracts.OrderStatusRefunded, o2.ID: contracts.OrderStatusCancelled, o3.ID: contracts.OrderStatusCancelled}
		if len(statuses) != len(want) {
			t.Errorf("buyer's orders = %v, want %v", statuses, want)
		}
		for id, s := range want {
			if statuses[id] != s {
				t.Errorf("order %s listed %q, want %q", id, statuses[id], s)
			}
		}
		// The status filter.
		if l := listOrders(buyer, "/orders?status=refunded"); len(l) != 1 || l[0].ID != o1.ID {
			t.Errorf("refunded orders = %+v", l)
		}
	})

	t.Run("cancel and ship racing on a paid order: one wins, the stock follows the winner once", func(t *testing.T) {
		c := c.with(t)
		seller, _ := account(c, "seller")
		buyer, _ := account(c, "")
		p := newProduct(seller, "Spice Rack", cat.ID, 3000, 6)
		for round := range 3 {
			o := placeOrder(buyer, newKey(), checkoutOf(cardOK, line(p.ID, 2)))
			awaitOrder(buyer, o.ID, contracts.OrderStatusPaid)
			awaitStock(seller, p.ID, 4, 0)
			const n = 6
			replies := make([]response, n)
			errs := make([]error, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					if i%2 == 0 {
						replies[i], errs[i] = send(buyer, "POST", "/orders/"+o.ID+"/cancel", map[string]string{})
					} else {
						replies[i], errs[i] = send(seller, "POST", "/orders/"+o.ID+"/ship", contracts.ShipRequest{Carrier: "UPS", TrackingNumber: "1Z999"})
					}
				})
			}
			close(start)
			wg.Wait()
			won := -1
			for i, r := range replies {
				switch {
				case errs[i] != nil:
					t.Fatalf("request %d: %v", i, errs[i])
				case r.Status == http.StatusOK && won < 0:
					won = i
				case r.Status == http.StatusOK:
					t.Errorf("round %d: requests %d and %d both succeeded", round, won, i)
				default:
					wantError(t, r, http.StatusConflict, "failed_precondition")
				}
			}
			if won < 0 {
				t.Fatalf("round %d: neither cancel nor ship succeeded", round)
			}
			got := getOrder(buyer, o.ID)
			if won%2 == 0 {
				if got.Status != contracts.OrderStatusCancelled {
					t.Fatalf("round %d: cancel won but the order is %s", round, got.Status)
				}
				awaitPayment(buyer, o.ID, contracts.PaymentStatusRefunded)
				inv := awaitStock(seller, p.ID, 6, 0)
				if l := ledgerFor(inv, o.ID); l[contracts.LedgerIncoming] != 2 {
					t.Errorf("round %d: units returned for the cancelled order = %d, want 2 (once)", round, l[contracts.LedgerIncoming])
				}
			} else {
				if got.Status != contracts.OrderStatusShipped || got.Payment.Status != contracts.PaymentStatusSucceeded {
					t.Fatalf("round %d: ship won but the order is %s, payment %s", round, got.Status, got.Payment.Status)
				}
				// A shipped order's goods are gone: put the units back by
				// hand so the next round starts from the same shelf.
				if inv := inventoryOf(seller, p.ID); inv.Stock != 4 || inv.Reserved != 0 {
					t.Errorf("round %d: stock after shipping %d/%d, want 4/0", round, inv.Stock, inv.Reserved)
				}
				seller.must(http.StatusOK, "PATCH", "/products/"+p.ID+"/inventory", map[string]any{"adjust": 2, "reason": "restock"})
			}
		}
	})

	t.Run("out of stock: too much for the shelf is refused, or cancelled when the stock went meanwhile", func(t *testing.T) {
		c := c.with(t)
		seller, _ := account(c, "seller")
		buyer, _ := account(c, "")
		p := newProduct(seller, "Paring Knife", cat.ID, 1500, 2)

		// When the catalogue already shows too little stock, the cart and
		// the checkout say so at once and nothing is placed.
		wantError(t, buyer.do("PUT", "/cart/items/"+p.ID, contracts.CartSetItemRequest{Quantity: 3}), http.StatusConflict, "failed_precondition")
		wantError(t, buyer.do("POST", "/orders", checkoutOf(cardOK, line(p.ID, 3)), "Idempotency-Key", newKey()),
			http.StatusConflict, "failed_precondition")
		if l := listOrders(buyer, "/orders"); len(l) != 0 {
			t.Errorf("orders after refused checkouts = %+v", l)
		}

		// When the stock goes between the checkout and the reservation, the
		// order is placed and then cancelled out_of_stock. Buyers race for
		// the whole shelf until a round shows that (every round leaves the
		// product sold out and sound).
		const racers = 8
		buyers := make([]*client, racers)
		for i := range buyers {
			buyers[i], _ = account(c, "")
		}
		sawRejected, rounds := false, 0
		for round := 0; round < 5 && !sawRejected; round++ {
			rounds++
			p := newProduct(seller, "Bread Knife", cat.ID, 2500, 2)
			replies := make([]response, racers)
			errs := make([]error, racers)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range racers {
				wg.Go(func() {
					<-start
					replies[i], errs[i] = send(buyers[i], "POST", "/orders", checkoutOf(cardOK, line(p.ID, 2)), "Idempotency-Key", newKey())
				})
			}
			close(start)
			wg.Wait()
			paid := 0
			for i, r := range replies {
				if errs[i] != nil {
					t.Fatalf("racer %d: %v", i, errs[i])
				}
				switch r.Status {
				case http.StatusConflict:
					wantError(t, r, http.StatusConflict, "failed_precondition")
				case http.StatusAccepted:
					got := awaitSettled(buyers[i], decode[contracts.Order](t, r).ID)
					switch {
					case got.Status == contracts.OrderStatusPaid:
						paid++
					case got.Status == contracts.OrderStatusCancelled && got.StatusReason == contracts.ReasonOutOfStock:
						sawRejected = true
						if got.Payment.Status != contracts.PaymentStatusVoided {
							t.Errorf("an order cancelled out of stock has payment %q, want voided", got.Payment.Status)
						}
					default:
						t.Errorf("racer %d: order ended %s (%s)", i, got.Status, got.StatusReason)
					}
				default:
					t.Errorf("racer %d: %s", i, r)
				}
			}
			if paid != 1 {
				t.Errorf("round %d: %d orders paid for a shelf of one order, want 1", round, paid)
			}
			// Never oversold: the shelf is empty and nothing stays held.
			awaitStock(seller, p.ID, 0, 0)
		}
		t.Logf("rounds of the race: %d (an order placed, then cancelled out_of_stock: %v)", rounds, sawRejected)
		if !sawRejected {
			t.Errorf("in 5 rounds of %d buyers racing for one shelf no order was placed and then cancelled out_of_stock", racers)
		}
	})

	t.Run("bad input is refused and places nothing", func(t *testing.T) {
		c := c.with(t)
		seller, _ := account(c, "seller")
		buyer, _ := account(c, "")
		p := newProduct(seller, "Salt Cellar", cat.ID, 900, 4)
		placedBefore := metric(t, env, "oc_orders_placed_total")

		// The cart.
		for _, body := range []any{
			contracts.CartSetItemRequest{Quantity: 0},
			contracts.CartSetItemRequest{Quantity: 1000},
			contracts.CartSetItemRequest{Quantity: -1},
			map[string]any{"quantity": 1, "colour": "red"},
			`{"quantity":"two"}`,
			`{"quantity":1`,
		} {
			wantError(t, buyer.do("PUT", "/cart/items/"+p.ID, body), http.StatusBadRequest, "invalid_argument")
		}
		wantError(t, buyer.do("PUT", "/cart/items/not-a-uuid", contracts.CartSetItemRequest{Quantity: 1}), http.StatusBadRequest, "invalid_argument")
		if r := buyer.do("PUT", "/cart/items/0190a000-0000-7000-8000-000000000000", contracts.CartSetItemRequest{Quantity: 1}); r.Status/100 != 4 {
			t.Errorf("unknown product in the cart: %s, want 4xx", r)
		}
		wantError(t, c.do("PUT", "/cart/items/"+p.ID, contracts.CartSetItemRequest{Quantity: 1}), http.StatusUnauthorized, "unauthenticated")
		if cart := decode[contracts.Cart](t, buyer.must(http.StatusOK, "GET", "/cart", nil)); len(cart.Items) != 0 {
			t.Errorf("cart after refused changes = %+v", cart)
		}
		// An empty cart cannot be checked out.
		wantError(t, buyer.do("POST", "/orders", checkoutOf(cardOK), "Idempotency-Key", newKey()), http.StatusConflict, "failed_precondition")

		// The checkout.
		good := checkoutOf(cardOK, line(p.ID, 1))
		wantError(t, buyer.do("POST", "/orders", good), http.StatusBadRequest, "invalid_argument") // no Idempotency-Key
		wantError(t, buyer.do("POST", "/orders", good, "Idempotency-Key", strings.Repeat("k", 200)), http.StatusBadRequest, "invalid_argument")
		badCard := checkoutOf(cardBadLuhn, line(p.ID, 1))
		noAddress := checkoutOf(cardOK, line(p.ID, 1))
		noAddress.Address = nil
		badCountry := checkoutOf(cardOK, line(p.ID, 1))
		badCountry.Address.Country = "Narnia"
		expired := checkoutOf(cardOK, line(p.ID, 1))
		expired.Payment.ExpYear = 2001
		for name, body := range map[string]any{
			"bad card number (Luhn)": badCard,
			"quantity 0":             checkoutOf(cardOK, line(p.ID, 0)),
			"quantity 1000":          checkoutOf(cardOK, line(p.ID, 1000)),
			"same line twice":        checkoutOf(cardOK, line(p.ID, 1), line(p.ID, 1)),
			"bad product id":         checkoutOf(cardOK, line("kettle", 1)),
			"no address":             noAddress,
			"bad country":            badCountry,
			"expired card":           expired,
			"unknown field":          map[string]any{"address": shipTo(), "items": []any{line(p.ID, 1)}, "payment": good.Payment, "discount": 100},
			"unknown payment field":  map[string]any{"address": shipTo(), "items": []any{line(p.ID, 1)}, "payment": map[string]any{"method": "card", "card_number": cardOK, "exp_month": 12, "exp_year": 2040, "cvc": "123", "pin": "0000"}},
			"client price":           map[string]any{"address": shipTo(), "items": []any{map[string]any{"product_id": p.ID, "quantity": 1, "unit_price": 1}}, "payment": good.Payment},
			"not JSON":               `{"address":`,
		} {
			r := buyer.do("POST", "/orders", body, "Idempotency-Key", newKey())
			if r.Status != http.StatusBadRequest || r.ErrCode() != "invalid_argument" {
				t.Errorf("%s: %s, want 400 invalid_argument", name, r)
			}
		}
		wantError(t, c.do("POST", "/orders", good, "Idempotency-Key", newKey()), http.StatusUnauthorized, "unauthenticated")

		// Unknown or malformed order ids are not found.
		wantError(t, buyer.do("GET", "/orders/0190a000-0000-7000-8000-000000000000", nil), http.StatusNotFound, "not_found")
		wantError(t, buyer.do("GET", "/orders/nope", nil), http.StatusNotFound, "not_found")
		wantError(t, buyer.do("GET", "/orders?status=lost", nil), http.StatusBadRequest, "invalid_argument")

		if l := listOrders(buyer, "/orders"); len(l) != 0 {
			t.Errorf("orders after bad input = %+v", l)
		}
		if got := metric(t, env, "oc_orders_placed_total") - placedBefore; got != 0 {
			t.Errorf("oc_orders_placed_total moved by %v on bad input", got)
		}
		if inv := inventoryOf(seller, p.ID); inv.Stock != 4 || inv.Reserved != 0 {
			t.Errorf("stock after bad input: %d/%d, want 4/0", inv.Stock, inv.Reserved)
		}
		// The refusals burnt no key: the good request with a fresh key works.
		o := placeOrder(buyer, newKey(), good)
		awaitOrder(buyer, o.ID, contracts.OrderStatusPaid)
	})
}
