package contracts

import "time"

// The order service's RPC methods (see notes/ROUTES.md). Every one is
// routed by the gateway and takes an Envelope: path/query params, the
// client's body (the type named in the comment) and meta.
const (
	MethodOrderCartGet        = "order.cart.get"         // → Cart
	MethodOrderCartClear      = "order.cart.clear"       // → {} (204)
	MethodOrderCartSetItem    = "order.cart.set_item"    // params product_id, body CartSetItemRequest → Cart
	MethodOrderCartRemoveItem = "order.cart.remove_item" // params product_id, variant_id? → {} (204)
	MethodOrderCheckout       = "order.checkout"         // meta idempotency_key, body CheckoutRequest → Order (202)
	MethodOrderList           = "order.list"             // params limit, cursor, status?, user? (admin) → List[Order]
	MethodOrderGet            = "order.get"              // params id (an order id or its number) → Order
	MethodOrderPay            = "order.pay"              // params id, meta idempotency_key, body PayRequest → Order (202)
	MethodOrderCancel         = "order.cancel"           // params id, body CancelRequest? → Order
	MethodOrderShip           = "order.ship"             // params id, body ShipRequest → Order
	MethodOrderDeliver        = "order.deliver"          // params id → Order
	MethodOrderRefund         = "order.refund"           // params id, body RefundRequest? → Order
	MethodOrderSellerList     = "order.seller.list"      // params limit, cursor, status?, seller? (admin) → List[Order]
)

// MetaIdempotencyKey is the Envelope.Meta key of the Idempotency-Key header.
const MetaIdempotencyKey = "idempotency_key"

// The order service's events. Each payload carries what the notification
// service needs to write a message without asking anyone: the buyer, the
// order id, the items (name, quantity, unit price, seller), the sellers,
// the total and, where it applies, the reason or the shipment.
const (
	EventOrderPlaced    = "order.placed"    // OrderPlaced
	EventOrderPaid      = "order.paid"      // OrderPaid
	EventOrderCancelled = "order.cancelled" // OrderCancelled
	EventOrderRefunded  = "order.refunded"  // OrderRefunded
	EventOrderShipped   = "order.shipped"   // OrderShipped
	EventOrderDelivered = "order.delivered" // OrderDelivered
	EventPaymentFailed  = "payment.failed"  // PaymentFailed
)

// Order statuses. The life of an order:
//
//	pending → reserved → paid → shipped → delivered
//	reserved → awaiting_payment (the card was declined; the stock stays held)
//	awaiting_payment → reserved (POST /orders/{id}/pay with another card)
//	pending, reserved, awaiting_payment, paid → cancelled (a paid order is refunded first)
//	paid, shipped, delivered → refunded (admin)
//
// Only the service moves an order along (events, the saga, the named
// actions); no client sets a status directly.
const (
	OrderStatusPending  = "pending"  // placed, waiting for the stock reservation
	OrderStatusReserved = "reserved" // stock held, payment being taken
	// OrderStatusAwaitingPayment: the charge was declined; the stock stays
	// held and the buyer may pay again (order.pay) until the payment window
	// (the order service's pending timeout, counted from placement) ends,
	// when the order is cancelled (payment_timeout) and the stock released.
	OrderStatusAwaitingPayment = "awaiting_payment"
	OrderStatusPaid            = "paid"      // charged; waiting for shipment
	OrderStatusShipped         = "shipped"   // handed to a carrier
	OrderStatusDelivered       = "delivered" // received
	OrderStatusCancelled       = "cancelled" // final; status_reason says why
	OrderStatusRefunded        = "refunded"  // final; the payment was returned
)

// Order.StatusReason values (why an order was cancelled or refunded).
const (
	ReasonOutOfStock         = "out_of_stock"
	ReasonPaymentDeclined    = "payment_declined"
	ReasonInsufficientFunds  = "insufficient_funds"
	ReasonCancelledByUser    = "cancelled_by_user"
	ReasonCancelledByAdmin   = "cancelled_by_admin"
	ReasonReservationTimeout = "reservation_timeout" // no answer from the inventory in time
	ReasonReservationExpired = "reservation_expired" // the inventory released the held stock
	ReasonRefundedByAdmin    = "refunded_by_admin"
	ReasonPaymentTimeout     = "payment_timeout" // declined, and not paid again within the payment window
)

