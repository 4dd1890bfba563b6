package notification

import (
	"bytes"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
)

// delivery is one notification for one recipient, before preferences
// decide its channels.
type delivery struct {
	UserID string
	Kind   string
	Msg    message
	Data   map[string]any
}

// message is what both the in-app notification (Title, Intro) and the email
// (every field) are made of.
type message struct {
	Subject string
	Title   string
	Intro   string
	Lines   []string // extra facts: tracking, reason, card
	Order   *orderView
	Link    string
}

type orderView struct {
	ID    string
	Items []itemView
	Total string
	Label string // "Total", "Your items", "Refunded"
}

type itemView struct {
	Name      string
	Quantity  int64
	UnitPrice string
	LineTotal string
}

// consumedEvents are the routing keys the service binds.
var consumedEvents = []string{
	contracts.EventOrderPlaced, contracts.EventOrderPaid, contracts.EventOrderCancelled,
	contracts.EventOrderRefunded, contracts.EventOrderShipped, contracts.EventOrderDelivered,
	contracts.EventPaymentFailed,
	contracts.EventReviewCreated, contracts.EventCommentCreated,
	contracts.EventUserRegistered, contracts.EventUserUpdated,
	contracts.EventReturnRequested, contracts.EventReturnApproved, contracts.EventReturnRejected,
}

// shortID is the fallback name of an order in messages, for events written
// before orders had numbers (their payloads carry no order_number).
func shortID(id string) string {
	s := strings.ReplaceAll(id, "-", "")
	if len(s) > 8 {
		s = s[len(s)-8:]
	}
	return strings.ToUpper(s)
}

func checkUUID(field, s string) error {
	if _, err := uuid.Parse(s); err != nil {
		return bus.Permanent(contracts.InvalidArgument(field, "%s must be a UUID, got %q", field, s))
	}
	return nil
}

func view(orderID string, items []contracts.OrderEventItem, total contracts.Money, label string) *orderView {
	v := &orderView{ID: orderID, Total: formatMoney(total), Label: label}
	for _, it := range items {
		v.Items = append(v.Items, itemView{
			Name: lineName(it), Quantity: it.Quantity, UnitPrice: formatMoney(it.UnitPrice),
			LineTotal: formatMoney(contracts.Money{Amount: it.UnitPrice.Amount * it.Quantity, Currency: it.UnitPrice.Currency}),
		})
	}
	return v
}

// lineName names an order line for people: the product, and the variant
// bought with its SKU ("Organic Cotton T-Shirt (Size: M, Colour: Blue; SKU
// TS-M-BL)").
func lineName(it contracts.OrderEventItem) string {
	var extra []string
	if it.VariantName != "" {
		extra = append(extra, it.VariantName)
	}
	if it.SKU != "" {
		extra = append(extra, "SKU "+it.SKU)
	}
	if len(extra) == 0 {
		return it.Name
	}
	return it.Name + " (" + strings.Join(extra, "; ") + ")"
}

// orderNumber is the order_number of an order event's payload ("" when
// it has none).
func orderNumber(ev contracts.Event) string {
	var p struct {
		OrderNumber string `json:"order_number"`
	}
	if json.Unmarshal(ev.Data, &p) != nil {
		return ""
	}
	return p.OrderNumber
}

// sellerItems returns the lines of seller and their total.
func sellerItems(items []contracts.OrderEventItem, seller string, cur string) ([]contracts.OrderEventItem, contracts.Money) {
	var out []contracts.OrderEventItem
	sum := contracts.Money{Currency: cur}
	for _, it := range items {
		if it.SellerID == seller {
			out = append(out, it)
			sum.Amount += it.UnitPrice.Amount * it.Quantity
			if sum.Currency == "" {
				sum.Currency = it.UnitPrice.Currency
			}
		}
	}
	return out, sum
}

func uniq(ids []string, items []contracts.OrderEventItem) []string {
	seen := map[string]bool{}
	var out []string
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, id := range ids {
		add(id)
	}
	for _, it := range items {
		add(it.SellerID)
	}
	return out
}

