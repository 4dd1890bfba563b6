package order

import (
	"slices"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
)

// Order is the domain form of an order. Money fields are minor units of
// Currency. PaymentToken is the provider's token; no card number or CVC is
// ever held.
type Order struct {
	ID             string
	Number         int64 // the human-friendly number (see contracts.Order)
	UserID         string
	Status         string
	StatusReason   string
	Currency       string
	Subtotal       int64
	Total          int64
	Address        contracts.ShippingAddress
	PaymentStatus  string
	PaymentMethod  string
	PaymentToken   string
	CardBrand      string
	CardLast4      string
	ChargeRef      string
	ChargeLease    *time.Time
	ChargeSeq      int // the charge attempt with the provider (see chargeKey)
	Carrier        string
	TrackingNumber string
	ReservedAt     *time.Time
	PaidAt         *time.Time
	ShippedAt      *time.Time
	DeliveredAt    *time.Time
	ClosedAt       *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	Items          []Item
}

// Item is an order line with its snapshot: price, names, variant.
type Item struct {
	ProductID      string
	VariantID      string
	SellerID       string
	Name           string
	VariantName    string
	VariantOptions []contracts.Property
	SKU            string
	Quantity       int64
	UnitPrice      int64
	Total          int64
}

// transitions is the order state machine: the statuses each status may
// move to. Everything else is refused with failed_precondition.
var transitions = map[string][]string{
	contracts.OrderStatusPending:  {contracts.OrderStatusReserved, contracts.OrderStatusCancelled},
	contracts.OrderStatusReserved: {contracts.OrderStatusPaid, contracts.OrderStatusAwaitingPayment, contracts.OrderStatusCancelled},
	// A declined card: the stock stays held while the buyer pays again.
	contracts.OrderStatusAwaitingPayment: {contracts.OrderStatusReserved, contracts.OrderStatusCancelled},
	contracts.OrderStatusPaid:            {contracts.OrderStatusShipped, contracts.OrderStatusCancelled, contracts.OrderStatusRefunded},
	contracts.OrderStatusShipped:         {contracts.OrderStatusDelivered, contracts.OrderStatusRefunded},
	contracts.OrderStatusDelivered:       {contracts.OrderStatusRefunded},
}

// validStatuses are the statuses a list may be filtered by.
var validStatuses = []string{
	contracts.OrderStatusPending, contracts.OrderStatusReserved, contracts.OrderStatusAwaitingPayment, contracts.OrderStatusPaid,
	contracts.OrderStatusShipped, contracts.OrderStatusDelivered, contracts.OrderStatusCancelled,
	contracts.OrderStatusRefunded,
}

// CanMove reports whether the state machine allows from → to.
func CanMove(from, to string) bool { return slices.Contains(transitions[from], to) }

// move changes the status to to, or refuses with failed_precondition naming
// the current status and the action.
func (o *Order) move(to, action string, now time.Time) error {
	if !CanMove(o.Status, to) {
		return illegal(o.Status, action)
	}
	o.Status = to
	o.UpdatedAt = now
	switch to {
	case contracts.OrderStatusReserved:
		o.ReservedAt = &now
	case contracts.OrderStatusPaid:
		o.PaidAt = &now
	case contracts.OrderStatusShipped:
		o.ShippedAt = &now
	case contracts.OrderStatusDelivered:
		o.DeliveredAt = &now
	case contracts.OrderStatusCancelled, contracts.OrderStatusRefunded:
		o.ClosedAt = &now
		o.ChargeLease = nil
	}
	return nil
}

func illegal(status, action string) error {
	return contracts.Errorf(contracts.CodeFailedPrecondition, "order is %s: it cannot be %s", status, action).
		WithDetail("status", status)
}

// hasSeller reports whether any item of o is sold by sellerID.
func (o *Order) hasSeller(sellerID string) bool {
	if sellerID == "" {
		return false
	}
	for _, it := range o.Items {
		if it.SellerID == sellerID {
			return true
		}
	}
	return false
}

// sellerIDs returns the distinct sellers of o's items, in item order.
func (o *Order) sellerIDs() []string {
	var ids []string
	for _, it := range o.Items {
		if !slices.Contains(ids, it.SellerID) {
			ids = append(ids, it.SellerID)
		}
	}
	return ids
}

func (o *Order) money(amount int64) contracts.Money {
	return contracts.Money{Amount: amount, Currency: o.Currency}
}

// eventItems is the items part of every order event.
func (o *Order) eventItems() []contracts.OrderEventItem {
	out := make([]contracts.OrderEventItem, len(o.Items))
	for i, it := range o.Items {
		out[i] = contracts.OrderEventItem{
			ProductID: it.ProductID, VariantID: it.VariantID, Quantity: it.Quantity,
			Name: it.Name, VariantName: it.VariantName, SKU: it.SKU, UnitPrice: o.money(it.UnitPrice), SellerID: it.SellerID,
		}
	}
	return out
}

