package notify

import (
	"fmt"
	"strings"

	"github.com/opencommerce/opencommerce/contracts"
)

// deliveries turns one event into the notifications it causes: each event
// type has its builder below, one named step the reader can check against
// the event's contract. A payload that cannot be understood is a permanent
// error (dead-lettered). Events that notify nobody give none.
func (c *Core) deliveries(ev contracts.Event) ([]delivery, error) {
	build, ok := builders[ev.Type]
	if !ok {
		return nil, nil
	}
	return build(namerOf(c.cfg.ShopURL, ev), ev)
}

// A builder turns one event of its type into deliveries.
type builder func(n namer, ev contracts.Event) ([]delivery, error)

var builders = map[string]builder{
	contracts.EventOrderPlaced:     orderPlaced,
	contracts.EventOrderPaid:       orderPaid,
	contracts.EventPaymentFailed:   paymentFailed,
	contracts.EventOrderCancelled:  orderCancelled,
	contracts.EventOrderRefunded:   orderRefunded,
	contracts.EventOrderShipped:    orderShipped,
	contracts.EventOrderDelivered:  orderDelivered,
	contracts.EventReturnRequested: returnRequested,
	contracts.EventReturnApproved:  returnDecided,
	contracts.EventReturnRejected:  returnDecided,
	contracts.EventReviewCreated:   reviewCreated,
	contracts.EventCommentCreated:  commentCreated,
	contracts.EventUserRegistered:  userRegistered,
}

// namer names things in the messages of one event: links into the shop,
// and orders by their number ("#100042", which GET /orders/{number} finds)
// when the event carries one, else by the short id.
type namer struct {
	shop   string
	number string
}

func namerOf(shopURL string, ev contracts.Event) namer {
	return namer{shop: strings.TrimRight(shopURL, "/"), number: orderNumber(ev)}
}

func (n namer) link(path string) string { return n.shop + path }

// order is what follows "#" when the messages name order id.
func (n namer) order(id string) string {
	if n.number != "" {
		return n.number
	}
	return shortID(id)
}

// data is the notification data of an order event.
func (n namer) data(orderID string, total contracts.Money) map[string]any {
	return with(orderData(orderID, total), "order_number", n.number)
}

// view is the order table of an email.
func (n namer) view(orderID string, items []contracts.OrderEventItem, total contracts.Money, label string) *orderView {
	v := view(orderID, items, total, label)
	if n.number != "" {
		v.ID = "#" + n.number
	}
	return v
}

func orderPlaced(n namer, ev contracts.Event) ([]delivery, error) {
	var o contracts.OrderPlaced
	if err := decode(ev, &o, &o.OrderID, &o.UserID); err != nil {
		return nil, err
	}
	id := n.order(o.OrderID)
	return []delivery{{UserID: o.UserID, Kind: contracts.KindOrderPlaced, Data: n.data(o.OrderID, o.Total), Msg: message{
		Subject: fmt.Sprintf("We received your order #%s", id),
		Title:   "Order received",
		Intro:   fmt.Sprintf("We received your order #%s (%s, %s). We will tell you when the payment is confirmed.", id, plural(itemCount(o.Items), "item", "items"), formatMoney(o.Total)),
		Order:   n.view(o.OrderID, o.Items, o.Total, "Total"),
		Link:    n.link("/orders/" + o.OrderID),
	}}}, nil
}

// orderPaid tells the buyer, and each seller of the order their part to
// ship.
func orderPaid(n namer, ev contracts.Event) ([]delivery, error) {
	var o contracts.OrderPaid
	if err := decode(ev, &o, &o.OrderID, &o.UserID); err != nil {
		return nil, err
	}
	id := n.order(o.OrderID)
	m := message{
		Subject: fmt.Sprintf("Payment confirmed for order #%s: %s", id, formatMoney(o.Total)),
		Title:   "Payment confirmed",
		Intro:   fmt.Sprintf("We received your payment of %s for order #%s. We will tell you when it ships.", formatMoney(o.Total), id),
		Order:   n.view(o.OrderID, o.Items, o.Total, "Total paid"),
		Link:    n.link("/orders/" + o.OrderID),
	}
	if o.Last4 != "" {
		m.Lines = append(m.Lines, "Paid with the card ending in "+o.Last4+".")
	}
	out := []delivery{{UserID: o.UserID, Kind: contracts.KindOrderPaid, Data: n.data(o.OrderID, o.Total), Msg: m}}
	for _, seller := range sellersOf(o.SellerIDs, o.Items) {
		items, sum := sellerItems(o.Items, seller, o.Total.Currency)
		out = append(out, delivery{UserID: seller, Kind: contracts.KindNewOrder, Data: n.data(o.OrderID, sum), Msg: message{
			Subject: fmt.Sprintf("New order #%s to ship: %s", id, formatMoney(sum)),
			Title:   "New order to ship",
			Intro:   fmt.Sprintf("Order #%s was paid: %s of yours for %s. Please ship it.", id, plural(itemCount(items), "item", "items"), formatMoney(sum)),
			Order:   n.view(o.OrderID, items, sum, "Your items"),
			Link:    n.link("/seller/orders"),
		}})
	}
	return out, nil
}

