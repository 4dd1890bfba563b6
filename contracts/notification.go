package contracts

import (
	"encoding/json"
	"time"
)

// The notification service's RPC methods (routed by edge/routes.go, see docs/API.md). Each is
// routed by the gateway, takes an Envelope and acts for the signed-in user
// (an anonymous actor gets unauthenticated).
const (
	MethodNotificationList              = "notification.list"               // params limit, cursor, unread=true → List[Notification]
	MethodNotificationRead              = "notification.read"               // params id → {} (204)
	MethodNotificationReadAll           = "notification.read_all"           // → {} (204)
	MethodNotificationPreferencesGet    = "notification.preferences.get"    // → NotificationPreferences
	MethodNotificationPreferencesUpdate = "notification.preferences.update" // body NotificationPreferencesUpdate → NotificationPreferences
)

// Notification kinds. The buyer's kinds follow their order; the seller's
// tell of activity on their products; welcome greets a new account.
const (
	KindWelcome        = "welcome"         // user.registered
	KindOrderPlaced    = "order_placed"    // buyer: order.placed
	KindOrderPaid      = "order_paid"      // buyer: order.paid
	KindOrderCancelled = "order_cancelled" // buyer: order.cancelled (seller too when it had been paid)
	KindPaymentFailed  = "payment_failed"  // buyer: payment.failed (the card was declined; pay again)
	KindOrderShipped   = "order_shipped"   // buyer: order.shipped (one per shipment)
	KindOrderDelivered = "order_delivered" // buyer: order.delivered (one per shipment)
	KindOrderRefunded  = "order_refunded"  // buyer: order.refunded
	KindNewOrder       = "new_order"       // seller: order.paid with their items (an order to ship)
	KindNewReview      = "new_review"      // seller: review.created on their product
	KindNewQuestion    = "new_question"    // seller: comment.created on their product (not their own)
	KindCommentReply   = "comment_reply"   // author of a comment: someone replied (comment.created)
	KindReturnRequest  = "return_request"  // seller: return.requested of their lines
	KindReturnDecided  = "return_decided"  // buyer: return.approved or return.rejected
)

// NotificationKinds lists every kind, in the order preferences show them.
var NotificationKinds = []string{
	KindWelcome, KindOrderPlaced, KindOrderPaid, KindPaymentFailed, KindOrderCancelled, KindOrderShipped,
	KindOrderDelivered, KindOrderRefunded, KindNewOrder, KindNewReview, KindNewQuestion, KindCommentReply,
	KindReturnRequest, KindReturnDecided,
}

// Notification is one in-app notification. Data carries the ids a client
// needs to link it (order_id, product_id, …) and, for order kinds, the
// total. The same JSON is what SSE and WebSocket clients receive.
type Notification struct {
	ID        string          `json:"id"`
	Kind      string          `json:"kind"`
	Title     string          `json:"title"`
	Body      string          `json:"body"`
	Data      json.RawMessage `json:"data"`
	Read      bool            `json:"read"`
	CreatedAt time.Time       `json:"created_at"`
}

// ChannelPreferences says on which channels one kind is delivered. Push
// (SSE/WebSocket) follows InApp.
type ChannelPreferences struct {
	InApp bool `json:"in_app"`
	Email bool `json:"email"`
}

// NotificationPreferences is a user's choice per kind; every kind is
// present (defaults filled in).
type NotificationPreferences struct {
	Kinds map[string]ChannelPreferences `json:"kinds"`
}

// ChannelPreferencesPatch changes some channels of one kind; absent fields
// are unchanged.
type ChannelPreferencesPatch struct {
	InApp *bool `json:"in_app,omitempty"`
	Email *bool `json:"email,omitempty"`
}

// NotificationPreferencesUpdate is the body of
// notification.preferences.update: only the kinds named change; an unknown
// kind is invalid_argument.
type NotificationPreferencesUpdate struct {
	Kinds map[string]ChannelPreferencesPatch `json:"kinds"`
}

// StreamMessage is what the gateway sends on the WebSocket (one JSON text
// frame per notification; SSE sends Data as the data: line with ID as id:).
// ID is the NOTIFY stream sequence, the value to resume after.
type StreamMessage struct {
	ID   string          `json:"id"`
	Type string          `json:"type"` // "notification"
	Data json.RawMessage `json:"data"`
}

func init() {
	Register("notification.notification", Notification{})
	Register("notification.list", List[Notification]{})
	Register("notification.preferences", NotificationPreferences{})
	Register("notification.preferences.update.request", NotificationPreferencesUpdate{})
	Register("notification.stream.message", StreamMessage{})
}

// MethodNotificationUnsubscribe is the one-click unsubscribe of an email
// link (RFC 8058): params token (from the email's List-Unsubscribe) →
// Unsubscribed. It needs no sign-in; the token is the proof.
const MethodNotificationUnsubscribe = "notification.unsubscribe"

// Unsubscribed is the answer of an unsubscribe: the kind whose emails
// stopped, and a sentence to show the person.
type Unsubscribed struct {
	Kind    string `json:"kind"`
	Email   bool   `json:"email"`
	Message string `json:"message"`
}
