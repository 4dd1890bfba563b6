package order_test

import (
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// paidOrder places an order of one product of sellerA and one of sellerB
// for buyer and waits until it is paid.
func (e *env) paidOrder(a contracts.Actor) (contracts.Order, string, string) {
	e.t.Helper()
	pa := e.prod.add("A-thing", 1000, 100, sellerA, contracts.ProductActive)
	pb := e.prod.add("B-thing", 2000, 100, sellerB, contracts.ProductActive)
	o := ok[contracts.Order](e.t, e.checkout(a, key(), checkoutBody(cardOK,
		contracts.LineInput{ProductID: pa, Quantity: 1}, contracts.LineInput{ProductID: pb, Quantity: 2})))
	return e.waitStatus(a, o.ID, contracts.OrderStatusPaid), pa, pb
}

func TestAccessAndTransitions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.prod.start()
	e.start(nil)
	o, pa, _ := e.paidOrder(buyer)
	seller3 := contracts.Actor{ID: "s-third", Role: contracts.RoleSeller}
	id := contracts.Params{"id": {o.ID}}

	t.Run("visibility", func(t *testing.T) {
		failed(t, e.get(buyer2, o.ID), contracts.CodeNotFound, "order not found")
		failed(t, e.get(seller3, o.ID), contracts.CodeNotFound, "order not found")
		failed(t, e.get(buyer, "not-an-id"), contracts.CodeNotFound, "order not found")
		failed(t, e.get(contracts.Actor{}, o.ID), contracts.CodeUnauthenticated, "sign in")
		// The seller sees the order with only their own items.
		sv := ok[contracts.Order](t, e.get(sellerA, o.ID))
		if len(sv.Items) != 1 || sv.Items[0].ProductID != pa {
			t.Fatalf("seller view items = %+v", sv.Items)
		}
		// Their subtotal, never the order's total or the buyer's card.
		if sv.Total.Amount != 1000 || sv.Subtotal.Amount != 1000 || sv.Payment.Last4 != "" || sv.Payment.Brand != "" || len(sv.Payment.Attempts) != 0 {
			t.Fatalf("seller view totals/payment = %+v %+v %+v", sv.Total, sv.Subtotal, sv.Payment)
		}
		if full := ok[contracts.Order](t, e.get(admin, o.ID)); len(full.Items) != 2 {
			t.Fatalf("admin view items = %+v", full.Items)
		}
		if l := ok[contracts.List[contracts.Order]](t, e.call(buyer2, contracts.MethodOrderList, nil, nil, nil)); len(l.Items) != 0 {
			t.Fatalf("another buyer lists %d orders", len(l.Items))
		}
		if l := ok[contracts.List[contracts.Order]](t, e.call(sellerA, contracts.MethodOrderSellerList, nil, nil, nil)); len(l.Items) != 1 || len(l.Items[0].Items) != 1 {
			t.Fatalf("seller list = %+v", l)
		}
		if l := ok[contracts.List[contracts.Order]](t, e.call(seller3, contracts.MethodOrderSellerList, nil, nil, nil)); len(l.Items) != 0 {
			t.Fatalf("a seller without items in it lists %d orders", len(l.Items))
		}
		failed(t, e.call(buyer, contracts.MethodOrderSellerList, nil, nil, nil), contracts.CodePermissionDenied, "sellers")
	})

	t.Run("refusals", func(t *testing.T) {
		failed(t, e.call(buyer2, contracts.MethodOrderCancel, id, nil, nil), contracts.CodeNotFound, "order not found")
		ship := contracts.ShipRequest{Carrier: "UPS", TrackingNumber: "1Z999"}
		failed(t, e.call(seller3, contracts.MethodOrderShip, id, ship, nil), contracts.CodePermissionDenied, "seller")
		failed(t, e.call(buyer, contracts.MethodOrderShip, id, ship, nil), contracts.CodePermissionDenied, "seller")
		failed(t, e.call(sellerA, contracts.MethodOrderShip, id, contracts.ShipRequest{Carrier: "UPS"}, nil), contracts.CodeInvalidArgument, "tracking_number")
		failed(t, e.call(sellerA, contracts.MethodOrderRefund, id, nil, nil), contracts.CodePermissionDenied, "admin")
		err := failed(t, e.call(sellerA, contracts.MethodOrderDeliver, id, nil, nil), contracts.CodeFailedPrecondition, "order is paid")
		if err.Details["status"] != contracts.OrderStatusPaid {
			t.Fatalf("details = %v", err.Details)
		}
		// A buyer cannot set a status: there is no such field to send.
		failed(t, e.call(buyer, contracts.MethodOrderCancel, id, map[string]any{"status": "delivered"}, nil), contracts.CodeInvalidArgument, "unknown field")
	})

	t.Run("fulfilment", func(t *testing.T) {
		// Each seller ships their own lines: A's shipment leaves B's line.
		s := ok[contracts.Order](t, e.call(sellerA, contracts.MethodOrderShip, id, contracts.ShipRequest{Carrier: "UPS", TrackingNumber: "1Z999"}, nil))
		if s.Status != contracts.OrderStatusPartiallyShipped || s.Shipment == nil || s.Shipment.TrackingNumber != "1Z999" ||
			len(s.Shipments) != 1 || s.Shipments[0].SellerID != sellerA.ID || len(s.Shipments[0].Lines) != 1 || s.Shipments[0].Lines[0] != 1 {
			t.Fatalf("shipped = %+v", s)
		}
		var se contracts.OrderShipped
		if err := e.waitEvent(contracts.EventOrderShipped, o.ID).Decode(&se); err != nil {
			t.Fatal(err)
		}
		if se.Carrier != "UPS" || se.TrackingNumber != "1Z999" || se.UserID != buyer.ID || se.SellerID != sellerA.ID ||
			len(se.Items) != 1 || se.Items[0].SellerID != sellerA.ID || se.Status != contracts.OrderStatusPartiallyShipped {
			t.Fatalf("order.shipped = %+v", se)
		}
		failed(t, e.call(buyer, contracts.MethodOrderCancel, id, nil, nil), contracts.CodeFailedPrecondition, "order is partially_shipped")
		failed(t, e.call(sellerA, contracts.MethodOrderShip, id, contracts.ShipRequest{Carrier: "UPS", TrackingNumber: "2"}, nil), contracts.CodeFailedPrecondition, "has shipped already")
		failed(t, e.call(sellerB, contracts.MethodOrderDeliver, id, nil, nil), contracts.CodeFailedPrecondition, "none of your lines")
		b := ok[contracts.Order](t, e.call(sellerB, contracts.MethodOrderShip, id, contracts.ShipRequest{Carrier: "DHL", TrackingNumber: "JD1"}, nil))
		if b.Status != contracts.OrderStatusShipped || len(b.Shipments) != 1 || b.Shipments[0].Carrier != "DHL" {
			t.Fatalf("B shipped = %+v", b)
		}
		if d := ok[contracts.Order](t, e.call(sellerB, contracts.MethodOrderDeliver, id, nil, nil)); d.Status != contracts.OrderStatusShipped {
			t.Fatalf("after B's delivery the order is %s, want shipped (A's parcel is on its way)", d.Status)
		}
		d := ok[contracts.Order](t, e.call(sellerA, contracts.MethodOrderDeliver, id, nil, nil))
		if d.Status != contracts.OrderStatusDelivered || d.Shipment.DeliveredAt == nil {
			t.Fatalf("delivered = %+v", d)
		}
		e.waitEvent(contracts.EventOrderDelivered, o.ID)
		r := ok[contracts.Order](t, e.call(admin, contracts.MethodOrderRefund, id, contracts.RefundRequest{Reason: "broken"}, nil))
		if r.Status != contracts.OrderStatusRefunded || r.Payment.Status != contracts.PaymentStatusRefunded {
			t.Fatalf("refunded = %s payment %s", r.Status, r.Payment.Status)
		}
		var re contracts.OrderRefunded
		if err := e.waitEvent(contracts.EventOrderRefunded, o.ID).Decode(&re); err != nil {
			t.Fatal(err)
		}
		if re.Amount != o.Total || re.Status != contracts.OrderStatusRefunded {
			t.Fatalf("order.refunded = %+v", re)
		}
		failed(t, e.call(admin, contracts.MethodOrderRefund, id, nil, nil), contracts.CodeFailedPrecondition, "order is refunded")
		if n := e.count(`SELECT count(*) FROM test_provider_refunds`); n != 1 {
			t.Fatalf("refunds = %d", n)
		}
	})
}