// Payment statuses (Order.Payment.Status).
const (
	PaymentStatusPending   = "pending"   // not charged yet
	PaymentStatusSucceeded = "succeeded" // charged
	PaymentStatusFailed    = "failed"    // the charge was declined
	PaymentStatusVoided    = "voided"    // the order ended before any charge
	PaymentStatusRefunded  = "refunded"  // charged, then returned in full
)

// Cart and checkout bounds.
const (
	MaxCartLines      = 50  // distinct lines in a cart or an order
	MaxLineQuantity   = 100 // units of one line
	MaxIdempotencyKey = 128 // characters of an Idempotency-Key
)

// Cart is a user's shopping cart with current names and prices from the
// catalogue. Lines whose product can no longer be bought stay in the cart
// with Available false and Problem set, and do not count in Subtotal.
type Cart struct {
	Items     []CartItem `json:"items"`
	Subtotal  Money      `json:"subtotal"`
	ItemCount int64      `json:"item_count"` // units in the purchasable lines
}

// CartItem is one cart line.
type CartItem struct {
	ProductID   string `json:"product_id"`
	VariantID   string `json:"variant_id,omitempty"`
	Name        string `json:"name"`
	ImageURL    string `json:"image_url,omitempty"`
	Quantity    int64  `json:"quantity"`
	UnitPrice   Money  `json:"unit_price"`
	Total       Money  `json:"total"`
	StockStatus string `json:"stock_status,omitempty"`
	Available   bool   `json:"available"`
	// Problem says why a line cannot be bought: "not_found", "deleted" (the
	// product was removed from the catalogue; Name is its last known name),
	// "inactive", "variant_not_found", "variant_required" (the product has
	// variants: choose one), "out_of_stock", "insufficient_stock".
	Problem string `json:"problem,omitempty"`
	// VariantName, VariantOptions and SKU describe the chosen variant
	// ("Size: M, Colour: Blue"); empty for a product without variants.
	VariantName    string     `json:"variant_name,omitempty"`
	VariantOptions []Property `json:"variant_options,omitempty"`
	SKU            string     `json:"sku,omitempty"`
}

// CartSetItemRequest is the body of order.cart.set_item: the line's new
// quantity (1..MaxLineQuantity), replacing the old one. A product with
// variants is bought by variant: VariantID is then required.
type CartSetItemRequest struct {
	Quantity  int64  `json:"quantity"`
	VariantID string `json:"variant_id,omitempty"`
}

// LineInput is an order line given at checkout instead of the cart.
type LineInput struct {
	ProductID string `json:"product_id"`
	VariantID string `json:"variant_id,omitempty"`
	Quantity  int64  `json:"quantity"`
}

// ShippingAddress is the address snapshotted into an order.
type ShippingAddress struct {
	Name       string `json:"name,omitempty"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
	Phone      string `json:"phone,omitempty"`
}

// PaymentInput is the card given at checkout. The card number and CVC are
// handed to the payment provider and never stored: the order keeps the
// provider's token, the brand and the last four digits.
type PaymentInput struct {
	Method     string `json:"method"` // "card"
	CardNumber string `json:"card_number"`
	ExpMonth   int    `json:"exp_month"`
	ExpYear    int    `json:"exp_year"`
	CVC        string `json:"cvc"`
}

// CheckoutRequest is the body of order.checkout: exactly one of AddressID
// (an entry of the buyer's address book) and Address; Items, when given,
// are bought instead of the cart (which is then left alone; otherwise the
// cart is emptied once the order is placed). Prices always come from the
// catalogue.
type CheckoutRequest struct {
	AddressID string           `json:"address_id,omitempty"`
	Address   *ShippingAddress `json:"address,omitempty"`
	Items     []LineInput      `json:"items,omitempty"`
	Payment   PaymentInput     `json:"payment"`
}

// PayRequest is the body of order.pay: a new card for an order whose
// payment was declined (status awaiting_payment).
type PayRequest struct {
	Payment PaymentInput `json:"payment"`
}

// CancelRequest is the optional body of order.cancel.
type CancelRequest struct {
	Reason string `json:"reason,omitempty"` // free text kept for the record
}

// ShipRequest is the body of order.ship.
type ShipRequest struct {
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"tracking_number"`
}

