package notify

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

// ConsumedEvents are the routing keys of the events the domain handles
// (the service binds its queue to them).
var ConsumedEvents = []string{
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
