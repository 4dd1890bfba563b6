package e2e_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/platform"
	"github.com/opencommerce/opencommerce/platform/platformtest"
)

// Issue 7 through the gateway: notifications of an order's life stored,
// mailed (Mailpit) and pushed live over SSE and WebSocket, to the right
// users only; resuming a stream after Last-Event-ID; per-kind preferences;
// the refusals. The subtests share one platform and one Mailpit and run
// one after the other; each has its own accounts and products.
func TestNotification(t *testing.T) {
	t.Parallel()
	mp := startMailpit(t)
	env := startNotifyShop(t, mp.SMTP)
	c := newClient(t, env)
	adm := c.as(adminSession(c).Access)
	cat := newCategory(adm, "Teaware", "")

	t.Run("refusals and stream framing", func(t *testing.T) {
		c := c.with(t)
		buyer, bs := account(c, "")
		bearer := "Bearer " + bs.Access

		// No token, or a bad one: 401 before any stream opens.
		for _, path := range []string{"/notifications/stream", "/ws"} {
			wantError(t, streamStatus(t, c, path), http.StatusUnauthorized, string(contracts.CodeUnauthenticated))
			wantError(t, streamStatus(t, c, path, "Authorization", "Bearer not-a-token"), http.StatusUnauthorized, string(contracts.CodeUnauthenticated))
		}
		// A Last-Event-ID that is not a stream sequence: 400.
		for _, bad := range []string{"abc", "-1", "1.5", "99999999999999999999999"} {
			wantError(t, streamStatus(t, c, "/notifications/stream", "Authorization", bearer, "Last-Event-ID", bad),
				http.StatusBadRequest, string(contracts.CodeInvalidArgument))
			wantError(t, streamStatus(t, c, "/notifications/stream?last_event_id="+bad, "Authorization", bearer),
				http.StatusBadRequest, string(contracts.CodeInvalidArgument))
			wantError(t, streamStatus(t, c, "/ws?last_event_id="+bad, "Authorization", bearer),
				http.StatusBadRequest, string(contracts.CodeInvalidArgument))
		}
		// /ws without an upgrade is a bad request, not a hanging stream.
		wantError(t, streamStatus(t, c, "/ws", "Authorization", bearer), http.StatusBadRequest, string(contracts.CodeInvalidArgument))

		// The REST routes: signed-in only, bad filters and ids refused.
		anon := c.as("")
		wantError(t, anon.do("GET", "/notifications", nil), http.StatusUnauthorized, string(contracts.CodeUnauthenticated))
		wantError(t, anon.do("POST", "/notifications/read-all", nil), http.StatusUnauthorized, string(contracts.CodeUnauthenticated))
		wantError(t, anon.do("GET", "/notifications/preferences", nil), http.StatusUnauthorized, string(contracts.CodeUnauthenticated))
		wantError(t, buyer.do("GET", "/notifications?unread=maybe", nil), http.StatusBadRequest, string(contracts.CodeInvalidArgument))
		wantError(t, buyer.do("GET", "/notifications?cursor=zzzz", nil), http.StatusBadRequest, string(contracts.CodeInvalidArgument))
		wantError(t, buyer.do("POST", "/notifications/not-a-uuid/read", nil), http.StatusNotFound, string(contracts.CodeNotFound))
		wantError(t, buyer.do("POST", "/notifications/0190b5a2-7c1e-7f00-8000-000000000000/read", nil), http.StatusNotFound, string(contracts.CodeNotFound))

		// An open stream: SSE headers, the reconnection delay, heartbeats.
		s := openSSE(buyer, "")
		if ct := s.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			t.Errorf("stream Content-Type %q, want text/event-stream", ct)
		}
		if cc := s.Header.Get("Cache-Control"); !strings.Contains(cc, "no-cache") {
			t.Errorf("stream Cache-Control %q, want no-cache", cc)
		}
		if r, err := strconv.Atoi(s.Retry()); err != nil || r <= 0 {
			t.Errorf("stream retry field %q, want a positive number of milliseconds", s.Retry())
		}
		testenv.Eventually(t, "a heartbeat comment on an idle stream", func() bool { return s.Pings() >= 2 })
		s.Close()
		// An id past the stream's end (one from a stream since reset, up to
		// the largest) is a valid resume point: new messages only.
		for _, id := range []string{"1000000000", "18446744073709551615"} {
			openSSE(buyer, id).Close()
		}
		// Closed streams are noticed (a failed write, bounded by the
		// heartbeat) and released.
		testenv.Eventually(t, "closed streams released", func() bool {
			return metric(t, env, "oc_stream_clients", `kind="sse"`) == 0
		})
	})

	t.Run("a paid order notifies its buyer and seller, in app, by email and live, and nobody else", func(t *testing.T) {
		c := c.with(t)
		seller, ss := account(c, "seller")
		buyer, bs := account(c, "")
		stranger, xs := account(c, "")
		kettle := newProduct(seller, "Enamel Kettle", cat.ID, 2450, 5)

		// Streams opened before the checkout.
		bStream := openSSE(buyer, "")
		sStream := openSSE(seller, "")
		xStream := openSSE(stranger, "")
		bWS := openWS(buyer, env, 1, "")

		o := placeOrder(buyer, newKey(), checkoutOf(cardOK, line(kettle.ID, 2)))
		awaitOrder(buyer, o.ID, contracts.OrderStatusPaid)
		total := contracts.USD(4900)
		short := shortOrder(o)

		// The buyer's live stream: order received, then payment confirmed,
		// in order, with stream sequences as ids.
		bEvents := bStream.collect(t, o.ID, contracts.KindOrderPlaced, contracts.KindOrderPaid)
		placedEv := eventOf(bEvents, contracts.KindOrderPlaced, o.ID)
		paidEv := eventOf(bEvents, contracts.KindOrderPaid, o.ID)
		placedSeq, err1 := strconv.ParseUint(placedEv.ID, 10, 64)
		paidSeq, err2 := strconv.ParseUint(paidEv.ID, 10, 64)
		if err1 != nil || err2 != nil || placedSeq == 0 || paidSeq <= placedSeq {
			t.Errorf("event ids %q then %q: want increasing stream sequences", placedEv.ID, paidEv.ID)
		}
		if n := paidEv.Note; n.ID == "" || n.Title == "" || !strings.Contains(n.Body, "$49.00") || n.Read ||
			n.Total != (money{Amount: total.Amount, Currency: total.Currency}) || n.CreatedAt.IsZero() {
			t.Errorf("pushed order_paid = %+v (data %s), want a titled unread notification of $49.00", n, n.Data)
		}

		// The same notification is stored: listed, unread.
		stored := findNote(notes(buyer, ""), contracts.KindOrderPaid, o.ID)
		if stored == nil {
			t.Fatalf("order_paid pushed but not listed")
		}
		if stored.ID != paidEv.Note.ID || stored.Title != paidEv.Note.Title || stored.Body != paidEv.Note.Body || stored.Read {
			t.Errorf("listed %+v, pushed %+v: want the same unread notification", stored.Notification, paidEv.Note.Notification)
		}
		if findNote(notes(buyer, "?unread=true"), contracts.KindOrderPaid, o.ID) == nil {
			t.Errorf("order_paid missing from the unread list")
		}

		// The WebSocket opened before the checkout gets the same message.
		m, wn := bWS.await(t, contracts.KindOrderPaid, o.ID)
		if m.ID != paidEv.ID || m.Type != "notification" || wn.ID != paidEv.Note.ID || wn.Body != paidEv.Note.Body {
			t.Errorf("WebSocket message %s %s %+v, SSE id %s %+v: want the same", m.ID, m.Type, wn.Notification, paidEv.ID, paidEv.Note.Notification)
		}

		// The buyer's email names the order and its total.
		ml := mp.awaitMail(t, bs.Email, "Payment confirmed", short)
		if !strings.Contains(ml.Subject, "$49.00") || !strings.Contains(ml.Text, "Total paid: $49.00") ||
			!strings.Contains(ml.Text, "Enamel Kettle") || !strings.Contains(ml.HTML, "$49.00") {
			t.Errorf("payment email %q:\n%s", ml.Subject, ml.Text)
		}

		// The seller: a new order to ship, live, stored and mailed; none of
		// the buyer's notifications.
		sEvents := sStream.collect(t, o.ID, contracts.KindNewOrder)
		newOrder := awaitNote(seller, contracts.KindNewOrder, o.ID)
		if sev := eventOf(sEvents, contracts.KindNewOrder, o.ID); sev.Note.ID != newOrder.ID ||
			newOrder.Total != (money{Amount: 4900, Currency: "USD"}) || !strings.Contains(newOrder.Body, short) {
			t.Errorf("seller's new_order listed %+v, pushed %+v", newOrder.Notification, sev.Note.Notification)
		}
		mp.awaitMail(t, ss.Email, "New order", short, "$49.00")
		for _, n := range notes(seller, "") {
			if n.OrderID == o.ID && n.Kind != contracts.KindNewOrder {
				t.Errorf("seller got the buyer's %s", n.Kind)
			}
		}
		if findNote(notes(buyer, ""), contracts.KindNewOrder, o.ID) != nil {
			t.Errorf("buyer got the seller's new_order")
		}

		// Pages, newest first.
		var pages []contracts.Notification
		for cursor, i := "", 0; i < 2; i++ {
			page := decode[contracts.List[contracts.Notification]](t, buyer.must(http.StatusOK, "GET", "/notifications"+query("limit", "1", "cursor", cursor), nil))
			if len(page.Items) != 1 || page.NextCursor == "" {
				t.Fatalf("page %d with limit 1: %d items, next_cursor %q", i, len(page.Items), page.NextCursor)
			}
			pages, cursor = append(pages, page.Items[0]), page.NextCursor
		}
		if pages[0].ID != paidEv.Note.ID || pages[1].ID != placedEv.Note.ID {
			t.Errorf("first two pages %s, %s; want order_paid then order_placed", pages[0].Kind, pages[1].Kind)
		}

		// Marking read: owner only (another user gets 404 and changes
		// nothing), idempotent, then all at once.
		wantError(t, stranger.do("POST", "/notifications/"+paidEv.Note.ID+"/read", nil), http.StatusNotFound, string(contracts.CodeNotFound))
		wantError(t, seller.do("POST", "/notifications/"+paidEv.Note.ID+"/read", nil), http.StatusNotFound, string(contracts.CodeNotFound))
		if findNote(notes(buyer, "?unread=true"), contracts.KindOrderPaid, o.ID) == nil {
			t.Errorf("another user's read request marked the buyer's notification read")
		}
		buyer.must(http.StatusNoContent, "POST", "/notifications/"+paidEv.Note.ID+"/read", nil)
		buyer.must(http.StatusNoContent, "POST", "/notifications/"+paidEv.Note.ID+"/read", nil)
		if findNote(notes(buyer, "?unread=true"), contracts.KindOrderPaid, o.ID) != nil {
			t.Errorf("order_paid still unread after POST read")
		}
		if n := findNote(notes(buyer, ""), contracts.KindOrderPaid, o.ID); n == nil || !n.Read {
			t.Errorf("order_paid after POST read: %+v, want listed and read", n)
		}
		if findNote(notes(buyer, "?unread=true"), contracts.KindOrderPlaced, o.ID) == nil {
			t.Errorf("marking order_paid read also marked order_placed")
		}
		buyer.must(http.StatusNoContent, "POST", "/notifications/read-all", nil)
		if u := notes(buyer, "?unread=true"); len(u) != 0 {
			t.Errorf("unread after read-all: %v", kinds(u))
		}
		for _, n := range notes(buyer, "") {
			if !n.Read {
				t.Errorf("%s not read after read-all", n.Kind)
			}
		}
		if findNote(notes(seller, "?unread=true"), contracts.KindNewOrder, o.ID) == nil {
			t.Errorf("the buyer's read-all marked the seller's notification read")
		}

		// The stranger's stream got nothing of it. Barrier: the stranger's
		// own order, pushed after the buyer's (the push outbox keeps
		// creation order and the stream delivers in sequence order).
		own := placeOrder(stranger, newKey(), checkoutOf(cardOK, line(kettle.ID, 1)))
		xEvents := xStream.collect(t, own.ID, contracts.KindOrderPlaced)
		xNotes := notes(stranger, "")
		mine := map[string]bool{}
		for _, n := range xNotes {
			mine[n.ID] = true
		}
		for _, ev := range xEvents {
			if ev.Event != "notification" {
				continue
			}
			if ev.Note.OrderID == o.ID || !mine[ev.Note.ID] {
				t.Errorf("stranger's stream got %s %s about order %s, not theirs", ev.ID, ev.Note.Kind, ev.Note.OrderID)
			}
		}
		for _, n := range xNotes {
			if n.OrderID == o.ID {
				t.Errorf("stranger has the buyer's %s", n.Kind)
			}
		}
		if got := mp.mailsAbout(t, xs.Email, short); len(got) != 0 {
			t.Errorf("stranger was mailed about the buyer's order: %q", got[0].Subject)
		}

		// Everything each stream carried belongs to its user.
		for _, tc := range []struct {
			who    string
			c      *client
			events []sseEvent
		}{{"buyer", buyer, append(bEvents, bStream.pending()...)}, {"seller", seller, append(sEvents, sStream.pending()...)}} {
			ids := map[string]bool{}
			for _, n := range notes(tc.c, "") {
				ids[n.ID] = true
			}
			for _, ev := range tc.events {
				if ev.Event == "notification" && !ids[ev.Note.ID] {
					t.Errorf("%s's stream carried %s %s, not theirs", tc.who, ev.Note.Kind, ev.Note.ID)
				}
			}
		}
	})

	t.Run("a declined payment tells the buyer why and how to pay again, and the seller nothing", func(t *testing.T) {
		c := c.with(t)
		seller, ss := account(c, "seller")
		buyer, bs := account(c, "")
		tray := newProduct(seller, "Bamboo Tray", cat.ID, 3100, 5)
		bStream := openSSE(buyer, "")
		sStream := openSSE(seller, "")

		o := placeOrder(buyer, newKey(), checkoutOf(cardDeclined, line(tray.ID, 1)))
		awaitOrder(buyer, o.ID, contracts.OrderStatusAwaitingPayment)
		evs := bStream.collect(t, o.ID, contracts.KindOrderPlaced, contracts.KindPaymentFailed)
		declined := eventOf(evs, contracts.KindPaymentFailed, o.ID)
		var data struct {
			Reason string `json:"reason"`
			Number string `json:"order_number"`
		}
		if err := json.Unmarshal(declined.Note.Data, &data); err != nil || data.Reason != contracts.ReasonPaymentDeclined ||
			data.Number != o.Number || !strings.Contains(declined.Note.Body, "declined") {
			t.Errorf("payment_failed = %+v (data %s), want the payment_declined reason and the order number", declined.Note.Notification, declined.Note.Data)
		}
		if eventOf(evs, contracts.KindOrderPaid, o.ID) != nil {
			t.Errorf("a declined order was announced paid")
		}
		m := mp.awaitMail(t, bs.Email, "Payment declined", shortOrder(o))
		if !strings.Contains(m.Text, "pay with another card") {
			t.Errorf("payment declined mail does not say how to keep the order:\n%s", m.Text)
		}

		// The seller had nothing to ship. Barrier: a paid order of the
		// same seller, pushed after.
		paid := placeOrder(buyer, newKey(), checkoutOf(cardOK, line(tray.ID, 1)))
		sEvents := sStream.collect(t, paid.ID, contracts.KindNewOrder)
		for _, ev := range sEvents {
			if ev.Note.OrderID == o.ID {
				t.Errorf("seller notified (%s) of the declined order", ev.Note.Kind)
			}
		}
		for _, n := range notes(seller, "") {
			if n.OrderID == o.ID {
				t.Errorf("seller has %s about the declined order", n.Kind)
			}
		}
		mp.awaitMail(t, ss.Email, "New order", shortOrder(paid))
		if got := mp.mailsAbout(t, ss.Email, shortOrder(o)); len(got) != 0 {
			t.Errorf("seller mailed about the declined order: %q", got[0].Subject)
		}
	})

	t.Run("a stream resumed with Last-Event-ID gets what it missed, once", func(t *testing.T) {
		c := c.with(t)
		seller, _ := account(c, "seller")
		buyer, _ := account(c, "")
		pot := newProduct(seller, "Clay Teapot", cat.ID, 1800, 10)

		s1 := openSSE(buyer, "")
		o1 := placeOrder(buyer, newKey(), checkoutOf(cardOK, line(pot.ID, 1)))
		awaitOrder(buyer, o1.ID, contracts.OrderStatusPaid)
		seen1 := s1.collect(t, o1.ID, contracts.KindOrderPlaced, contracts.KindOrderPaid)
		s1.Close()
		last := maxSeq(seen1)
		before := map[string]bool{}
		for _, ev := range seen1 {
			before[ev.Note.ID] = ev.Event == "notification"
		}
		lastID := strconv.FormatUint(last, 10)

		// While disconnected: a second order, paid and stored.
		o2 := placeOrder(buyer, newKey(), checkoutOf(cardOK, line(pot.ID, 2)))
		awaitOrder(buyer, o2.ID, contracts.OrderStatusPaid)
		awaitNote(buyer, contracts.KindOrderPaid, o2.ID)

		// Reconnecting after the last id seen delivers the missed ones; a
		// third order, live, is the barrier that shows nothing comes twice.
		s2 := openSSE(buyer, lastID)
		got := s2.collect(t, o2.ID, contracts.KindOrderPlaced, contracts.KindOrderPaid)
		o3 := placeOrder(buyer, newKey(), checkoutOf(cardOK, line(pot.ID, 1)))
		got = append(got, s2.collect(t, o3.ID, contracts.KindOrderPlaced, contracts.KindOrderPaid)...)
		checkOnce(t, got, last, before)
		for _, want := range []struct{ kind, order string }{
			{contracts.KindOrderPlaced, o2.ID}, {contracts.KindOrderPaid, o2.ID},
			{contracts.KindOrderPlaced, o3.ID}, {contracts.KindOrderPaid, o3.ID},
		} {
			stored := findNote(notes(buyer, ""), want.kind, want.order)
			ev := eventOf(got, want.kind, want.order)
			if stored == nil || ev == nil || stored.ID != ev.Note.ID {
				t.Errorf("%s of %s: stored %v, resumed stream %v", want.kind, want.order, stored, ev)
			}
		}
		if eventOf(got, contracts.KindOrderPaid, o1.ID) != nil || eventOf(got, contracts.KindOrderPlaced, o1.ID) != nil {
			t.Errorf("the resumed stream repeated order %s, seen before the disconnect", o1.ID)
		}

		// A WebSocket resumes the same way (last_event_id): the same
		// messages with the same ids.
		ws := openWS(buyer, env, 1, lastID)
		for _, k := range []string{contracts.KindOrderPlaced, contracts.KindOrderPaid} {
			m, n := ws.await(t, k, o2.ID)
			if ev := eventOf(got, k, o2.ID); m.ID != ev.ID || n.ID != ev.Note.ID {
				t.Errorf("resumed WebSocket %s: id %s notification %s; SSE id %s notification %s", k, m.ID, n.ID, ev.ID, ev.Note.ID)
			}
		}
	})

	t.Run("preferences: email off for a kind stops its email, in-app still arrives", func(t *testing.T) {
		c := c.with(t)
		seller, ss := account(c, "seller")
		buyer, bs := account(c, "")
		other, _ := account(c, "")
		cups := newProduct(seller, "Porcelain Cups", cat.ID, 1200, 10)

		type prefs = contracts.NotificationPreferences
		p := decode[prefs](t, buyer.must(http.StatusOK, "GET", "/notifications/preferences", nil))
		if len(p.Kinds) != len(contracts.NotificationKinds) {
			t.Errorf("preferences list %d kinds, want every one of %v", len(p.Kinds), contracts.NotificationKinds)
		}
		if p.Kinds[contracts.KindOrderPaid] != (contracts.ChannelPreferences{InApp: true, Email: true}) ||
			p.Kinds[contracts.KindNewReview] != (contracts.ChannelPreferences{InApp: true, Email: false}) {
			t.Errorf("default preferences %+v", p.Kinds)
		}

		// Refusals change nothing.
		for _, body := range []any{
			map[string]any{"kinds": map[string]any{"no_such_kind": map[string]bool{"email": false}}},
			map[string]any{},
			"not json",
			map[string]any{"kinds": map[string]any{contracts.KindOrderPaid: map[string]any{"email": "no"}}},
		} {
			wantError(t, buyer.do("PUT", "/notifications/preferences", body), http.StatusBadRequest, string(contracts.CodeInvalidArgument))
		}
		if got := decode[prefs](t, buyer.must(http.StatusOK, "GET", "/notifications/preferences", nil)); got.Kinds[contracts.KindOrderPaid] != p.Kinds[contracts.KindOrderPaid] {
			t.Errorf("a refused update changed order_paid to %+v", got.Kinds[contracts.KindOrderPaid])
		}

		// Email off for order_paid only.
		off := map[string]any{"kinds": map[string]any{contracts.KindOrderPaid: map[string]bool{"email": false}}}
		p = decode[prefs](t, buyer.must(http.StatusOK, "PUT", "/notifications/preferences", off))
		if p.Kinds[contracts.KindOrderPaid] != (contracts.ChannelPreferences{InApp: true, Email: false}) ||
			p.Kinds[contracts.KindOrderPlaced] != (contracts.ChannelPreferences{InApp: true, Email: true}) {
			t.Errorf("after email off for order_paid: %+v", p.Kinds)
		}
		if got := decode[prefs](t, buyer.must(http.StatusOK, "GET", "/notifications/preferences", nil)); got.Kinds[contracts.KindOrderPaid] != p.Kinds[contracts.KindOrderPaid] {
			t.Errorf("GET after PUT: order_paid %+v", got.Kinds[contracts.KindOrderPaid])
		}
		if got := decode[prefs](t, other.must(http.StatusOK, "GET", "/notifications/preferences", nil)); !got.Kinds[contracts.KindOrderPaid].Email {
			t.Errorf("another user's order_paid email changed too: %+v", got.Kinds[contracts.KindOrderPaid])
		}

		s := openSSE(buyer, "")
		o := placeOrder(buyer, newKey(), checkoutOf(cardOK, line(cups.ID, 2)))
		awaitOrder(buyer, o.ID, contracts.OrderStatusPaid)
		short := shortOrder(o)
		// In-app (stored and pushed) still arrives.
		s.collect(t, o.ID, contracts.KindOrderPlaced, contracts.KindOrderPaid)
		awaitNote(buyer, contracts.KindOrderPaid, o.ID)
		// order_placed still mails; the seller's new_order, queued in the
		// same transaction as the buyer's payment email would have been
		// and sent after it, is the barrier for "no payment email".
		mp.awaitMail(t, bs.Email, "We received your order", short)
		mp.awaitMail(t, ss.Email, "New order", short)
		if got := mp.mailsAbout(t, bs.Email, "Payment confirmed", short); len(got) != 0 {
			t.Errorf("payment email sent with email off for order_paid: %q", got[0].Subject)
		}
		if n := emailRows(t, env, bs.ID, contracts.KindOrderPaid); n != 0 {
			t.Errorf("%d order_paid emails queued with email off", n)
		}

		// Back on: the next payment mails again.
		on := map[string]any{"kinds": map[string]any{contracts.KindOrderPaid: map[string]bool{"email": true}}}
		buyer.must(http.StatusOK, "PUT", "/notifications/preferences", on)
		o2 := placeOrder(buyer, newKey(), checkoutOf(cardOK, line(cups.ID, 1)))
		awaitOrder(buyer, o2.ID, contracts.OrderStatusPaid)
		mp.awaitMail(t, bs.Email, "Payment confirmed", shortOrder(o2), "$12.00")
	})
}