// RefundRequest is the optional body of order.refund.
type RefundRequest struct {
	Reason string `json:"reason,omitempty"`
}

// OrderItem is one line of an order, with the snapshot taken at checkout:
// the price, the product's name and, for a variant, its name, options and
// SKU (what was bought stays readable whatever the catalogue does later).
type OrderItem struct {
	ProductID      string     `json:"product_id"`
	VariantID      string     `json:"variant_id,omitempty"`
	SellerID       string     `json:"seller_id"`
	Name           string     `json:"name"`
	VariantName    string     `json:"variant_name,omitempty"`
	VariantOptions []Property `json:"variant_options,omitempty"`
	SKU            string     `json:"sku,omitempty"`
	Quantity       int64      `json:"quantity"`
	UnitPrice      Money      `json:"unit_price"`
	Total          Money      `json:"total"`
}

// OrderPayment is the payment summary of an order. Nothing more of the card
// than Brand and Last4 is ever kept.
type OrderPayment struct {
	Status string `json:"status"`
	Method string `json:"method"`
	Brand  string `json:"brand,omitempty"`
	Last4  string `json:"last4,omitempty"`
	// Attempts are the calls made to the payment provider, oldest first
	// (in the replies about one order: get, pay, cancel, refund; not in
	// lists).
	Attempts []PaymentAttempt `json:"attempts,omitempty"`
}

// PaymentAttempt is one call to the payment provider for an order.
type PaymentAttempt struct {
	// Kind is charge or refund; Status succeeded, declined or error.
	Kind   string `json:"kind"`
	Status string `json:"status"`
	Amount Money  `json:"amount"`
	Error  string `json:"error,omitempty"`
	Last4  string `json:"last4,omitempty"` // the card charged (charges)
}

// Shipment is the carrier and tracking number of a shipped order.
type Shipment struct {
	Carrier        string     `json:"carrier"`
	TrackingNumber string     `json:"tracking_number"`
	ShippedAt      time.Time  `json:"shipped_at"`
	DeliveredAt    *time.Time `json:"delivered_at,omitempty"`
}

// Order is the public shape of an order. A seller listing their orders sees
// only their own items (Subtotal and Total still describe the whole order).
//
// Number is the order's short, unique, human-friendly number ("100042"),
// shown in emails and notifications as "#100042"; GET /orders/{number}
// finds the order by it (a leading "#" is accepted).
type Order struct {
	ID              string          `json:"id"`
	Number          string          `json:"number"`
	UserID          string          `json:"user_id"`
	Status          string          `json:"status"`
	StatusReason    string          `json:"status_reason"`
	Items           []OrderItem     `json:"items"`
	Subtotal        Money           `json:"subtotal"`
	Total           Money           `json:"total"`
	ShippingAddress ShippingAddress `json:"shipping_address"`
	Payment         OrderPayment    `json:"payment"`
	Shipment        *Shipment       `json:"shipment,omitempty"`
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
}

// OrderEventItem is one line in order events. ProductID, VariantID and
// Quantity are what the inventory needs; the rest serves notifications.
type OrderEventItem struct {
	ProductID   string `json:"product_id"`
	VariantID   string `json:"variant_id,omitempty"`
	Quantity    int64  `json:"quantity"`
	Name        string `json:"name"`
	VariantName string `json:"variant_name,omitempty"`
	SKU         string `json:"sku,omitempty"`
	UnitPrice   Money  `json:"unit_price"`
	SellerID    string `json:"seller_id"`
}

// OrderPlaced is the payload of order.placed. The inventory reserves Items
// and answers inventory.reserved or inventory.rejected.
type OrderPlaced struct {
	OrderID     string           `json:"order_id"`
	OrderNumber string           `json:"order_number,omitempty"` // Order.Number
	UserID      string           `json:"user_id"`
	Items       []OrderEventItem `json:"items"`
	Total       Money            `json:"total"`
	SellerIDs   []string         `json:"seller_ids"`
}

// OrderPaid is the payload of order.paid: the inventory turns the held
// stock into a sale.
type OrderPaid struct {
	OrderID     string           `json:"order_id"`
	OrderNumber string           `json:"order_number,omitempty"` // Order.Number
	UserID      string           `json:"user_id"`
	Total       Money            `json:"total"`
	Items       []OrderEventItem `json:"items"`
	SellerIDs   []string         `json:"seller_ids"`
	Last4       string           `json:"last4,omitempty"`
}