// sellersOf is the order's sellers that can be notified (valid ids, each
// once).
func sellersOf(ids []string, items []contracts.OrderEventItem) []string {
	var out []string
	for _, seller := range uniq(ids, items) {
		if checkUUID("seller_id", seller) == nil {
			out = append(out, seller)
		}
	}
	return out
}

func paymentFailed(n namer, ev contracts.Event) ([]delivery, error) {
	var o contracts.PaymentFailed
	if err := decode(ev, &o, &o.OrderID, &o.UserID); err != nil {
		return nil, err
	}
	id := n.order(o.OrderID)
	m := message{
		Subject: fmt.Sprintf("Payment declined for order #%s: pay again to keep it", id),
		Title:   "Payment declined",
		Intro:   fmt.Sprintf("The payment of %s for your order #%s was declined: %s.", formatMoney(o.Amount), id, reason(o.Reason)),
		Order:   n.view(o.OrderID, o.Items, o.Amount, "Total"),
		Link:    n.link("/orders/" + o.OrderID),
	}
	if o.Last4 != "" {
		m.Lines = append(m.Lines, "The card ending in "+o.Last4+" was not charged.")
	}
	if o.PayBy != nil {
		m.Lines = append(m.Lines, fmt.Sprintf("We keep your items until %s UTC: pay with another card before then, or the order is cancelled.",
			o.PayBy.UTC().Format("2 Jan 2006 15:04")))
	}
	return []delivery{{UserID: o.UserID, Kind: contracts.KindPaymentFailed,
		Data: with(n.data(o.OrderID, o.Amount), "reason", o.Reason), Msg: m}}, nil
}

// orderCancelled tells the buyer, and the sellers too when the order was
// paid (they had been told to ship it).
func orderCancelled(n namer, ev contracts.Event) ([]delivery, error) {
	var o contracts.OrderCancelled
	if err := decode(ev, &o, &o.OrderID, &o.UserID); err != nil {
		return nil, err
	}
	id := n.order(o.OrderID)
	intro := fmt.Sprintf("Your order #%s was cancelled: %s.", id, reason(o.Reason))
	if o.Refunded {
		intro += fmt.Sprintf(" Your payment of %s is being refunded.", formatMoney(o.Total))
	}
	out := []delivery{{UserID: o.UserID, Kind: contracts.KindOrderCancelled,
		Data: with(n.data(o.OrderID, o.Total), "reason", o.Reason), Msg: message{
			Subject: fmt.Sprintf("Your order #%s was cancelled", id),
			Title:   "Order cancelled",
			Intro:   intro,
			Order:   n.view(o.OrderID, o.Items, o.Total, "Total"),
			Link:    n.link("/orders/" + o.OrderID),
		}}}
	if o.PrevStatus != contracts.OrderStatusPaid {
		return out, nil
	}
	for _, seller := range sellersOf(o.SellerIDs, o.Items) {
		items, sum := sellerItems(o.Items, seller, o.Total.Currency)
		out = append(out, delivery{UserID: seller, Kind: contracts.KindOrderCancelled,
			Data: with(n.data(o.OrderID, sum), "reason", o.Reason), Msg: message{
				Subject: fmt.Sprintf("Order #%s was cancelled: do not ship it", id),
				Title:   "Paid order cancelled",
				Intro:   fmt.Sprintf("Order #%s was cancelled after payment; do not ship it.", id),
				Order:   n.view(o.OrderID, items, sum, "Your items"),
				Link:    n.link("/seller/orders"),
			}})
	}
	return out, nil
}

func orderRefunded(n namer, ev contracts.Event) ([]delivery, error) {
	var o contracts.OrderRefunded
	if err := decode(ev, &o, &o.OrderID, &o.UserID); err != nil {
		return nil, err
	}
	id := n.order(o.OrderID)
	return []delivery{{UserID: o.UserID, Kind: contracts.KindOrderRefunded,
		Data: with(n.data(o.OrderID, o.Amount), "reason", o.Reason), Msg: message{
			Subject: fmt.Sprintf("Refund of %s for order #%s", formatMoney(o.Amount), id),
			Title:   "Refund issued",
			Intro:   fmt.Sprintf("We refunded %s for order #%s. It may take a few days to show on your statement.", formatMoney(o.Amount), id),
			Order:   n.view(o.OrderID, o.Items, o.Amount, "Refunded"),
			Link:    n.link("/orders/" + o.OrderID),
		}}}, nil
}

