package contracts

import "time"

// The order service's RPC methods (routed by edge/routes.go, see docs/API.md). Every one is
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
	MethodOrderDeliver        = "order.deliver"          // params id, body DeliverRequest? → Order
	MethodOrderRefund         = "order.refund"           // params id, body RefundRequest? → Order
	MethodOrderSellerList     = "order.seller.list"      // params limit, cursor, status?, seller? (admin) → List[Order]

	MethodOrderReturnCreate  = "order.return.create"  // params id (the order), body ReturnInput → ReturnRequest (201)
	MethodOrderReturnGet     = "order.return.get"     // params id (the return) → ReturnRequest
	MethodOrderReturnApprove = "order.return.approve" // params id, body ReturnDecision? → ReturnRequest
	MethodOrderReturnReject  = "order.return.reject"  // params id, body ReturnDecision? → ReturnRequest
	MethodOrderSellerReturns = "order.seller.returns" // params limit, cursor, status?, seller? (admin) → List[ReturnRequest]
)

// The Idempotency-Key rule, written once for the gateway and the order
// service. A client sends the key in the HTTP header HeaderIdempotencyKey;
// the gateway checks it (CheckIdempotencyKey, 400 when malformed or when
// the route requires one and it is missing) and passes it on in
// Envelope.Meta under MetaIdempotencyKey; the order service checks it again
// with the same function before using it. A valid key is 1 to
// MaxIdempotencyKey visible ASCII characters (0x21..0x7e: no space, no
// control character).
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	MetaIdempotencyKey   = "idempotency_key"
)

// CheckIdempotencyKey returns nil when key is a valid Idempotency-Key, else
// an invalid_argument *Error naming the header (an empty key is a missing
// one). It does not allocate when the key is valid, so the gateway can
// call it on the request path with the header's bytes.
func CheckIdempotencyKey[K string | []byte](key K) error {
	if len(key) == 0 {
		return InvalidArgument(HeaderIdempotencyKey, "the Idempotency-Key header is required")
	}
	if len(key) > MaxIdempotencyKey {
		return InvalidArgument(HeaderIdempotencyKey, "the Idempotency-Key must be at most %d characters", MaxIdempotencyKey)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return InvalidArgument(HeaderIdempotencyKey, "the Idempotency-Key must be printable ASCII without spaces")
		}
	}
	return nil
}

// The order service's events. Each payload carries what the notification
// service needs to write a message without asking anyone: the buyer, the
// order id, the items (name, quantity, unit price, seller), the sellers,
// the total and, where it applies, the reason or the shipment.
const (
	EventOrderPlaced    = "order.placed"    // OrderPlaced
	EventOrderPaid      = "order.paid"      // OrderPaid
	EventOrderCancelled = "order.cancelled" // OrderCancelled
	EventOrderRefunded  = "order.refunded"  // OrderRefunded
	EventOrderShipped   = "order.shipped"   // OrderShipped: one per shipment
	EventOrderDelivered = "order.delivered" // OrderDelivered: one per shipment
	EventPaymentFailed  = "payment.failed"  // PaymentFailed

	EventReturnRequested = "return.requested" // ReturnEvent: the seller has a request to decide
	EventReturnApproved  = "return.approved"  // ReturnEvent: the refund follows (order.refunded)
	EventReturnRejected  = "return.rejected"  // ReturnEvent
)

// Order statuses. The life of an order:
//
//	pending → reserved → paid → partially_shipped → shipped → delivered
//	reserved → awaiting_payment (the card was declined; the stock stays held)
//	awaiting_payment → reserved (POST /orders/{id}/pay with another card)
//	pending, reserved, awaiting_payment, paid → cancelled (a paid order is refunded first)
//	paid, partially_shipped, shipped, delivered → refunded (admin, or
//	  returns that refunded every line)
//
// Each seller ships their own lines (shipments); once paid, the status
// follows from the shipments: paid while none has left, partially_shipped
// while some lines have not, shipped once every line has, delivered once
// every shipment is. Only the service moves an order along (events, the
// saga, the named actions); no client sets a status directly.
const (
	OrderStatusPending  = "pending"  // placed, waiting for the stock reservation
	OrderStatusReserved = "reserved" // stock held, payment being taken
	// OrderStatusAwaitingPayment: the charge was declined; the stock stays
	// held and the buyer may pay again (order.pay) until the payment window
	// (the order service's pending timeout, counted from placement) ends,
	// when the order is cancelled (payment_timeout) and the stock released.
	OrderStatusAwaitingPayment  = "awaiting_payment"
	OrderStatusPaid             = "paid"              // charged; waiting for shipment
	OrderStatusPartiallyShipped = "partially_shipped" // some lines handed to a carrier, others not yet
	OrderStatusShipped          = "shipped"           // every line handed to a carrier
	OrderStatusDelivered        = "delivered"         // every shipment received
	OrderStatusCancelled        = "cancelled"         // final; status_reason says why
	OrderStatusRefunded         = "refunded"          // final; the payment was returned in full
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
	ReasonReturned           = "returned"        // every line was returned and refunded
)

