package notify

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
)

func TestFormatMoney(t *testing.T) {
	for _, tc := range []struct {
		in   contracts.Money
		want string
	}{
		{contracts.USD(0), "$0.00"},
		{contracts.USD(5), "$0.05"},
		{contracts.USD(127454), "$1,274.54"},
		{contracts.USD(-1999), "-$19.99"},
		{contracts.Money{Amount: 123456789, Currency: "EUR"}, "€1,234,567.89"},
		{contracts.Money{Amount: 500, Currency: "JPY"}, "¥500"},
		{contracts.Money{Amount: 12345, Currency: "KWD"}, "12.345 KWD"},
		{contracts.Money{Amount: 100, Currency: "chf"}, "1.00 CHF"},
	} {
		if got := formatMoney(tc.in); got != tc.want {
			t.Errorf("formatMoney(%+v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	lo, hi := 100*time.Millisecond, 2*time.Second
	prev := time.Duration(0)
	for attempt := 1; attempt <= 20; attempt++ {
		d := backoff(lo, hi, attempt)
		if d < lo*8/10 || d > hi {
			t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, lo*8/10, hi)
		}
		if attempt <= 4 && d < prev*8/10 {
			t.Fatalf("attempt %d: %v shrank from %v", attempt, d, prev)
		}
		prev = d
	}
}

// The built message is valid MIME: multipart/alternative with a text and
// an HTML part that decode back to the bodies, a Message-ID from the row
// id and an encoded UTF-8 subject.
func TestBuildMessage(t *testing.T) {
	c := &Core{cfg: DefaultConfig()}
	m, err := newMailer(c)
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	text, html, err := render(message{Title: "Payment confirmed", Intro: "Crème brûlée ×2 = €9.98", Order: &orderView{ID: "o1", Total: "€9.98", Label: "Total",
		Items: []itemView{{Name: "<b>Crème</b>", Quantity: 2, UnitPrice: "€4.99", LineTotal: "€9.98"}}}})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := m.build(Outgoing{ID: id, To: "a@example.com", Subject: "Paiement confirmé", Text: text, HTML: html, Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get("Message-ID"); got != "<"+id.String()+"@opencommerce.local>" {
		t.Fatalf("Message-ID %q", got)
	}
	if subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); subj != "Paiement confirmé" {
		t.Fatalf("subject %q", subj)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q %v", mt, err)
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	var parts []string
	for {
		p, err := r.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		parts = append(parts, p.Header.Get("Content-Type")+"\n"+string(b))
	}
	if len(parts) != 2 || !strings.HasPrefix(parts[0], "text/plain") || !strings.HasPrefix(parts[1], "text/html") {
		t.Fatalf("parts: %q", parts)
	}
	if !strings.Contains(parts[0], "2 × <b>Crème</b> @ €4.99 = €9.98") {
		t.Fatalf("text part: %s", parts[0])
	}
	if !strings.Contains(parts[1], "&lt;b&gt;Crème&lt;/b&gt;") {
		t.Fatalf("HTML part does not escape names: %s", parts[1])
	}
}

func TestMalformedEventsArePermanent(t *testing.T) {
	c := &Core{cfg: DefaultConfig()}
	for _, ev := range []contracts.Event{
		{ID: "1", Type: contracts.EventOrderPaid, Data: []byte(`{"order_id":"x","user_id":"y"}`)},
		{ID: "2", Type: contracts.EventOrderPlaced, Data: []byte(`[1,2]`)},
		{ID: "3", Type: contracts.EventUserRegistered, Data: []byte(`{"user_id":"not-a-uuid"}`)},
	} {
		if _, err := c.deliveries(ev); err == nil || !strings.Contains(err.Error(), "invalid_argument") {
			t.Errorf("%s %s: err %v, want a permanent invalid_argument", ev.Type, ev.Data, err)
		}
	}
	if d, err := c.deliveries(contracts.Event{ID: "4", Type: "file.uploaded", Data: []byte(`{}`)}); err != nil || d != nil {
		t.Errorf("unrelated event: %v %v", d, err)
	}
}

func TestRetentionConfigChecked(t *testing.T) {
	for name, f := range map[string]func(*Config){
		"negative retention":       func(c *Config) { c.Retention = -time.Hour },
		"negative email retention": func(c *Config) { c.EmailRetention = -time.Hour },
		"zero interval":            func(c *Config) { c.RetentionInterval = 0 },
	} {
		c := DefaultConfig()
		f(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "retention") {
			t.Errorf("%s: Validate = %v, want an error naming the retention flag", name, err)
		}
	}
	c := DefaultConfig()
	c.Retention, c.EmailRetention = 0, 0 // keep for ever
	if err := c.Validate(); err != nil {
		t.Fatalf("retention 0 (keep for ever) refused: %v", err)
	}
}

func TestV7Floor(t *testing.T) {
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	before, after := V7At(at.Add(-time.Millisecond)), V7At(at)
	if before.Version() != 7 || after.Version() != 7 {
		t.Fatalf("not v7: %s %s", before, after)
	}
	floor := v7Floor(at)
	if bytes.Compare(before[:], floor[:]) >= 0 || bytes.Compare(after[:], floor[:]) < 0 {
		t.Fatalf("floor %s does not separate %s (before) from %s (at)", floor, before, after)
	}
}

// V7At returns a UUIDv7 with the timestamp of at and random low bits
// (exported for the package's external tests).
func V7At(at time.Time) uuid.UUID {
	u := uuid.New()
	ms := uint64(at.UnixMilli())
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	u[6] = 0x70 | u[6]&0x0f
	return u
}

func TestUnsubscribeToken(t *testing.T) {
	key, other := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	user := uuid.New()
	tok := unsubscribeToken(key, user, contracts.KindOrderShipped)
	u, kind, err := parseUnsubscribeToken(key, tok)
	if err != nil || u != user || kind != contracts.KindOrderShipped {
		t.Fatalf("round trip: %v %q %v", u, kind, err)
	}
	// Another kind or user under the same signature, another key, a cut
	// token, an unknown kind: all refused.
	p, sig, _ := strings.Cut(tok, ".")
	swapped := strings.Split(unsubscribeToken(key, user, contracts.KindNewReview), ".")[0] + "." + sig
	for name, bad := range map[string]string{
		"other kind":   swapped,
		"other key":    unsubscribeToken(other, user, contracts.KindOrderShipped),
		"cut":          tok[:len(tok)-3],
		"no signature": p,
		"unknown kind": unsubscribeToken(key, user, "marketing_blast"),
	} {
		if _, _, err := parseUnsubscribeToken(key, bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := decodeUnsubscribeKey("c2hvcnQ="); err == nil {
		t.Error("a 5-byte key accepted")
	}
}

// An email of a notification kind carries RFC 8058's one-click pair and the
// same link in both bodies; an email of no kind carries none.
func TestBuildMessageUnsubscribe(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ShopURL = "https://shop.example.com/"
	c := &Core{cfg: cfg, unsubKey: bytes.Repeat([]byte{7}, 32)}
	m, err := newMailer(c)
	if err != nil {
		t.Fatal(err)
	}
	user := uuid.New()
	raw, err := m.build(Outgoing{ID: uuid.New(), UserID: user, Kind: contracts.KindOrderPaid, To: "a@example.com",
		Subject: "Paid", Text: "Thanks", HTML: "<html><body><p>Thanks</p></body></html>", Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	want := "https://shop.example.com/api/v1/notifications/unsubscribe?token=" + unsubscribeToken(c.unsubKey, user, contracts.KindOrderPaid)
	if got := msg.Header.Get("List-Unsubscribe"); got != "<"+want+">" {
		t.Fatalf("List-Unsubscribe %q, want <%s>", got, want)
	}
	if got := msg.Header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Fatalf("List-Unsubscribe-Post %q", got)
	}
	body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if strings.Count(string(body), "unsubscribe?token=") < 2 {
		t.Fatalf("the link is not in both bodies:\n%s", body)
	}
	raw, err = m.build(Outgoing{ID: uuid.New(), To: "a@example.com", Subject: "x", Text: "x", HTML: "x", Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "List-Unsubscribe") {
		t.Fatal("an email of no kind got an unsubscribe link")
	}
}

// Shipments and returns: each shipment tells the buyer what is in that
// parcel; a return request goes to its seller, the decision to the buyer.
func TestShipmentAndReturnMessages(t *testing.T) {
	c := &Core{cfg: DefaultConfig()}
	buyer, seller, other := uuid.NewString(), uuid.NewString(), uuid.NewString()
	order, ret := uuid.NewString(), uuid.NewString()
	kettle := contracts.OrderEventItem{ProductID: uuid.NewString(), Quantity: 1, Name: "Kettle", UnitPrice: contracts.USD(2000), SellerID: seller}
	event := func(typ string, data any) contracts.Event {
		return contracts.Event{ID: uuid.NewString(), Type: typ, OccurredAt: time.Now().UTC(), Data: mustJSON(data)}
	}
	one := func(ev contracts.Event) delivery {
		t.Helper()
		ds, err := c.deliveries(ev)
		if err != nil || len(ds) != 1 {
			t.Fatalf("%s: %d deliveries, %v", ev.Type, len(ds), err)
		}
		return ds[0]
	}

	d := one(event(contracts.EventOrderShipped, contracts.OrderShipped{OrderID: order, UserID: buyer, ShipmentID: ret, SellerID: seller,
		Status: contracts.OrderStatusPartiallyShipped, Carrier: "DHL", TrackingNumber: "JD1", Total: contracts.USD(9000),
		Items: []contracts.OrderEventItem{kettle}, SellerIDs: []string{seller, other}}))
	if d.UserID != buyer || d.Kind != contracts.KindOrderShipped || !strings.Contains(d.Msg.Subject, "Part of your order") ||
		d.Msg.Order.Total != "$20.00" || len(d.Msg.Order.Items) != 1 || d.Data["tracking_number"] != "JD1" {
		t.Errorf("partial shipment: %+v %+v", d, d.Msg.Order)
	}
	d = one(event(contracts.EventOrderDelivered, contracts.OrderDelivered{OrderID: order, UserID: buyer, ShipmentID: ret, SellerID: seller,
		Status: contracts.OrderStatusShipped, Carrier: "DHL", Total: contracts.USD(9000), Items: []contracts.OrderEventItem{kettle}}))
	if !strings.Contains(d.Msg.Subject, "A parcel") || d.Kind != contracts.KindOrderDelivered {
		t.Errorf("parcel delivered: %+v", d.Msg)
	}

	r := contracts.ReturnEvent{ReturnID: ret, OrderID: order, UserID: buyer, SellerID: seller, Status: contracts.ReturnRequested,
		Reason: "dented", Amount: contracts.USD(2000), Items: []contracts.OrderEventItem{kettle}}
	d = one(event(contracts.EventReturnRequested, r))
	if d.UserID != seller || d.Kind != contracts.KindReturnRequest || !strings.Contains(d.Msg.Subject, "$20.00") ||
		!strings.Contains(strings.Join(d.Msg.Lines, " "), "dented") || d.Data["return_id"] != ret {
		t.Errorf("return requested: %+v", d)
	}
	r.Status, r.Note = contracts.ReturnApproved, "sorry"
	d = one(event(contracts.EventReturnApproved, r))
	if d.UserID != buyer || d.Kind != contracts.KindReturnDecided || !strings.Contains(d.Msg.Title, "approved") ||
		!strings.Contains(d.Msg.Intro, "$20.00") || d.Data["status"] != contracts.ReturnApproved {
		t.Errorf("return approved: %+v", d)
	}
	r.Status = contracts.ReturnRejected
	d = one(event(contracts.EventReturnRejected, r))
	if d.UserID != buyer || !strings.Contains(d.Msg.Title, "rejected") || d.Msg.Order.Label != "Not refunded" {
		t.Errorf("return rejected: %+v", d.Msg)
	}
	if _, err := c.deliveries(event(contracts.EventReturnRequested, contracts.ReturnEvent{ReturnID: "x", OrderID: order, SellerID: seller})); err == nil {
		t.Error("a return event with a malformed id was accepted")
	}
}