func itemCount(items []contracts.OrderEventItem) int64 {
	var n int64
	for _, it := range items {
		n += it.Quantity
	}
	return n
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

var reasonText = map[string]string{
	contracts.ReasonOutOfStock:         "some items were out of stock",
	contracts.ReasonPaymentDeclined:    "the payment was declined",
	contracts.ReasonInsufficientFunds:  "the card had insufficient funds",
	contracts.ReasonCancelledByUser:    "you cancelled it",
	contracts.ReasonCancelledByAdmin:   "it was cancelled by our team",
	contracts.ReasonReservationTimeout: "the stock could not be confirmed in time",
	contracts.ReasonReservationExpired: "the reserved stock expired",
	contracts.ReasonRefundedByAdmin:    "it was refunded by our team",
	contracts.ReasonPaymentTimeout:     "the payment was declined and not made again in time",
}

func reason(r string) string {
	if t, ok := reasonText[r]; ok {
		return t
	}
	if r == "" {
		return "no reason was given"
	}
	return r
}

// deliveries turns one event into the notifications it causes. A payload
// that cannot be understood is a permanent error (dead-lettered). Events
// that notify nobody give none.
func (s *core) deliveries(ev contracts.Event) ([]delivery, error) {
	link := func(path string) string { return strings.TrimRight(s.cfg.ShopURL, "/") + path }
	// Orders are named by their number ("#100042", which GET
	// /orders/{number} finds) when the event carries one: these three
	// shadow the package functions of the same name for every case below.
	number := orderNumber(ev)
	shortID := func(id string) string {
		if number != "" {
			return number
		}
		return shortID(id)
	}
	orderData := func(orderID string, total contracts.Money) map[string]any {
		return with(orderData(orderID, total), "order_number", number)
	}
	view := func(orderID string, items []contracts.OrderEventItem, total contracts.Money, label string) *orderView {
		v := view(orderID, items, total, label)
		if number != "" {
			v.ID = "#" + number
		}
		return v
	}
	switch ev.Type {
	case contracts.EventOrderPlaced:
		var o contracts.OrderPlaced
		if err := decode(ev, &o, &o.OrderID, &o.UserID); err != nil {
			return nil, err
		}
		n := itemCount(o.Items)
		return []delivery{{UserID: o.UserID, Kind: contracts.KindOrderPlaced, Data: orderData(o.OrderID, o.Total), Msg: message{
			Subject: fmt.Sprintf("We received your order #%s", shortID(o.OrderID)),
			Title:   "Order received",
			Intro:   fmt.Sprintf("We received your order #%s (%s, %s). We will tell you when the payment is confirmed.", shortID(o.OrderID), plural(n, "item", "items"), formatMoney(o.Total)),
			Order:   view(o.OrderID, o.Items, o.Total, "Total"),
			Link:    link("/orders/" + o.OrderID),
		}}}, nil

	case contracts.EventOrderPaid:
		var o contracts.OrderPaid
		if err := decode(ev, &o, &o.OrderID, &o.UserID); err != nil {
			return nil, err
		}
		m := message{
			Subject: fmt.Sprintf("Payment confirmed for order #%s: %s", shortID(o.OrderID), formatMoney(o.Total)),
			Title:   "Payment confirmed",
			Intro:   fmt.Sprintf("We received your payment of %s for order #%s. We will tell you when it ships.", formatMoney(o.Total), shortID(o.OrderID)),
			Order:   view(o.OrderID, o.Items, o.Total, "Total paid"),
			Link:    link("/orders/" + o.OrderID),
		}
		if o.Last4 != "" {
			m.Lines = append(m.Lines, "Paid with the card ending in "+o.Last4+".")
		}
		out := []delivery{{UserID: o.UserID, Kind: contracts.KindOrderPaid, Data: orderData(o.OrderID, o.Total), Msg: m}}
		for _, seller := range uniq(o.SellerIDs, o.Items) {
			if checkUUID("seller_id", seller) != nil {
				continue
			}
			items, sum := sellerItems(o.Items, seller, o.Total.Currency)
			n := itemCount(items)
			d := orderData(o.OrderID, sum)
			out = append(out, delivery{UserID: seller, Kind: contracts.KindNewOrder, Data: d, Msg: message{
				Subject: fmt.Sprintf("New order #%s to ship: %s", shortID(o.OrderID), formatMoney(sum)),
				Title:   "New order to ship",
				Intro:   fmt.Sprintf("Order #%s was paid: %s of yours for %s. Please ship it.", shortID(o.OrderID), plural(n, "item", "items"), formatMoney(sum)),
				Order:   view(o.OrderID, items, sum, "Your items"),
				Link:    link("/seller/orders"),
			}})
		}
		return out, nil

	case contracts.EventPaymentFailed:
		var o contracts.PaymentFailed
		if err := decode(ev, &o, &o.OrderID, &o.UserID); err != nil {
			return nil, err
		}
		intro := fmt.Sprintf("The payment of %s for your order #%s was declined: %s.", formatMoney(o.Amount), shortID(o.OrderID), reason(o.Reason))
		m := message{
			Subject: fmt.Sprintf("Payment declined for order #%s: pay again to keep it", shortID(o.OrderID)),
			Title:   "Payment declined",
			Intro:   intro,
			Order:   view(o.OrderID, o.Items, o.Amount, "Total"),
			Link:    link("/orders/" + o.OrderID),
		}
		if o.Last4 != "" {
			m.Lines = append(m.Lines, "The card ending in "+o.Last4+" was not charged.")
		}
		if o.PayBy != nil {
			m.Lines = append(m.Lines, fmt.Sprintf("We keep your items until %s UTC: pay with another card before then, or the order is cancelled.",
				o.PayBy.UTC().Format("2 Jan 2006 15:04")))
		}
		return []delivery{{UserID: o.UserID, Kind: contracts.KindPaymentFailed,
			Data: with(orderData(o.OrderID, o.Amount), "reason", o.Reason), Msg: m}}, nil

	case contracts.EventOrderCancelled:
		var o contracts.OrderCancelled
		if err := decode(ev, &o, &o.OrderID, &o.UserID); err != nil {
			return nil, err
		}
		intro := fmt.Sprintf("Your order #%s was cancelled: %s.", shortID(o.OrderID), reason(o.Reason))
		if o.Refunded {
			intro += fmt.Sprintf(" Your payment of %s is being refunded.", formatMoney(o.Total))
		}
		out := []delivery{{UserID: o.UserID, Kind: contracts.KindOrderCancelled,
			Data: with(orderData(o.OrderID, o.Total), "reason", o.Reason), Msg: message{
				Subject: fmt.Sprintf("Your order #%s was cancelled", shortID(o.OrderID)),
				Title:   "Order cancelled",
				Intro:   intro,
				Order:   view(o.OrderID, o.Items, o.Total, "Total"),
				Link:    link("/orders/" + o.OrderID),
			}}}
		if o.PrevStatus == contracts.OrderStatusPaid { // sellers were told to ship it
			for _, seller := range uniq(o.SellerIDs, o.Items) {
				if checkUUID("seller_id", seller) != nil {
					continue
				}
				items, sum := sellerItems(o.Items, seller, o.Total.Currency)
				out = append(out, delivery{UserID: seller, Kind: contracts.KindOrderCancelled,
					Data: with(orderData(o.OrderID, sum), "reason", o.Reason), Msg: message{
						Subject: fmt.Sprintf("Order #%s was cancelled: do not ship it", shortID(o.OrderID)),
						Title:   "Paid order cancelled",
						Intro:   fmt.Sprintf("Order #%s was cancelled after payment; do not ship it.", shortID(o.OrderID)),
						Order:   view(o.OrderID, items, sum, "Your items"),
						Link:    link("/seller/orders"),
					}})
			}
		}
		return out, nil

	case contracts.EventOrderRefunded:
		var o contracts.OrderRefunded
		if err := decode(ev, &o, &o.OrderID, &o.UserID); err != nil {
			return nil, err
		}
		return []delivery{{UserID: o.UserID, Kind: contracts.KindOrderRefunded,
			Data: with(orderData(o.OrderID, o.Amount), "reason", o.Reason), Msg: message{
				Subject: fmt.Sprintf("Refund of %s for order #%s", formatMoney(o.Amount), shortID(o.OrderID)),
				Title:   "Refund issued",
				Intro:   fmt.Sprintf("We refunded %s for order #%s. It may take a few days to show on your statement.", formatMoney(o.Amount), shortID(o.OrderID)),
				Order:   view(o.OrderID, o.Items, o.Amount, "Refunded"),
				Link:    link("/orders/" + o.OrderID),
			}}}, nil

	case contracts.EventOrderShipped:
		var o contracts.OrderShipped
		if err := decode(ev, &o, &o.OrderID, &o.UserID); err != nil {
			return nil, err
		}
		// One per shipment: the buyer learns which items left, with what.
		subject, title := fmt.Sprintf("Your order #%s has shipped", shortID(o.OrderID)), "Order shipped"
		intro := fmt.Sprintf("Your order #%s is on its way with %s.", shortID(o.OrderID), o.Carrier)
		// Part of the order: some lines are still to ship, or this is the
		// last of several sellers' parcels.
		if o.Status == contracts.OrderStatusPartiallyShipped || o.Status == contracts.OrderStatusShipped && len(o.SellerIDs) > 1 {
			subject, title = fmt.Sprintf("Part of your order #%s has shipped", shortID(o.OrderID)), "Parcel shipped"
			intro = fmt.Sprintf("A parcel of your order #%s is on its way with %s (%s).", shortID(o.OrderID), o.Carrier,
				plural(itemCount(o.Items), "item", "items"))
			if o.Status == contracts.OrderStatusShipped {
				intro += " Everything you ordered has now shipped."
			}
		}
		_, sum := sellerItems(o.Items, o.SellerID, o.Total.Currency)
		if o.SellerID == "" { // an event from before shipments
			sum = o.Total
		}
		data := with(with(with(orderData(o.OrderID, o.Total), "carrier", o.Carrier), "tracking_number", o.TrackingNumber), "shipment_id", o.ShipmentID)
		return []delivery{{UserID: o.UserID, Kind: contracts.KindOrderShipped, Data: data, Msg: message{
			Subject: subject,
			Title:   title,
			Intro:   intro,
			Lines:   []string{"Tracking number: " + o.TrackingNumber},
			Order:   view(o.OrderID, o.Items, sum, "In this parcel"),
			Link:    link("/orders/" + o.OrderID),
		}}}, nil

	case contracts.EventOrderDelivered:
		var o contracts.OrderDelivered
		if err := decode(ev, &o, &o.OrderID, &o.UserID); err != nil {
			return nil, err
		}
		subject, title := fmt.Sprintf("Your order #%s was delivered", shortID(o.OrderID)), "Order delivered"
		intro := fmt.Sprintf("Your order #%s was delivered. Enjoy! You can review what you bought.", shortID(o.OrderID))
		if o.ShipmentID != "" && o.Status != contracts.OrderStatusDelivered {
			subject, title = fmt.Sprintf("A parcel of your order #%s was delivered", shortID(o.OrderID)), "Parcel delivered"
			intro = fmt.Sprintf("A parcel of your order #%s (%s with %s) was delivered; the rest is still on its way.",
				shortID(o.OrderID), plural(itemCount(o.Items), "item", "items"), o.Carrier)
		}
		_, sum := sellerItems(o.Items, o.SellerID, o.Total.Currency)
		if o.SellerID == "" {
			sum = o.Total
		}
		return []delivery{{UserID: o.UserID, Kind: contracts.KindOrderDelivered,
			Data: with(orderData(o.OrderID, o.Total), "shipment_id", o.ShipmentID), Msg: message{
				Subject: subject,
				Title:   title,
				Intro:   intro,
				Order:   view(o.OrderID, o.Items, sum, "In this parcel"),
				Link:    link("/orders/" + o.OrderID),
			}}}, nil

	case contracts.EventReturnRequested:
		var r contracts.ReturnEvent
		if err := decode(ev, &r, &r.ReturnID, &r.OrderID, &r.SellerID); err != nil {
			return nil, err
		}
		return []delivery{{UserID: r.SellerID, Kind: contracts.KindReturnRequest, Data: returnData(r), Msg: message{
			Subject: fmt.Sprintf("Return requested for order #%s: %s", shortID(r.OrderID), formatMoney(r.Amount)),
			Title:   "Return requested",
			Intro: fmt.Sprintf("A customer asks to return %s of order #%s (%s). Please approve or reject the request.",
				plural(itemCount(r.Items), "item", "items"), shortID(r.OrderID), formatMoney(r.Amount)),
			Lines: []string{"Reason: " + r.Reason},
			Order: view(r.OrderID, r.Items, r.Amount, "To refund"),
			Link:  link("/seller/returns"),
		}}}, nil

	case contracts.EventReturnApproved, contracts.EventReturnRejected:
		var r contracts.ReturnEvent
		if err := decode(ev, &r, &r.ReturnID, &r.OrderID, &r.UserID); err != nil {
			return nil, err
		}
		m := message{
			Subject: fmt.Sprintf("Your return for order #%s was approved", shortID(r.OrderID)),
			Title:   "Return approved",
			Intro:   fmt.Sprintf("Your return of %s from order #%s was approved. We are refunding %s.", plural(itemCount(r.Items), "item", "items"), shortID(r.OrderID), formatMoney(r.Amount)),
			Order:   view(r.OrderID, r.Items, r.Amount, "To refund"),
			Link:    link("/orders/" + r.OrderID),
		}
		if ev.Type == contracts.EventReturnRejected {
			m.Subject = fmt.Sprintf("Your return for order #%s was not accepted", shortID(r.OrderID))
			m.Title = "Return rejected"
			m.Intro = fmt.Sprintf("Your return of %s from order #%s was not accepted.", plural(itemCount(r.Items), "item", "items"), shortID(r.OrderID))
			m.Order.Label = "Not refunded"
		}
		if r.Note != "" {
			m.Lines = append(m.Lines, "The seller's note: "+r.Note)
		}
		return []delivery{{UserID: r.UserID, Kind: contracts.KindReturnDecided, Data: with(returnData(r), "status", r.Status), Msg: m}}, nil

	case contracts.EventReviewCreated:
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
				Link:    link("/products/" + r.ProductID),
			}}}, nil

	case contracts.EventCommentCreated:
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
				Link:    link("/products/" + c.ProductID),
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
				Link:    link("/products/" + c.ProductID),
			}})
		}
		return out, nil

	case contracts.EventUserRegistered:
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
			Link:    link("/"),
		}}}, nil
	}
	return nil, nil
}