// Shipment statuses (Shipment.Status).
const (
	ShipmentShipped   = "shipped"   // handed to the carrier
	ShipmentDelivered = "delivered" // received
)

// Return request statuses (ReturnRequest.Status):
//
//	requested → approved → refunded
//	requested → rejected
//
// approved means the refund is under way (the service retries it until the
// payment provider confirms); refunded is final.
const (
	ReturnRequested = "requested"
	ReturnApproved  = "approved"
	ReturnRejected  = "rejected"
	ReturnRefunded  = "refunded"
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

// ShipRequest is the body of order.ship: one shipment of one seller's
// lines. Lines (OrderItem.Line numbers) default to every line of the
// caller's not yet shipped; naming some splits the seller's lines over
// several shipments. SellerID is for an admin acting for a seller (needed
// only when several sellers have lines left to ship and Lines is empty).
type ShipRequest struct {
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"tracking_number"`
	Lines          []int  `json:"lines,omitempty"`
	SellerID       string `json:"seller_id,omitempty"`
}

// DeliverRequest is the optional body of order.deliver: ShipmentID names
// one shipment; without it every shipped, undelivered shipment of the
// caller's (an admin's: of the order) is marked delivered.
type DeliverRequest struct {
	ShipmentID string `json:"shipment_id,omitempty"`
}

// RefundRequest is the optional body of order.refund.
type RefundRequest struct {
	Reason string `json:"reason,omitempty"`
}

// OrderItem is one line of an order, with the snapshot taken at checkout:
// the price, the product's name and, for a variant, its name, options and
// SKU (what was bought stays readable whatever the catalogue does later).
type OrderItem struct {
	// Line numbers the order's lines from 1; shipments and returns name
	// lines by it.
	Line           int        `json:"line"`
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
	// ShipmentID is the shipment the line left in ("" while unshipped).
	ShipmentID string `json:"shipment_id,omitempty"`
	// RefundedQuantity is the units of the line returned and refunded.
	RefundedQuantity int64 `json:"refunded_quantity,omitempty"`
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

// Shipment is one seller's parcel: the lines it holds, the carrier and
// tracking number, and whether it was delivered.
type Shipment struct {
	ID             string     `json:"id"`
	SellerID       string     `json:"seller_id"`
	Lines          []int      `json:"lines"`
	Status         string     `json:"status"` // shipped, delivered
	Carrier        string     `json:"carrier"`
	TrackingNumber string     `json:"tracking_number"`
	ShippedAt      time.Time  `json:"shipped_at"`
	DeliveredAt    *time.Time `json:"delivered_at,omitempty"`
}

// Order is the public shape of an order. The buyer and admins see it
// whole. A seller (of an order they did not buy) sees only their own
// lines, shipments and return requests; Subtotal and Total are the sum of
// their lines, Refunded what was refunded of them, and Payment carries only
// its status and method (no card, no attempts).
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
	// Refunded is the money returned so far (returns, or the whole order).
	Refunded Money `json:"refunded"`
	// Shipment is the latest of Shipments (kept for clients of one-parcel
	// orders).
	Shipment  *Shipment       `json:"shipment,omitempty"`
	Shipments []Shipment      `json:"shipments"`
	Returns   []ReturnRequest `json:"returns"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// ReturnLineInput names units of one order line to return.
type ReturnLineInput struct {
	Line     int   `json:"line"`
	Quantity int64 `json:"quantity"`
}

// ReturnInput is the body of order.return.create: the shipped or
// delivered lines to return (of one seller), and why.
type ReturnInput struct {
	Reason string            `json:"reason"`
	Lines  []ReturnLineInput `json:"lines"`
}

// ReturnDecision is the optional body of order.return.approve and
// order.return.reject: a note for the buyer.
type ReturnDecision struct {
	Note string `json:"note,omitempty"`
}

// ReturnLine is one line of a return request.
type ReturnLine struct {
	Line        int    `json:"line"`
	ProductID   string `json:"product_id"`
	VariantID   string `json:"variant_id,omitempty"`
	Name        string `json:"name"`
	VariantName string `json:"variant_name,omitempty"`
	SKU         string `json:"sku,omitempty"`
	Quantity    int64  `json:"quantity"`
	UnitPrice   Money  `json:"unit_price"`
	Total       Money  `json:"total"`
}

// ReturnRequest is a buyer's request to return lines of an order, decided
// by the seller of those lines or an admin. Amount is what approval
// refunds: exactly the lines' price.
type ReturnRequest struct {
	ID        string       `json:"id"`
	OrderID   string       `json:"order_id"`
	UserID    string       `json:"user_id"`
	SellerID  string       `json:"seller_id"`
	Status    string       `json:"status"`
	Reason    string       `json:"reason"`
	Lines     []ReturnLine `json:"lines"`
	Amount    Money        `json:"amount"`
	Note      string       `json:"note,omitempty"` // the decision's note
	CreatedAt time.Time    `json:"created_at"`
	DecidedAt *time.Time   `json:"decided_at,omitempty"`
	// RefundedAt is when the payment provider confirmed the refund.
	RefundedAt *time.Time `json:"refunded_at,omitempty"`
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

// OrderRefunded is the payload of order.refunded: Amount went back to the
// buyer. A partial refund (an approved return) names the return in
// ReturnID, its lines in Items, and leaves the order in its status unless
// every line is now refunded.
type OrderRefunded struct {
	OrderID     string `json:"order_id"`
	OrderNumber string `json:"order_number,omitempty"` // Order.Number
	UserID      string `json:"user_id"`
	ReturnID    string `json:"return_id,omitempty"`
	Amount      Money  `json:"amount"`
	Reason      string `json:"reason"`
	Status      string `json:"status"` // the order's status after the refund
	// Shipped says whether the goods had left (shipped or delivered) before
	// the refund. A refunded order that never shipped puts its units back in
	// stock; one that shipped does not (the goods are with the buyer).
	Shipped   bool             `json:"shipped"`
	Items     []OrderEventItem `json:"items"`
	SellerIDs []string         `json:"seller_ids"`
}

// OrderShipped is the payload of order.shipped, one per shipment: Items
// are the shipment's lines, SellerID its seller, Total the order's total
// and Status the order's status after it (partially_shipped or shipped).
type OrderShipped struct {
	OrderID        string           `json:"order_id"`
	OrderNumber    string           `json:"order_number,omitempty"` // Order.Number
	UserID         string           `json:"user_id"`
	ShipmentID     string           `json:"shipment_id"`
	SellerID       string           `json:"seller_id"`
	Status         string           `json:"status"`
	Carrier        string           `json:"carrier"`
	TrackingNumber string           `json:"tracking_number"`
	Total          Money            `json:"total"`
	Items          []OrderEventItem `json:"items"`
	SellerIDs      []string         `json:"seller_ids"`
}

// OrderDelivered is the payload of order.delivered, one per shipment (as
// OrderShipped; Status is the order's after it).
type OrderDelivered struct {
	OrderID        string           `json:"order_id"`
	OrderNumber    string           `json:"order_number,omitempty"` // Order.Number
	UserID         string           `json:"user_id"`
	ShipmentID     string           `json:"shipment_id"`
	SellerID       string           `json:"seller_id"`
	Status         string           `json:"status"`
	Carrier        string           `json:"carrier"`
	TrackingNumber string           `json:"tracking_number"`
	Total          Money            `json:"total"`
	Items          []OrderEventItem `json:"items"`
	SellerIDs      []string         `json:"seller_ids"`
}

// ReturnEvent is the payload of return.requested, return.approved and
// return.rejected: the request, its lines (Items) and the amount it
// refunds. Note is the decision's note.
type ReturnEvent struct {
	ReturnID string           `json:"return_id"`
	OrderID  string           `json:"order_id"`
	UserID   string           `json:"user_id"`
	SellerID string           `json:"seller_id"`
	Status   string           `json:"status"`
	Reason   string           `json:"reason"`
	Note     string           `json:"note,omitempty"`
	Amount   Money            `json:"amount"`
	Items    []OrderEventItem `json:"items"`
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
	Register("order.deliver.request", DeliverRequest{})
	Register("order.return.input", ReturnInput{})
	Register("order.return.decision", ReturnDecision{})
	Register("order.return", ReturnRequest{})
	Register("order.return.list", List[ReturnRequest]{})
	Register("event.return.requested", ReturnEvent{})
	Register("event.return.approved", ReturnEvent{})
	Register("event.return.rejected", ReturnEvent{})
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
