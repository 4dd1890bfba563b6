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
	ChargeHolder   string // the instance whose attempt holds ChargeLease; "" for none
	ChargeSeq      int    // the charge attempt with the provider (see chargeKey)
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
	// Shipments and Returns are loaded for orders that can have them
	// (see hasFulfilment); empty otherwise.
	Shipments []Shipment
	Returns   []Return

	// pending is the change an update is making (see change); empty on
	// an order as loaded.
	pending change
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
	contracts.OrderStatusPaid: {contracts.OrderStatusPartiallyShipped, contracts.OrderStatusShipped,
		contracts.OrderStatusCancelled, contracts.OrderStatusRefunded},
	contracts.OrderStatusPartiallyShipped: {contracts.OrderStatusShipped, contracts.OrderStatusRefunded},
	contracts.OrderStatusShipped:          {contracts.OrderStatusDelivered, contracts.OrderStatusRefunded},
	contracts.OrderStatusDelivered:        {contracts.OrderStatusRefunded},
}

// validStatuses are the statuses a list may be filtered by.
var validStatuses = []string{
	contracts.OrderStatusPending, contracts.OrderStatusReserved, contracts.OrderStatusAwaitingPayment, contracts.OrderStatusPaid,
	contracts.OrderStatusPartiallyShipped, contracts.OrderStatusShipped, contracts.OrderStatusDelivered, contracts.OrderStatusCancelled,
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
	case contracts.OrderStatusPartiallyShipped, contracts.OrderStatusShipped:
		if o.ShippedAt == nil { // when the first parcel left
			o.ShippedAt = &now
		}
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
// order they did not buy) only that seller's lines, shipments and returns
// are shown, the totals are those of their lines, and the payment shows
// its status and method only.
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
		Refunded:        o.money(o.refunded()),
		ShippingAddress: o.Address,
		Payment: contracts.OrderPayment{
			Status: o.PaymentStatus, Method: o.PaymentMethod, Brand: o.CardBrand, Last4: o.CardLast4,
		},
		Shipments: []contracts.Shipment{},
		Returns:   []contracts.ReturnRequest{},
		CreatedAt: o.CreatedAt,
		UpdatedAt: o.UpdatedAt,
	}
	var mine int64
	for i, it := range o.Items {
		if sellerID != "" && it.SellerID != sellerID {
			continue
		}
		mine += it.Total
		item := contracts.OrderItem{
			Line: lineNo(i), ProductID: it.ProductID, VariantID: it.VariantID, SellerID: it.SellerID, Name: it.Name,
			VariantName: it.VariantName, VariantOptions: it.VariantOptions, SKU: it.SKU,
			Quantity: it.Quantity, UnitPrice: o.money(it.UnitPrice), Total: o.money(it.Total),
			RefundedQuantity: o.refundedQuantity(lineNo(i)),
		}
		if sh := o.shipmentOf(lineNo(i)); sh != nil {
			item.ShipmentID = sh.ID
		}
		v.Items = append(v.Items, item)
	}
	if sellerID != "" {
		v.Subtotal, v.Total = o.money(mine), o.money(mine)
		v.Payment = contracts.OrderPayment{Status: o.PaymentStatus, Method: o.PaymentMethod}
		v.Refunded = o.money(o.refundedOf(sellerID))
	}
	for i := range o.Shipments {
		if sh := &o.Shipments[i]; sellerID == "" || sh.SellerID == sellerID {
			v.Shipments = append(v.Shipments, sh.view())
		}
	}
	if n := len(v.Shipments); n > 0 {
		v.Shipment = &v.Shipments[n-1]
	}
	for i := range o.Returns {
		if r := &o.Returns[i]; sellerID == "" || r.SellerID == sellerID {
			v.Returns = append(v.Returns, r.view())
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

// refundedEvent is order.refunded of the whole order's refund of amount
// (what was left after returns).
func (o *Order) refundedEvent(reason string, amount int64) outEvent {
	return outEvent{contracts.EventOrderRefunded, contracts.OrderRefunded{
		OrderID: o.ID, OrderNumber: o.number(), UserID: o.UserID, Amount: o.money(amount), Reason: reason, Status: o.Status,
		Shipped: o.ShippedAt != nil, Items: o.eventItems(), SellerIDs: o.sellerIDs(),
	}}
}

func (o *Order) paymentFailedEvent(reason, code string, payBy *time.Time) outEvent {
	return outEvent{contracts.EventPaymentFailed, contracts.PaymentFailed{
		OrderID: o.ID, OrderNumber: o.number(), UserID: o.UserID, Reason: reason, DeclineCode: code, Amount: o.money(o.Total),
		Last4: o.CardLast4, PayBy: payBy, Items: o.eventItems(), SellerIDs: o.sellerIDs(),
	}}
}

// change is what an update did beyond the order's own columns: the events
// to publish and the rows that belong to the aggregate (payment attempts,
// shipments, return requests, the idempotent answer of the request that
// made the change). The store writes all of it with the order in one
// transaction; the domain only records it (see Order.record and the
// methods below), so an update never writes around the aggregate.
type change struct {
	events    []outEvent
	attempts  []attempt
	shipments []string // ids of shipments added
	delivered []string // ids of shipments delivered
	returns   []string // ids of return requests added
	decided   []string // ids of return requests whose decision or refund changed
	reply     *idemRecord
}

// record adds events to publish with the change being made to o.
func (o *Order) record(evs ...outEvent) { o.pending.events = append(o.pending.events, evs...) }

// recordAttempt adds a payment attempt (a charge or a refund) to the
// change, numbered after the order's earlier attempts by the store.
func (o *Order) recordAttempt(a attempt) { o.pending.attempts = append(o.pending.attempts, a) }

// keepReply stores rec (the answer of an idempotent request that made this
// change) with the change; a key the user already used makes the update
// fail with errDuplicateKey.
func (o *Order) keepReply(rec idemRecord) { o.pending.reply = &rec }

// addShipment adds sh to o.
func (o *Order) addShipment(sh Shipment) {
	o.Shipments = append(o.Shipments, sh)
	o.pending.shipments = append(o.pending.shipments, sh.ID)
}

// deliver marks sh (a shipment of o) delivered at now.
func (o *Order) deliver(sh *Shipment, now time.Time) {
	sh.DeliveredAt = &now
	o.pending.delivered = append(o.pending.delivered, sh.ID)
}

// addReturn adds the return request r to o.
func (o *Order) addReturn(r Return) {
	o.Returns = append(o.Returns, r)
	o.pending.returns = append(o.pending.returns, r.ID)
}

// returnChanged notes that the return request id of o was decided or
// refunded.
func (o *Order) returnChanged(id string) {
	if !slices.Contains(o.pending.decided, id) {
		o.pending.decided = append(o.pending.decided, id)
	}
}

// shipment returns o's shipment id, or nil.
func (o *Order) shipment(id string) *Shipment {
	for i := range o.Shipments {
		if o.Shipments[i].ID == id {
			return &o.Shipments[i]
		}
	}
	return nil
}