func titled(t string) string {
	if t == "" {
		return ""
	}
	return fmt.Sprintf(": “%s”", t)
}

// decode decodes ev's data into v and checks that the named ids are UUIDs.
func decode(ev contracts.Event, v any, ids ...*string) error {
	if err := ev.Decode(v); err != nil {
		return bus.Permanent(err)
	}
	for _, id := range ids {
		if err := checkUUID("id", *id); err != nil {
			return err
		}
	}
	return nil
}

func returnData(r contracts.ReturnEvent) map[string]any {
	return map[string]any{"order_id": r.OrderID, "return_id": r.ReturnID, "total": r.Amount}
}

func orderData(orderID string, total contracts.Money) map[string]any {
	return map[string]any{"order_id": orderID, "total": total}
}

func with(m map[string]any, k string, v any) map[string]any {
	if v != "" {
		m[k] = v
	}
	return m
}

// Email templates: one layout for every kind; the order table appears when
// the message has an order.
var (
	textTmpl = texttemplate.Must(texttemplate.New("text").Parse(`{{.Title}}

{{.Intro}}
{{range .Lines}}
{{.}}{{end}}
{{with .Order}}
Order {{.ID}}
{{range .Items}}
  {{.Quantity}} × {{.Name}} @ {{.UnitPrice}} = {{.LineTotal}}{{end}}

{{.Label}}: {{.Total}}
{{end}}
{{if .Link}}See it at {{.Link}}
{{end}}
-- 
OpenCommerce. You can choose which emails you get in your notification preferences.
`))
	htmlTmpl = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family:sans-serif;color:#222;max-width:600px;margin:auto">
<h2>{{.Title}}</h2>
<p>{{.Intro}}</p>
{{range .Lines}}<p>{{.}}</p>
{{end}}{{with .Order}}<table style="border-collapse:collapse;width:100%" cellpadding="6">
<thead><tr><th align="left">Item</th><th align="right">Qty</th><th align="right">Price</th><th align="right">Total</th></tr></thead>
<tbody>
{{range .Items}}<tr><td>{{.Name}}</td><td align="right">{{.Quantity}}</td><td align="right">{{.UnitPrice}}</td><td align="right">{{.LineTotal}}</td></tr>
{{end}}</tbody>
<tfoot><tr><td colspan="3" align="right"><strong>{{.Label}}</strong></td><td align="right"><strong>{{.Total}}</strong></td></tr></tfoot>
</table>
<p style="color:#666;font-size:small">Order {{.ID}}</p>
{{end}}{{if .Link}}<p><a href="{{.Link}}">Open in OpenCommerce</a></p>
{{end}}<hr><p style="color:#666;font-size:small">You can choose which emails you get in your notification preferences.</p>
</body></html>
`))
)

// render returns the email's plain-text and HTML bodies.
func render(m message) (text, html string, err error) {
	var tb, hb bytes.Buffer
	if err := textTmpl.Execute(&tb, m); err != nil {
		return "", "", err
	}
	if err := htmlTmpl.Execute(&hb, m); err != nil {
		return "", "", err
	}
	return tb.String(), hb.String(), nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("{}")
	}
	return b
}