// checkOnce checks a resumed stream's events: every notification after
// the resume point last, none seen before the disconnect (before), no
// notification or sequence twice, sequences increasing.
func checkOnce(t *testing.T, evs []sseEvent, last uint64, before map[string]bool) {
	t.Helper()
	seqs, ids := map[uint64]bool{}, map[string]bool{}
	prev := last
	for _, ev := range evs {
		if ev.Event != "notification" {
			continue
		}
		seq, err := strconv.ParseUint(ev.ID, 10, 64)
		switch {
		case err != nil:
			t.Errorf("event id %q is not a sequence", ev.ID)
		case seq <= last:
			t.Errorf("resumed after %d, got %d (%s)", last, seq, ev.Note.Kind)
		case seq <= prev || seqs[seq]:
			t.Errorf("sequence %d after %d: out of order or repeated", seq, prev)
		}
		if before[ev.Note.ID] {
			t.Errorf("%s %s was delivered before the disconnect and again after", ev.Note.Kind, ev.Note.ID)
		}
		if ids[ev.Note.ID] {
			t.Errorf("%s %s delivered twice", ev.Note.Kind, ev.Note.ID)
		}
		seqs[seq], ids[ev.Note.ID] = true, true
		prev = max(prev, seq)
	}
}

// Two gateway instances on one broker and one NATS: the second runs only
// the gateway and uses the first's services through the shared vhost, as
// a scaled-out deployment does. A user's stream on either instance gets
// what an action through the other caused, with the same ids, and a
// stream resumes on the other instance after the last id it saw.
func TestNotificationTwoGateways(t *testing.T) {
	t.Parallel()
	mp := startMailpit(t)
	a := startNotifyShop(t, mp.SMTP)
	b := platformtest.Start(t, platformtest.Options{Targets: "gateway", AMQPURL: a.AMQPURL, WideRateLimits: true, Tweak: func(c *platform.Config) {
		c.NATS.URL, c.NATS.Prefix = a.Config.NATS.URL, a.Config.NATS.Prefix
		c.Services.Stream.Heartbeat = streamHeartbeat
	}})
	if a.BaseURL == b.BaseURL {
		t.Fatalf("both platforms serve %s", a.BaseURL)
	}
	ca, cb := newClient(t, a), newClient(t, b)
	cat := newCategory(ca.as(adminSession(ca).Access), "Glassware", "")
	sellerA, ss := account(ca, "seller")
	buyerB, bs := account(cb, "") // registered through B
	buyerA := ca.as(bs.Access)
	sellerB := cb.as(ss.Access)
	jar := newProduct(sellerA, "Glass Jar", cat.ID, 750, 10)

	onB := openSSE(buyerB, "")
	onA := openSSE(buyerA, "")
	wsB := openWS(buyerB, b, 1, "")
	sellerOnB := openSSE(sellerB, "")

	// Checkout through A; the buyer's streams on both instances get it.
	o := placeOrder(buyerA, newKey(), checkoutOf(cardOK, line(jar.ID, 2)))
	awaitOrder(buyerA, o.ID, contracts.OrderStatusPaid)
	evB := onB.collect(t, o.ID, contracts.KindOrderPlaced, contracts.KindOrderPaid)
	evA := onA.collect(t, o.ID, contracts.KindOrderPlaced, contracts.KindOrderPaid)
	for _, k := range []string{contracts.KindOrderPlaced, contracts.KindOrderPaid} {
		x, y := eventOf(evA, k, o.ID), eventOf(evB, k, o.ID)
		if x.ID != y.ID || x.Note.ID != y.Note.ID || x.Data != y.Data {
			t.Errorf("%s on A: %s %s; on B: %s %s; want the same message", k, x.ID, x.Data, y.ID, y.Data)
		}
	}
	if m, n := wsB.await(t, contracts.KindOrderPaid, o.ID); m.ID != eventOf(evB, contracts.KindOrderPaid, o.ID).ID || n.Body == "" {
		t.Errorf("WebSocket on B: %s %+v", m.ID, n.Notification)
	}
	sellerOnB.collect(t, o.ID, contracts.KindNewOrder)
	mp.awaitMail(t, bs.Email, "Payment confirmed", shortOrder(o), "$15.00")

	// The stream on B ends; a checkout through B while it is away; the
	// client resumes on A after the last id B gave it.
	onB.Close()
	lastB := maxSeq(evB)
	o2 := placeOrder(buyerB, newKey(), checkoutOf(cardOK, line(jar.ID, 1)))
	awaitOrder(buyerB, o2.ID, contracts.OrderStatusPaid)
	resumed := openSSE(buyerA, strconv.FormatUint(lastB, 10))
	got := resumed.collect(t, o2.ID, contracts.KindOrderPlaced, contracts.KindOrderPaid)
	checkOnce(t, got, lastB, nil)
	if eventOf(got, contracts.KindOrderPaid, o.ID) != nil {
		t.Errorf("resumed stream on A repeated order %s", o.ID)
	}
	// The stream that stayed open on A saw the order placed through B too.
	onA.collect(t, o2.ID, contracts.KindOrderPlaced, contracts.KindOrderPaid)
}

// maxSeq is the highest stream sequence among evs' notifications.
func maxSeq(evs []sseEvent) uint64 {
	var last uint64
	for _, ev := range evs {
		if seq, err := strconv.ParseUint(ev.ID, 10, 64); err == nil && ev.Event == "notification" {
			last = max(last, seq)
		}
	}
	return last
}
