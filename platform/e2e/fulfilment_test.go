package e2e_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// Fulfilment per seller through the gateway: an order of two sellers is
// shipped and delivered by each seller for their own lines, its status
// follows its shipments, each seller sees only their lines and subtotal,
// the buyer sees every shipment and hears of each, and an admin acts for
// any seller.
func TestFulfilmentPerSeller(t *testing.T) {
	t.Parallel()
	env := startShop(t)
	c := newClient(t, env)
	adm := c.as(adminSession(c).Access)
	cat := newCategory(adm, "Kitchen", "")
	sellerA, sa := account(c, "seller")
	sellerB, sb := account(c, "seller")
	buyer, _ := account(c, "")
	kettle := newProduct(sellerA, "Copper Kettle", cat.ID, 1999, 10)
	mug := newProduct(sellerB, "Stoneware Mug", cat.ID, 500, 10)
	tea := newProduct(sellerA, "Tea Caddy", cat.ID, 800, 10)

	// Lines: 1 kettle (A), 2 two mugs (B), 3 tea caddy (A).
	paidOrder := func(t *testing.T) contracts.Order {
		t.Helper()
		o := placeOrder(buyer.with(t), newKey(), checkoutOf(cardOK, line(kettle.ID, 1), line(mug.ID, 2), line(tea.ID, 1)))
		return awaitOrder(buyer.with(t), o.ID, contracts.OrderStatusPaid)
	}
	ship := func(carrier, tracking string, lines ...int) contracts.ShipRequest {
		return contracts.ShipRequest{Carrier: carrier, TrackingNumber: tracking, Lines: lines}
	}

	t.Run("a seller sees only their lines, their subtotal and the shipping address", func(t *testing.T) {
		buyer, sellerA, sellerB := buyer.with(t), sellerA.with(t), sellerB.with(t)
		o := paidOrder(t)
		full := getOrder(buyer, o.ID)
		if len(full.Items) != 3 || full.Total != contracts.USD(3799) || full.Payment.Last4 != "4242" || len(full.Payment.Attempts) == 0 {
			t.Fatalf("the buyer's view = %+v", full)
		}
		for i, it := range full.Items {
			if it.Line != i+1 {
				t.Errorf("item %d has line %d, want %d", i, it.Line, i+1)
			}
		}
		r := sellerB.must(http.StatusOK, "GET", "/orders/"+o.ID, nil)
		v := decode[contracts.Order](t, r)
		if len(v.Items) != 1 || v.Items[0].ProductID != mug.ID || v.Items[0].Line != 2 {
			t.Errorf("seller B sees items %+v, want only line 2 (the mugs)", v.Items)
		}
		if v.Subtotal != contracts.USD(1000) || v.Total != contracts.USD(1000) {
			t.Errorf("seller B sees subtotal %v total %v, want their 10.00 USD", v.Subtotal, v.Total)
		}
		if v.Payment.Brand != "" || v.Payment.Last4 != "" || len(v.Payment.Attempts) != 0 {
			t.Errorf("seller B sees the buyer's payment %+v", v.Payment)
		}
		if v.ShippingAddress.Line1 != shipTo().Line1 || v.ShippingAddress.PostalCode != shipTo().PostalCode {
			t.Errorf("seller B sees the address %+v, want the buyer's", v.ShippingAddress)
		}
		for _, leak := range []string{"Copper Kettle", "Tea Caddy", kettle.ID, tea.ID, `"visa"`, `"last4"`, `"attempts"`} {
			if strings.Contains(string(r.Body), leak) {
				t.Errorf("seller B's view of the order contains %s: %s", leak, r.Body)
			}
		}
		// The seller's list shows the same.
		l := findOrder(listOrders(sellerA, "/seller/orders"), o.ID)
		if l == nil || len(l.Items) != 2 || l.Total != contracts.USD(2799) || l.Payment.Last4 != "" {
			t.Errorf("seller A's list shows %+v, want lines 1 and 3 for 27.99 USD and no card", l)
		}
	})

	t.Run("each seller ships and delivers their own lines; the status follows the shipments", func(t *testing.T) {
		buyer, sellerA, sellerB := buyer.with(t), sellerA.with(t), sellerB.with(t)
		o := paidOrder(t)
		path := "/orders/" + o.ID

		// A splits: the kettle first.
		first := decode[contracts.Order](t, sellerA.must(http.StatusOK, "POST", path+"/ship", ship("DHL", "DHL-1", 1)))
		if first.Status != contracts.OrderStatusPartiallyShipped || len(first.Shipments) != 1 ||
			!slices.Equal(first.Shipments[0].Lines, []int{1}) || first.Shipments[0].SellerID != sa.ID ||
			first.Shipments[0].Status != contracts.ShipmentShipped || first.Shipments[0].Carrier != "DHL" {
			t.Fatalf("after A shipped line 1: %+v", first)
		}
		// Nobody ships another seller's line, nor a line twice, nor a line
		// the order does not have.
		wantError(t, sellerB.do("POST", path+"/ship", ship("UPS", "1Z", 1)), http.StatusForbidden, "permission_denied")
		wantError(t, sellerA.do("POST", path+"/ship", ship("UPS", "1Z", 1)), http.StatusConflict, "failed_precondition")
		wantError(t, sellerA.do("POST", path+"/ship", ship("UPS", "1Z", 9)), http.StatusBadRequest, "invalid_argument")
		wantError(t, sellerA.do("POST", path+"/ship", ship("UPS", "1Z", 3, 3)), http.StatusBadRequest, "invalid_argument")
		wantError(t, sellerA.do("POST", path+"/ship", map[string]any{"carrier": "UPS", "tracking_number": "1Z", "lines": "all"}),
			http.StatusBadRequest, "invalid_argument")
		// B has shipped nothing: nothing of theirs to deliver.
		wantError(t, sellerB.do("POST", path+"/deliver", nil), http.StatusConflict, "failed_precondition")
		// The buyer can no longer cancel: part of it has left.
		wantError(t, buyer.do("POST", path+"/cancel", nil), http.StatusConflict, "failed_precondition")

		// B ships their lines (today's call: no lines named), then A the rest.
		second := decode[contracts.Order](t, sellerB.must(http.StatusOK, "POST", path+"/ship", ship("UPS", "1Z-B")))
		if second.Status != contracts.OrderStatusPartiallyShipped || len(second.Shipments) != 1 || !slices.Equal(second.Shipments[0].Lines, []int{2}) {
			t.Fatalf("after B shipped: %+v (B sees only their shipment)", second)
		}
		wantError(t, sellerB.do("POST", path+"/ship", ship("UPS", "1Z-B2")), http.StatusConflict, "failed_precondition")
		third := decode[contracts.Order](t, sellerA.must(http.StatusOK, "POST", path+"/ship", ship("DHL", "DHL-2")))
		if third.Status != contracts.OrderStatusShipped || len(third.Shipments) != 2 || !slices.Equal(third.Shipments[1].Lines, []int{3}) {
			t.Fatalf("after A shipped the rest: %+v", third)
		}
		// The buyer sees every shipment, each line with its shipment.
		all := getOrder(buyer, o.ID)
		if all.Status != contracts.OrderStatusShipped || len(all.Shipments) != 3 {
			t.Fatalf("the buyer sees %s with %d shipments, want shipped with 3", all.Status, len(all.Shipments))
		}
		tracking := map[string]string{}
		for _, sh := range all.Shipments {
			tracking[sh.ID] = sh.TrackingNumber
		}
		for _, it := range all.Items {
			want := map[int]string{1: "DHL-1", 2: "1Z-B", 3: "DHL-2"}[it.Line]
			if tracking[it.ShipmentID] != want {
				t.Errorf("line %d left in shipment %q (%q), want the one tracked %s", it.Line, it.ShipmentID, tracking[it.ShipmentID], want)
			}
		}

		// Delivery: B's parcel, then A's first one by id, then A's rest.
		if d := decode[contracts.Order](t, sellerB.must(http.StatusOK, "POST", path+"/deliver", nil)); d.Status != contracts.OrderStatusShipped ||
			d.Shipments[0].Status != contracts.ShipmentDelivered || d.Shipments[0].DeliveredAt == nil {
			t.Errorf("after B's delivery: %+v", d)
		}
		wantError(t, sellerB.do("POST", path+"/deliver", nil), http.StatusConflict, "failed_precondition")
		wantError(t, sellerB.do("POST", path+"/deliver", contracts.DeliverRequest{ShipmentID: first.Shipments[0].ID}), http.StatusForbidden, "permission_denied")
		wantError(t, sellerA.do("POST", path+"/deliver", contracts.DeliverRequest{ShipmentID: "not-an-id"}), http.StatusBadRequest, "invalid_argument")
		if d := decode[contracts.Order](t, sellerA.must(http.StatusOK, "POST", path+"/deliver", contracts.DeliverRequest{ShipmentID: first.Shipments[0].ID})); d.Status != contracts.OrderStatusShipped {
			t.Errorf("after A's first parcel was delivered the order is %s, want shipped", d.Status)
		}
		wantError(t, sellerA.do("POST", path+"/deliver", contracts.DeliverRequest{ShipmentID: first.Shipments[0].ID}), http.StatusConflict, "failed_precondition")
		if d := decode[contracts.Order](t, sellerA.must(http.StatusOK, "POST", path+"/deliver", nil)); d.Status != contracts.OrderStatusDelivered {
			t.Errorf("after every parcel was delivered the order is %s, want delivered", d.Status)
		}
		wantError(t, sellerA.do("POST", path+"/deliver", nil), http.StatusConflict, "failed_precondition")
		if l := listOrders(buyer, "/orders?status=delivered"); findOrder(l, o.ID) == nil {
			t.Errorf("the delivered order is not in the buyer's delivered list")
		}

		// The buyer heard of each parcel, as it left and as it arrived.
		countNotes := func(kind string) int {
			n := 0
			for _, x := range notes(buyer, "") {
				if x.Kind == kind && x.OrderID == o.ID {
					n++
				}
			}
			return n
		}
		testenv.Eventually(t, "three shipped and three delivered notifications", func() bool {
			return countNotes(contracts.KindOrderShipped) == 3 && countNotes(contracts.KindOrderDelivered) == 3
		})
		parcel := 0
		for _, x := range notes(buyer, "") {
			if x.OrderID == o.ID && strings.Contains(x.Body, "parcel") {
				parcel++
			}
		}
		if parcel < 3 {
			t.Errorf("%d notifications speak of a parcel, want the partial ones to", parcel)
		}
	})

	t.Run("an admin ships and delivers for any seller", func(t *testing.T) {
		adm, buyer := adm.with(t), buyer.with(t)
		o := paidOrder(t)
		path := "/orders/" + o.ID
		// Two sellers have lines left: the admin must say whose.
		wantError(t, adm.do("POST", path+"/ship", ship("DHL", "X")), http.StatusBadRequest, "invalid_argument")
		wantError(t, adm.do("POST", path+"/ship", ship("DHL", "X", 1, 2)), http.StatusBadRequest, "invalid_argument")
		s := decode[contracts.Order](t, adm.must(http.StatusOK, "POST", path+"/ship",
			contracts.ShipRequest{Carrier: "UPS", TrackingNumber: "ADM-B", SellerID: sb.ID}))
		if s.Status != contracts.OrderStatusPartiallyShipped || len(s.Shipments) != 1 || s.Shipments[0].SellerID != sb.ID {
			t.Fatalf("after the admin shipped B's lines: %+v", s)
		}
		// Only A has lines left: no need to say.
		s = decode[contracts.Order](t, adm.must(http.StatusOK, "POST", path+"/ship", ship("DHL", "ADM-A")))
		if s.Status != contracts.OrderStatusShipped || len(s.Shipments) != 2 || !slices.Equal(s.Shipments[1].Lines, []int{1, 3}) {
			t.Fatalf("after the admin shipped A's lines: %+v", s)
		}
		if d := decode[contracts.Order](t, adm.must(http.StatusOK, "POST", path+"/deliver", nil)); d.Status != contracts.OrderStatusDelivered {
			t.Fatalf("the admin delivered every shipment; the order is %s", d.Status)
		}
		if g := getOrder(buyer, o.ID); g.Status != contracts.OrderStatusDelivered || g.Shipment == nil || g.Shipment.DeliveredAt == nil {
			t.Errorf("the buyer sees %+v", g)
		}
	})

	t.Run("a one-seller order ships and delivers with today's calls", func(t *testing.T) {
		buyer, sellerA := buyer.with(t), sellerA.with(t)
		o := placeOrder(buyer, newKey(), checkoutOf(cardOK, line(kettle.ID, 1), line(tea.ID, 2)))
		awaitOrder(buyer, o.ID, contracts.OrderStatusPaid)
		s := decode[contracts.Order](t, sellerA.must(http.StatusOK, "POST", "/orders/"+o.ID+"/ship", ship("DHL", "ONE")))
		if s.Status != contracts.OrderStatusShipped || s.Shipment == nil || s.Shipment.TrackingNumber != "ONE" || !slices.Equal(s.Shipment.Lines, []int{1, 2}) {
			t.Fatalf("shipped = %+v", s)
		}
		d := decode[contracts.Order](t, sellerA.must(http.StatusOK, "POST", "/orders/"+o.ID+"/deliver", nil))
		if d.Status != contracts.OrderStatusDelivered || d.Shipment.DeliveredAt == nil || d.Shipment.DeliveredAt.Before(d.Shipment.ShippedAt.Add(-time.Second)) {
			t.Fatalf("delivered = %+v", d)
		}
	})
}