// OrderCancelled is the payload of order.cancelled: the inventory releases
// whatever it holds (or sold) for the order. Reason is the order's
// status_reason; PrevStatus the status it was cancelled from (pending,
// reserved or paid). Refunded is true when the
// order had been paid and the payment was returned (an order.refunded
// follows).
type OrderCancelled struct {
	OrderID     string           `json:"order_id"`
	OrderNumber string           `json:"order_number,omitempty"` // Order.Number
	UserID      string           `json:"user_id"`
	Reason      string           `json:"reason"`
	PrevStatus  string           `json:"prev_status"`
	Refunded    bool             `json:"refunded"`
	Total       Money            `json:"total"`
	Items       []OrderEventItem `json:"items"`
	SellerIDs   []string         `json:"seller_ids"`
}

// OrderRefunded is the payload of order.refunded.
type OrderRefunded struct {
	OrderID     string `json:"order_id"`
	OrderNumber string `json:"order_number,omitempty"` // Order.Number
	UserID      string `json:"user_id"`
	Amount      Money  `json:"amount"`
	Reason      string `json:"reason"`
	Status      string `json:"status"` // the order's status after the refund: refunded or cancelled
	// Shipped says whether the goods had left (shipped or delivered) before
	// the refund. A refunded order that never shipped puts its units back in
	// stock; one that shipped does not (the goods are with the buyer).
	Shipped   bool             `json:"shipped"`
	Items     []OrderEventItem `json:"items"`
	SellerIDs []string         `json:"seller_ids"`
}

// OrderShipped is the payload of order.shipped.
type OrderShipped struct {
	OrderID        string           `json:"order_id"`
	OrderNumber    string           `json:"order_number,omitempty"` // Order.Number
	UserID         string           `json:"user_id"`
	Carrier        string           `json:"carrier"`
	TrackingNumber string           `json:"tracking_number"`
	Total          Money            `json:"total"`
	Items          []OrderEventItem `json:"items"`
	SellerIDs      []string         `json:"seller_ids"`
}

// OrderDelivered is the payload of order.delivered.
type OrderDelivered struct {
	OrderID        string           `json:"order_id"`
	OrderNumber    string           `json:"order_number,omitempty"` // Order.Number
	UserID         string           `json:"user_id"`
	Carrier        string           `json:"carrier"`
	TrackingNumber string           `json:"tracking_number"`
	Total          Money            `json:"total"`
	Items          []OrderEventItem `json:"items"`
	SellerIDs      []string         `json:"seller_ids"`
}

// PaymentFailed is the payload of payment.failed: the charge was declined
// (Reason payment_declined or insufficient_funds; DeclineCode is the
// provider's code). The order is now awaiting_payment: the buyer may pay
// again with another card until PayBy; after that it is cancelled
// (order.cancelled, reason payment_timeout).
type PaymentFailed struct {
	OrderID     string           `json:"order_id"`
	OrderNumber string           `json:"order_number,omitempty"` // Order.Number
	UserID      string           `json:"user_id"`
	Reason      string           `json:"reason"`
	DeclineCode string           `json:"decline_code"`
	Amount      Money            `json:"amount"`
	Last4       string           `json:"last4,omitempty"`
	PayBy       *time.Time       `json:"pay_by,omitempty"`
	Items       []OrderEventItem `json:"items"`
	SellerIDs   []string         `json:"seller_ids"`
}

func init() {
	Register("order.cart", Cart{})
	Register("order.cart.set_item.request", CartSetItemRequest{})
	Register("order.checkout.request", CheckoutRequest{})
	Register("order.pay.request", PayRequest{})
	Register("order.cancel.request", CancelRequest{})
	Register("order.ship.request", ShipRequest{})
	Register("order.refund.request", RefundRequest{})
	Register("order.order", Order{})
	Register("order.list", List[Order]{})
	Register("event.order.placed", OrderPlaced{})
	Register("event.order.paid", OrderPaid{})
	Register("event.order.cancelled", OrderCancelled{})
	Register("event.order.refunded", OrderRefunded{})
	Register("event.order.shipped", OrderShipped{})
	Register("event.order.delivered", OrderDelivered{})
	Register("event.payment.failed", PaymentFailed{})
}