// orderShipped is one notification per shipment: the buyer learns which
// items left, with what.
func orderShipped(n namer, ev contracts.Event) ([]delivery, error) {
	var o contracts.OrderShipped
	if err := decode(ev, &o, &o.OrderID, &o.UserID); err != nil {
		return nil, err
	}
	subject, title, intro := shippedWording(n.order(o.OrderID), o)
	data := with(with(with(n.data(o.OrderID, o.Total), "carrier", o.Carrier), "tracking_number", o.TrackingNumber), "shipment_id", o.ShipmentID)
	return []delivery{{UserID: o.UserID, Kind: contracts.KindOrderShipped, Data: data, Msg: message{
		Subject: subject,
		Title:   title,
		Intro:   intro,
		Lines:   []string{"Tracking number: " + o.TrackingNumber},
		Order:   n.view(o.OrderID, o.Items, parcelTotal(o.Items, o.SellerID, o.Total), "In this parcel"),
		Link:    n.link("/orders/" + o.OrderID),
	}}}, nil
}

// shippedWording: the whole order shipped, or part of it (some lines are
// still to ship, or this is the last of several sellers' parcels).
func shippedWording(id string, o contracts.OrderShipped) (subject, title, intro string) {
	partial := o.Status == contracts.OrderStatusPartiallyShipped || o.Status == contracts.OrderStatusShipped && len(o.SellerIDs) > 1
	if !partial {
		return fmt.Sprintf("Your order #%s has shipped", id), "Order shipped",
			fmt.Sprintf("Your order #%s is on its way with %s.", id, o.Carrier)
	}
	intro = fmt.Sprintf("A parcel of your order #%s is on its way with %s (%s).", id, o.Carrier, plural(itemCount(o.Items), "item", "items"))
	if o.Status == contracts.OrderStatusShipped {
		intro += " Everything you ordered has now shipped."
	}
	return fmt.Sprintf("Part of your order #%s has shipped", id), "Parcel shipped", intro
}

// parcelTotal is the value of one seller's parcel (the order's total for
// an event from before shipments, which names no seller).
func parcelTotal(items []contracts.OrderEventItem, seller string, total contracts.Money) contracts.Money {
	if seller == "" {
		return total
	}
	_, sum := sellerItems(items, seller, total.Currency)
	return sum
}

func orderDelivered(n namer, ev contracts.Event) ([]delivery, error) {
	var o contracts.OrderDelivered
	if err := decode(ev, &o, &o.OrderID, &o.UserID); err != nil {
		return nil, err
	}
	id := n.order(o.OrderID)
	subject, title := fmt.Sprintf("Your order #%s was delivered", id), "Order delivered"
	intro := fmt.Sprintf("Your order #%s was delivered. Enjoy! You can review what you bought.", id)
	if o.ShipmentID != "" && o.Status != contracts.OrderStatusDelivered {
		subject, title = fmt.Sprintf("A parcel of your order #%s was delivered", id), "Parcel delivered"
		intro = fmt.Sprintf("A parcel of your order #%s (%s with %s) was delivered; the rest is still on its way.",
			id, plural(itemCount(o.Items), "item", "items"), o.Carrier)
	}
	return []delivery{{UserID: o.UserID, Kind: contracts.KindOrderDelivered,
		Data: with(n.data(o.OrderID, o.Total), "shipment_id", o.ShipmentID), Msg: message{
			Subject: subject,
			Title:   title,
			Intro:   intro,
			Order:   n.view(o.OrderID, o.Items, parcelTotal(o.Items, o.SellerID, o.Total), "In this parcel"),
			Link:    n.link("/orders/" + o.OrderID),
		}}}, nil
}

// returnRequested asks the seller to decide.
func returnRequested(n namer, ev contracts.Event) ([]delivery, error) {
	var r contracts.ReturnEvent
	if err := decode(ev, &r, &r.ReturnID, &r.OrderID, &r.SellerID); err != nil {
		return nil, err
	}
	id := n.order(r.OrderID)
	return []delivery{{UserID: r.SellerID, Kind: contracts.KindReturnRequest, Data: returnData(r), Msg: message{
		Subject: fmt.Sprintf("Return requested for order #%s: %s", id, formatMoney(r.Amount)),
		Title:   "Return requested",
		Intro: fmt.Sprintf("A customer asks to return %s of order #%s (%s). Please approve or reject the request.",
			plural(itemCount(r.Items), "item", "items"), id, formatMoney(r.Amount)),
		Lines: []string{"Reason: " + r.Reason},
		Order: n.view(r.OrderID, r.Items, r.Amount, "To refund"),
		Link:  n.link("/seller/returns"),
	}}}, nil
}