// TestCancelPaidOrderRefunds: the buyer cancels a paid order: it ends
// cancelled with the payment refunded, order.cancelled and order.refunded
// are emitted, and the stock comes back.
func TestCancelPaidOrderRefunds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.prod.start()
	e.start(nil)
	o, pa, _ := e.paidOrder(buyer)
	c := ok[contracts.Order](t, e.call(buyer, contracts.MethodOrderCancel, contracts.Params{"id": {o.ID}}, nil, nil))
	if c.Status != contracts.OrderStatusCancelled || c.StatusReason != contracts.ReasonCancelledByUser || c.Payment.Status != contracts.PaymentStatusRefunded {
		t.Fatalf("cancelled = %s %s payment %s", c.Status, c.StatusReason, c.Payment.Status)
	}
	var oc contracts.OrderCancelled
	if err := e.waitEvent(contracts.EventOrderCancelled, o.ID).Decode(&oc); err != nil {
		t.Fatal(err)
	}
	if !oc.Refunded || oc.PrevStatus != contracts.OrderStatusPaid {
		t.Fatalf("order.cancelled = %+v", oc)
	}
	e.waitEvent(contracts.EventOrderRefunded, o.ID)
	testenv.Eventually(t, "stock back", func() bool { return e.prod.stock(pa) == 100 })
	failed(t, e.call(buyer, contracts.MethodOrderCancel, contracts.Params{"id": {o.ID}}, nil, nil), contracts.CodeFailedPrecondition, "order is cancelled")
}

