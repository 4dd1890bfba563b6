package notify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
)

// TestOrderMessagesNameTheNumberAndTheVariant: messages call an order by
// its number when the event carries one (the short id only for events
// without), lines name the variant and SKU, and a declined payment tells
// the buyer until when they may pay again.
func TestOrderMessagesNameTheNumberAndTheVariant(t *testing.T) {
	c := &Core{cfg: DefaultConfig()}
	orderID, buyer, seller := uuid.NewString(), uuid.NewString(), uuid.NewString()
	items := []contracts.OrderEventItem{{ProductID: uuid.NewString(), Quantity: 2, Name: "Organic Cotton T-Shirt",
		VariantName: "Size: M, Colour: Blue", SKU: "TS-M-BLU", UnitPrice: contracts.USD(2500), SellerID: seller}}
	event := func(typ string, v any) contracts.Event {
		b, _ := json.Marshal(v)
		return contracts.Event{ID: uuid.NewString(), Type: typ, Data: b}
	}

	dels, err := c.deliveries(event(contracts.EventOrderPaid, contracts.OrderPaid{OrderID: orderID, OrderNumber: "100042",
		UserID: buyer, Total: contracts.USD(5000), Items: items, SellerIDs: []string{seller}}))
	if err != nil || len(dels) != 2 {
		t.Fatalf("order.paid: %v, %d deliveries", err, len(dels))
	}
	for _, d := range dels {
		text, _, err := render(d.Msg)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(d.Msg.Subject, "#100042") || !strings.Contains(text, "Organic Cotton T-Shirt (Size: M, Colour: Blue; SKU TS-M-BLU)") {
			t.Errorf("%s: subject %q, text:\n%s", d.Kind, d.Msg.Subject, text)
		}
		if !strings.Contains(text, "Order #100042") {
			t.Errorf("%s: the order table is not headed by the number:\n%s", d.Kind, text)
		}
		if d.Data["order_number"] != "100042" {
			t.Errorf("%s: data %v lacks the order number", d.Kind, d.Data)
		}
	}

	// An event from before order numbers: the short id.
	dels, err = c.deliveries(event(contracts.EventOrderPlaced, contracts.OrderPlaced{OrderID: orderID, UserID: buyer,
		Total: contracts.USD(5000), Items: items}))
	if err != nil || len(dels) != 1 || !strings.Contains(dels[0].Msg.Subject, "#"+shortID(orderID)) {
		t.Fatalf("order.placed without a number: %v %+v", err, dels)
	}

	payBy := time.Date(2026, 12, 7, 18, 30, 0, 0, time.UTC)
	dels, err = c.deliveries(event(contracts.EventPaymentFailed, contracts.PaymentFailed{OrderID: orderID, OrderNumber: "100043",
		UserID: buyer, Reason: contracts.ReasonPaymentDeclined, Amount: contracts.USD(5000), Last4: "0002", PayBy: &payBy, Items: items}))
	if err != nil || len(dels) != 1 || dels[0].UserID != buyer || dels[0].Kind != contracts.KindPaymentFailed {
		t.Fatalf("payment.failed: %v %+v", err, dels)
	}
	text, _, _ := render(dels[0].Msg)
	for _, want := range []string{"#100043", "declined", "7 Dec 2026 18:30", "another card", "0002"} {
		if !strings.Contains(dels[0].Msg.Subject+text, want) {
			t.Errorf("payment.failed message lacks %q:\n%s\n%s", want, dels[0].Msg.Subject, text)
		}
	}
}