// returnDecided tells the buyer the seller's answer (approved or
// rejected).
func returnDecided(n namer, ev contracts.Event) ([]delivery, error) {
	var r contracts.ReturnEvent
	if err := decode(ev, &r, &r.ReturnID, &r.OrderID, &r.UserID); err != nil {
		return nil, err
	}
	id, units := n.order(r.OrderID), plural(itemCount(r.Items), "item", "items")
	m := message{
		Subject: fmt.Sprintf("Your return for order #%s was approved", id),
		Title:   "Return approved",
		Intro:   fmt.Sprintf("Your return of %s from order #%s was approved. We are refunding %s.", units, id, formatMoney(r.Amount)),
		Order:   n.view(r.OrderID, r.Items, r.Amount, "To refund"),
		Link:    n.link("/orders/" + r.OrderID),
	}
	if ev.Type == contracts.EventReturnRejected {
		m.Subject = fmt.Sprintf("Your return for order #%s was not accepted", id)
		m.Title = "Return rejected"
		m.Intro = fmt.Sprintf("Your return of %s from order #%s was not accepted.", units, id)
		m.Order.Label = "Not refunded"
	}
	if r.Note != "" {
		m.Lines = append(m.Lines, "The seller's note: "+r.Note)
	}
	return []delivery{{UserID: r.UserID, Kind: contracts.KindReturnDecided, Data: with(returnData(r), "status", r.Status), Msg: m}}, nil
}

// reviewCreated tells the seller, unless they reviewed their own product.
func reviewCreated(n namer, ev contracts.Event) ([]delivery, error) {
	var r contracts.ReviewCreated
	if err := decode(ev, &r, &r.SellerID, &r.ReviewerID); err != nil {
		return nil, err
	}
	if r.SellerID == r.ReviewerID {
		return nil, nil
	}
	return []delivery{{UserID: r.SellerID, Kind: contracts.KindNewReview,
		Data: map[string]any{"product_id": r.ProductID, "review_id": r.ReviewID, "rating": r.Rating}, Msg: message{
			Subject: fmt.Sprintf("New %d-star review of %s", r.Rating, r.ProductName),
			Title:   "New review",
			Intro:   fmt.Sprintf("%s got a %d-star review%s.", r.ProductName, r.Rating, titled(r.Title)),
			Link:    n.link("/products/" + r.ProductID),
		}}}, nil
}

// commentCreated tells the seller of a customer's new comment or question,
// and the author of the comment a reply answers; nobody is told of their
// own words.
func commentCreated(n namer, ev contracts.Event) ([]delivery, error) {
	var c contracts.CommentCreated
	if err := decode(ev, &c, &c.UserID); err != nil {
		return nil, err
	}
	data := map[string]any{"product_id": c.ProductID, "comment_id": c.CommentID}
	var out []delivery
	if !c.IsReply && !c.BySeller && c.SellerID != c.UserID && checkUUID("seller_id", c.SellerID) == nil {
		what := "comment on"
		if c.IsQuestion {
			what = "question about"
		}
		out = append(out, delivery{UserID: c.SellerID, Kind: contracts.KindNewQuestion, Data: data, Msg: message{
			Subject: fmt.Sprintf("New %s %s", what, c.ProductName),
			Title:   "New " + strings.Fields(what)[0],
			Intro:   fmt.Sprintf("A customer left a %s %s.", what, c.ProductName),
			Link:    n.link("/products/" + c.ProductID),
		}})
	}
	if c.IsReply && c.ParentUserID != "" && c.ParentUserID != c.UserID && checkUUID("parent_user_id", c.ParentUserID) == nil {
		who := "Someone"
		if c.BySeller {
			who = "The seller"
		}
		out = append(out, delivery{UserID: c.ParentUserID, Kind: contracts.KindCommentReply, Data: data, Msg: message{
			Subject: "New reply about " + c.ProductName,
			Title:   "New reply",
			Intro:   fmt.Sprintf("%s replied to your comment on %s.", who, c.ProductName),
			Link:    n.link("/products/" + c.ProductID),
		}})
	}
	return out, nil
}

func userRegistered(n namer, ev contracts.Event) ([]delivery, error) {
	var u contracts.UserRegistered
	if err := decode(ev, &u, &u.UserID); err != nil {
		return nil, err
	}
	name := u.Name
	if name == "" {
		name = "there"
	}
	return []delivery{{UserID: u.UserID, Kind: contracts.KindWelcome, Data: map[string]any{}, Msg: message{
		Subject: "Welcome to OpenCommerce",
		Title:   "Welcome to OpenCommerce",
		Intro:   fmt.Sprintf("Hello %s, your account is ready. Happy shopping!", name),
		Link:    n.link("/"),
	}}}, nil
}