// View is the public shape of o. With sellerID set (a seller's view of an
// order of several sellers) only that seller's items are shown.
func (o *Order) View(sellerID string) contracts.Order {
	v := contracts.Order{
		ID:              o.ID,
		Number:          o.number(),
		UserID:          o.UserID,
		Status:          o.Status,
		StatusReason:    o.StatusReason,
		Items:           make([]contracts.OrderItem, 0, len(o.Items)),
		Subtotal:        o.money(o.Subtotal),
		Total:           o.money(o.Total),
		ShippingAddress: o.Address,
		Payment: contracts.OrderPayment{
			Status: o.PaymentStatus, Method: o.PaymentMethod, Brand: o.CardBrand, Last4: o.CardLast4,
		},
		CreatedAt: o.CreatedAt,
		UpdatedAt: o.UpdatedAt,
	}
	for _, it := range o.Items {
		if sellerID != "" && it.SellerID != sellerID {
			continue
		}
		v.Items = append(v.Items, contracts.OrderItem{
			ProductID: it.ProductID, VariantID: it.VariantID, SellerID: it.SellerID, Name: it.Name,
			VariantName: it.VariantName, VariantOptions: it.VariantOptions, SKU: it.SKU, Quantity: it.Quantity, UnitPrice: o.money(it.UnitPrice), Total: o.money(it.Total),
		})
	}
	if o.ShippedAt != nil {
		v.Shipment = &contracts.Shipment{
			Carrier: o.Carrier, TrackingNumber: o.TrackingNumber, ShippedAt: *o.ShippedAt, DeliveredAt: o.DeliveredAt,
		}
	}
	return v
}

// outEvent is an event to write to the outbox with the change that caused
// it.
type outEvent struct {
	Type string
	Data any
}

func (o *Order) placedEvent() outEvent {
	return outEvent{contracts.EventOrderPlaced, contracts.OrderPlaced{
		OrderID: o.ID, OrderNumber: o.number(), UserID: o.UserID, Items: o.eventItems(), Total: o.money(o.Total), SellerIDs: o.sellerIDs(),
	}}
}

func (o *Order) paidEvent() outEvent {
	return outEvent{contracts.EventOrderPaid, contracts.OrderPaid{
		OrderID: o.ID, OrderNumber: o.number(), UserID: o.UserID, Total: o.money(o.Total), Items: o.eventItems(),
		SellerIDs: o.sellerIDs(), Last4: o.CardLast4,
	}}
}

func (o *Order) cancelledEvent(prev string, refunded bool) outEvent {
	return outEvent{contracts.EventOrderCancelled, contracts.OrderCancelled{
		OrderID: o.ID, OrderNumber: o.number(), UserID: o.UserID, Reason: o.StatusReason, PrevStatus: prev, Refunded: refunded,
		Total: o.money(o.Total), Items: o.eventItems(), SellerIDs: o.sellerIDs(),
	}}
}

func (o *Order) refundedEvent(reason string) outEvent {
	return outEvent{contracts.EventOrderRefunded, contracts.OrderRefunded{
		OrderID: o.ID, OrderNumber: o.number(), UserID: o.UserID, Amount: o.money(o.Total), Reason: reason, Status: o.Status,
		Shipped: o.ShippedAt != nil, Items: o.eventItems(), SellerIDs: o.sellerIDs(),
	}}
}

func (o *Order) shippedEvent() outEvent {
	return outEvent{contracts.EventOrderShipped, contracts.OrderShipped{
		OrderID: o.ID, OrderNumber: o.number(), UserID: o.UserID, Carrier: o.Carrier, TrackingNumber: o.TrackingNumber,
		Total: o.money(o.Total), Items: o.eventItems(), SellerIDs: o.sellerIDs(),
	}}
}

func (o *Order) deliveredEvent() outEvent {
	return outEvent{contracts.EventOrderDelivered, contracts.OrderDelivered{
		OrderID: o.ID, OrderNumber: o.number(), UserID: o.UserID, Carrier: o.Carrier, TrackingNumber: o.TrackingNumber,
		Total: o.money(o.Total), Items: o.eventItems(), SellerIDs: o.sellerIDs(),
	}}
}

func (o *Order) paymentFailedEvent(reason, code string, payBy *time.Time) outEvent {
	return outEvent{contracts.EventPaymentFailed, contracts.PaymentFailed{
		OrderID: o.ID, OrderNumber: o.number(), UserID: o.UserID, Reason: reason, DeclineCode: code, Amount: o.money(o.Total),
		Last4: o.CardLast4, PayBy: payBy, Items: o.eventItems(), SellerIDs: o.sellerIDs(),
	}}
}