// TestListPagination: keyset pages, newest first, and the status filter.
func TestListPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start(nil) // no inventory: orders stay pending
	p := e.prod.add("Sock", 300, 100, sellerA, contracts.ProductActive)
	var ids []string
	for range 3 {
		o := ok[contracts.Order](t, e.checkout(buyer, key(), checkoutBody(cardOK, contracts.LineInput{ProductID: p, Quantity: 1})))
		ids = append(ids, o.ID)
	}
	page1 := ok[contracts.List[contracts.Order]](t, e.call(buyer, contracts.MethodOrderList, contracts.Params{"limit": {"2"}}, nil, nil))
	if len(page1.Items) != 2 || page1.Items[0].ID != ids[2] || page1.Items[1].ID != ids[1] || page1.NextCursor == "" {
		t.Fatalf("page 1 = %d items, next %q", len(page1.Items), page1.NextCursor)
	}
	page2 := ok[contracts.List[contracts.Order]](t, e.call(buyer, contracts.MethodOrderList, contracts.Params{"limit": {"2"}, "cursor": {page1.NextCursor}}, nil, nil))
	if len(page2.Items) != 1 || page2.Items[0].ID != ids[0] || page2.NextCursor != "" {
		t.Fatalf("page 2 = %+v", page2)
	}
	sp := ok[contracts.List[contracts.Order]](t, e.call(sellerA, contracts.MethodOrderSellerList, contracts.Params{"limit": {"1"}, "cursor": {ids[2]}}, nil, nil))
	if len(sp.Items) != 1 || sp.Items[0].ID != ids[1] {
		t.Fatalf("seller page = %+v", sp)
	}
	if l := ok[contracts.List[contracts.Order]](t, e.call(buyer, contracts.MethodOrderList, contracts.Params{"status": {"paid"}}, nil, nil)); len(l.Items) != 0 {
		t.Fatalf("paid filter = %d", len(l.Items))
	}
	if l := ok[contracts.List[contracts.Order]](t, e.call(admin, contracts.MethodOrderList, contracts.Params{"user": {buyer.ID}}, nil, nil)); len(l.Items) != 3 {
		t.Fatalf("admin list = %d", len(l.Items))
	}
	failed(t, e.call(buyer, contracts.MethodOrderList, contracts.Params{"status": {"lost"}}, nil, nil), contracts.CodeInvalidArgument, "status must be one of")
	failed(t, e.call(buyer, contracts.MethodOrderList, contracts.Params{"cursor": {"zzz"}}, nil, nil), contracts.CodeInvalidArgument, "cursor")
	failed(t, e.call(buyer, contracts.MethodOrderList, contracts.Params{"limit": {"-1"}}, nil, nil), contracts.CodeInvalidArgument, "limit")
}
