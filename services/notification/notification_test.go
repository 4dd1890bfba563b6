package notification_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/edge/stream/streamtest"
	"github.com/opencommerce/opencommerce/internal/natsx/natsxtest"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/services/notification"
)

func orderItems(sellerA, sellerB string) []contracts.OrderEventItem {
	return []contracts.OrderEventItem{
		{ProductID: uuid.NewString(), Quantity: 2, Name: "Blue Mug", UnitPrice: contracts.USD(1999), SellerID: sellerA},
		{ProductID: uuid.NewString(), Quantity: 1, Name: "Teapot", UnitPrice: contracts.USD(123456), SellerID: sellerB},
	}
}

// nextOf reads SSE events until one of kind arrives (kind "": any allowed
// one), failing on any notification whose kind is not in allowed (someone
// else's).
func nextOf(t *testing.T, s *streamtest.SSE, kind string, allowed ...string) contracts.Notification {
	t.Helper()
	for {
		ev := s.Next(t, wait)
		var n contracts.Notification
		if err := json.Unmarshal([]byte(ev.Data), &n); err != nil {
			t.Fatalf("event %+v: %v", ev, err)
		}
		if n.Kind == kind || (kind == "" && slices.Contains(allowed, n.Kind)) {
			return n
		}
		if !slices.Contains(allowed, n.Kind) {
			t.Fatalf("unexpected notification %s on this stream: %+v", n.Kind, n)
		}
	}
}

func TestPaidOrderReachesBuyerAndSellers(t *testing.T) {
	t.Parallel()
	mp := startMailpit(t, "")
	h := startNATS(t, mp.SMTP)
	base := h.hub(h.js)

	buyer, buyerMail := register(h, "customer")
	sellerA, sellerAMail := register(h, "seller")
	sellerB, _ := register(h, "seller")
	testenv.Eventually(t, "welcome emails", func() bool {
		return len(to(mp.messages(t), buyerMail)) == 1 && len(to(mp.messages(t), sellerAMail)) == 1
	})

	buyerSSE := streamtest.Open(t, base+"/sse?user="+buyer, "")
	sellerSSE := streamtest.Open(t, base+"/sse?user="+sellerA, "")

	orderID := uuid.NewString()
	items := orderItems(sellerA, sellerB)
	total := contracts.USD(2*1999 + 123456) // $1,274.54
	h.emit(contracts.EventOrderPlaced, contracts.OrderPlaced{OrderID: orderID, UserID: buyer, Items: items, Total: total, SellerIDs: []string{sellerA, sellerB}})
	paid := h.emit(contracts.EventOrderPaid, contracts.OrderPaid{OrderID: orderID, UserID: buyer, Items: items, Total: total, SellerIDs: []string{sellerA, sellerB}, Last4: "4242"})
	h.emitEvent(paid) // a redelivery changes nothing

	// Real time, buyer only.
	// (Concurrent consumer workers may handle placed and paid in either
	// order.)
	first := nextOf(t, buyerSSE, "", contracts.KindWelcome, contracts.KindOrderPlaced, contracts.KindOrderPaid)
	for first.Kind == contracts.KindWelcome {
		first = nextOf(t, buyerSSE, "", contracts.KindWelcome, contracts.KindOrderPlaced, contracts.KindOrderPaid)
	}
	other := contracts.KindOrderPaid
	if first.Kind == contracts.KindOrderPaid {
		other = contracts.KindOrderPlaced
	}
	second := nextOf(t, buyerSSE, other, contracts.KindWelcome)
	placedN, paidN := first, second
	if first.Kind == contracts.KindOrderPaid {
		placedN, paidN = second, first
	}
	if !strings.Contains(paidN.Body, "$1,274.54") || !strings.Contains(string(paidN.Data), orderID) {
		t.Fatalf("paid notification %+v", paidN)
	}
	if placedN.ID == paidN.ID {
		t.Fatal("one notification twice")
	}
	sellerN := nextOf(t, sellerSSE, contracts.KindNewOrder, contracts.KindWelcome)
	if !strings.Contains(sellerN.Body, "$39.98") || strings.Contains(sellerN.Body, "1,274.54") {
		t.Fatalf("seller A sees %q, want only their items ($39.98)", sellerN.Body)
	}

	// Stored, once.
	bl := h.list(buyer, nil)
	kinds := map[string]int{}
	for _, n := range bl.Items {
		kinds[n.Kind]++
	}
	if kinds[contracts.KindOrderPaid] != 1 || kinds[contracts.KindOrderPlaced] != 1 || kinds[contracts.KindNewOrder] != 0 {
		t.Fatalf("buyer's notifications: %v", kinds)
	}
	if sl := h.list(sellerA, contracts.Params{"unread": {"true"}}); len(sl.Items) != 2 || sl.Items[0].Kind != contracts.KindNewOrder {
		t.Fatalf("seller A's notifications: %+v", sl.Items)
	}

	// Email with the order's details, once.
	var paidMail []mailSummary
	testenv.Eventually(t, "payment email", func() bool {
		paidMail = nil
		for _, m := range to(mp.messages(t), buyerMail) {
			if strings.Contains(m.Subject, "Payment confirmed") {
				paidMail = append(paidMail, m)
			}
		}
		return len(paidMail) > 0
	})
	body := mp.message(t, paidMail[0].ID)
	for _, want := range []string{"$1,274.54", "2 × Blue Mug @ $19.99 = $39.98", "Teapot", "ending in 4242"} {
		if !strings.Contains(body.Text, want) {
			t.Errorf("email text lacks %q:\n%s", want, body.Text)
		}
	}
	if !strings.Contains(body.HTML, "<td>Blue Mug</td>") || !strings.Contains(body.HTML, "$1,274.54") {
		t.Errorf("email HTML lacks the order table:\n%s", body.HTML)
	}
	testenv.Eventually(t, "seller A's email", func() bool {
		for _, m := range to(mp.messages(t), sellerAMail) {
			if strings.Contains(m.Subject, "New order") && strings.Contains(m.Subject, "$39.98") {
				return true
			}
		}
		return false
	})
	// Barrier: both deliveries of order.paid were handled and every email
	// row was sent, so what Mailpit holds is final.
	testenv.Eventually(t, "both deliveries of order.paid handled", func() bool { return h.consumed(contracts.EventOrderPaid) == 2 })
	testenv.Eventually(t, "every email sent", func() bool { return h.pendingEmails() == 0 })
	if n := len(to(mp.messages(t), buyerMail)); n != 3 { // welcome, placed, paid
		t.Fatalf("buyer got %d emails, want 3", n)
	}
}

func TestEmailsSurviveSMTPOutage(t *testing.T) {
	t.Parallel()
	smtpAddr := testenv.FreeAddr(t) // nobody listens yet
	h := startNATS(t, smtpAddr)
	var users []string
	for range 5 {
		_, email := register(h, "customer")
		users = append(users, email)
	}
	testenv.Eventually(t, "failed attempts", func() bool {
		var n int
		_ = h.svc.Pool().QueryRow(context.Background(),
			`SELECT count(*) FROM emails WHERE status = 'pending' AND attempts >= 2`).Scan(&n)
		return n == 5
	})
	if n := h.logs.count("SMTP server unavailable"); n != 1 {
		t.Fatalf("an SMTP outage over 5 emails and 10+ attempts logged %d warnings, want 1", n)
	}
	if n := h.logs.count("will retry"); n != 0 {
		t.Fatalf("%d per-email retry lines at info level or above, want none", n)
	}

	mp := startMailpit(t, smtpAddr)
	testenv.Eventually(t, "every email", func() bool { return len(mp.messages(t)) >= 5 })
	testenv.Eventually(t, "rows marked sent", func() bool {
		var n int
		_ = h.svc.Pool().QueryRow(context.Background(), `SELECT count(*) FROM emails WHERE status = 'sent'`).Scan(&n)
		return n == 5
	})
	if n := h.logs.count("SMTP server answers again"); n != 1 {
		t.Fatalf("the end of the outage logged %d lines, want 1", n)
	}
	// Every row is marked sent, and the mailer takes only pending rows: no
	// further email can leave, so Mailpit's count is final.
	msgs := mp.messages(t)
	if len(msgs) != 5 {
		t.Fatalf("%d emails arrived, want 5 (exactly once each)", len(msgs))
	}
	ids := map[string]bool{}
	for _, u := range users {
		got := to(msgs, u)
		if len(got) != 1 {
			t.Fatalf("%s got %d emails", u, len(got))
		}
		ids[got[0].MessageID] = true
		var rowID string
		_ = h.svc.Pool().QueryRow(context.Background(), `SELECT id::text FROM emails WHERE to_addr = $1`, u).Scan(&rowID)
		if got[0].MessageID != rowID+"@opencommerce.local" {
			t.Fatalf("Message-ID %q, want the row id %s", got[0].MessageID, rowID)
		}
	}
}

func TestUnknownAddressIsRecordedNotSent(t *testing.T) {
	t.Parallel()
	mp := startMailpit(t, "")
	h := startNATS(t, mp.SMTP)
	stranger := uuid.NewString() // never registered here
	h.emit(contracts.EventOrderShipped, contracts.OrderShipped{OrderID: uuid.NewString(), UserID: stranger, Carrier: "UPS", TrackingNumber: "1Z", Total: contracts.USD(500)})
	testenv.Eventually(t, "in-app notification", func() bool { return len(h.list(stranger, nil).Items) == 1 })
	var status, why string
	if err := h.svc.Pool().QueryRow(context.Background(), `SELECT status, last_error FROM emails WHERE user_id = $1`, stranger).Scan(&status, &why); err != nil {
		t.Fatal(err)
	}
	if status != "skipped" || why == "" {
		t.Fatalf("email row %s %q, want skipped with a reason", status, why)
	}
}

func TestInAppAPIAndPreferences(t *testing.T) {
	t.Parallel()
	mp := startMailpit(t, "")
	h := startNATS(t, mp.SMTP)
	alice, aliceMail := register(h, "customer")
	bob, _ := register(h, "customer")
	testenv.Eventually(t, "welcome", func() bool { return len(h.list(alice, nil).Items) == 1 })
	for i := range 3 {
		h.emit(contracts.EventOrderPlaced, contracts.OrderPlaced{OrderID: uuid.NewString(), UserID: alice, Total: contracts.USD(int64(100 * (i + 1)))})
	}
	testenv.Eventually(t, "three orders", func() bool { return len(h.list(alice, nil).Items) == 4 })

	// Keyset pages, newest first.
	p1 := h.list(alice, contracts.Params{"limit": {"3"}})
	if len(p1.Items) != 3 || p1.NextCursor == "" {
		t.Fatalf("page 1: %+v", p1)
	}
	p2 := h.list(alice, contracts.Params{"limit": {"3"}, "cursor": {p1.NextCursor}})
	if len(p2.Items) != 1 || p2.NextCursor != "" || p2.Items[0].Kind != contracts.KindWelcome {
		t.Fatalf("page 2: %+v", p2)
	}
	all := append(p1.Items, p2.Items...)
	for i := 1; i < len(all); i++ { // newest first: v7 ids descending, no overlap
		if all[i].ID >= all[i-1].ID || all[i].CreatedAt.After(all[i-1].CreatedAt) {
			t.Fatalf("not newest first: %s after %s", all[i].ID, all[i-1].ID)
		}
	}

	// Read one, unread filter, read all.
	if rep := h.call(alice, contracts.MethodNotificationRead, contracts.Params{"id": {p1.Items[1].ID}}, nil); rep.Status != "ok" {
		t.Fatalf("read: %s %s", rep.Status, rep.Body)
	}
	h.call(alice, contracts.MethodNotificationRead, contracts.Params{"id": {p1.Items[1].ID}}, nil) // again: still fine
	unread := h.list(alice, contracts.Params{"unread": {"true"}})
	if len(unread.Items) != 3 || slices.ContainsFunc(unread.Items, func(n contracts.Notification) bool { return n.ID == p1.Items[1].ID }) {
		t.Fatalf("unread: %+v", unread.Items)
	}
	if rep := h.call(bob, contracts.MethodNotificationRead, contracts.Params{"id": {p1.Items[0].ID}}, nil); rep.Status != string(contracts.CodeNotFound) {
		t.Fatalf("bob reading alice's notification: %s", rep.Status)
	}
	h.call(alice, contracts.MethodNotificationReadAll, nil, nil)
	if u := h.list(alice, contracts.Params{"unread": {"true"}}); len(u.Items) != 0 {
		t.Fatalf("after read-all: %+v", u.Items)
	}
	if all := h.list(alice, nil); len(all.Items) != 4 || !all.Items[0].Read {
		t.Fatalf("after read-all, list: %+v", all.Items)
	}

	// Preferences: defaults, then no email and no in-app for some kinds.
	prefs := ok[contracts.NotificationPreferences](h, alice, contracts.MethodNotificationPreferencesGet, nil, nil)
	if p := prefs.Kinds[contracts.KindOrderShipped]; !p.InApp || !p.Email || len(prefs.Kinds) != len(contracts.NotificationKinds) {
		t.Fatalf("defaults: %+v", prefs)
	}
	off := false
	prefs = ok[contracts.NotificationPreferences](h, alice, contracts.MethodNotificationPreferencesUpdate, nil,
		contracts.NotificationPreferencesUpdate{Kinds: map[string]contracts.ChannelPreferencesPatch{
			contracts.KindOrderShipped:   {Email: &off},
			contracts.KindOrderDelivered: {InApp: &off},
		}})
	if p := prefs.Kinds[contracts.KindOrderShipped]; !p.InApp || p.Email {
		t.Fatalf("after update: %+v", p)
	}
	oid := uuid.NewString()
	h.emit(contracts.EventOrderShipped, contracts.OrderShipped{OrderID: oid, UserID: alice, Carrier: "DHL", TrackingNumber: "JD01", Total: contracts.USD(100)})
	h.emit(contracts.EventOrderDelivered, contracts.OrderDelivered{OrderID: oid, UserID: alice, Total: contracts.USD(100)})
	testenv.Eventually(t, "shipped in-app", func() bool { return h.list(alice, nil).Items[0].Kind == contracts.KindOrderShipped })
	testenv.Eventually(t, "delivered email", func() bool {
		return slices.ContainsFunc(to(mp.messages(t), aliceMail), func(m mailSummary) bool { return strings.Contains(m.Subject, "delivered") })
	})
	// The shipped notification is in the list, so its event was handled
	// (in-app and email rows are written in one transaction).
	var shippedRows int
	if err := h.svc.Pool().QueryRow(context.Background(), `SELECT count(*) FROM emails WHERE user_id = $1 AND kind = $2`,
		alice, contracts.KindOrderShipped).Scan(&shippedRows); err != nil || shippedRows != 0 {
		t.Fatalf("%d order_shipped email rows (%v) though email is off for order_shipped", shippedRows, err)
	}
	if slices.ContainsFunc(to(mp.messages(t), aliceMail), func(m mailSummary) bool { return strings.Contains(m.Subject, "shipped") }) {
		t.Fatal("a shipped email was sent though email is off for order_shipped")
	}
	if k := h.list(alice, nil).Items[0].Kind; k != contracts.KindOrderShipped {
		t.Fatalf("newest in-app is %s; delivered should have no in-app notification", k)
	}

	// Bad input.
	for _, tc := range []struct {
		name, user, method string
		params             contracts.Params
		body               any
		want               contracts.Code
	}{
		{"anonymous list", "", contracts.MethodNotificationList, nil, nil, contracts.CodeUnauthenticated},
		{"bad cursor", alice, contracts.MethodNotificationList, contracts.Params{"cursor": {"!!"}}, nil, contracts.CodeInvalidArgument},
		{"bad limit", alice, contracts.MethodNotificationList, contracts.Params{"limit": {"-1"}}, nil, contracts.CodeInvalidArgument},
		{"bad unread", alice, contracts.MethodNotificationList, contracts.Params{"unread": {"maybe"}}, nil, contracts.CodeInvalidArgument},
		{"read malformed id", alice, contracts.MethodNotificationRead, contracts.Params{"id": {"x"}}, nil, contracts.CodeNotFound},
		{"read unknown id", alice, contracts.MethodNotificationRead, contracts.Params{"id": {uuid.NewString()}}, nil, contracts.CodeNotFound},
		{"unknown kind", alice, contracts.MethodNotificationPreferencesUpdate, nil, map[string]any{"kinds": map[string]any{"spam": map[string]bool{"email": true}}}, contracts.CodeInvalidArgument},
		{"wrong type", alice, contracts.MethodNotificationPreferencesUpdate, nil, map[string]any{"kinds": map[string]any{"welcome": map[string]any{"email": "no"}}}, contracts.CodeInvalidArgument},
		{"no body", alice, contracts.MethodNotificationPreferencesUpdate, nil, nil, contracts.CodeInvalidArgument},
		{"no kinds", alice, contracts.MethodNotificationPreferencesUpdate, nil, map[string]any{}, contracts.CodeInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if rep := h.call(tc.user, tc.method, tc.params, tc.body); rep.Status != string(tc.want) {
				t.Fatalf("status %s (%s), want %s", rep.Status, rep.Body, tc.want)
			}
		})
	}
}

// A notification caused on instance A's NATS connection reaches the user's
// stream on instance B, and nobody else's.
func TestTwoGateways(t *testing.T) {
	t.Parallel()
	mp := startMailpit(t, "")
	n := natsxtest.New(t)
	_, jsService := n.Connect(t)
	h := start(t, jsService, n.Scheme, mp.SMTP)
	_, jsB := n.Connect(t)
	gatewayB := h.hub(jsB)
	alice, bob := uuid.NewString(), uuid.NewString()
	aliceOnB := streamtest.Open(t, gatewayB+"/sse?user="+alice, "")
	bobOnB := streamtest.Open(t, gatewayB+"/sse?user="+bob, "")
	h.emit(contracts.EventOrderDelivered, contracts.OrderDelivered{OrderID: uuid.NewString(), UserID: alice, Total: contracts.USD(100)})
	if got := nextOf(t, aliceOnB, contracts.KindOrderDelivered); got.Kind != contracts.KindOrderDelivered {
		t.Fatal(got)
	}
	// Barrier: bob's own notification, caused after alice's, must be the
	// first his stream shows (alice's would have come before it).
	h.emit(contracts.EventOrderShipped, contracts.OrderShipped{OrderID: uuid.NewString(), UserID: bob, Carrier: "UPS", TrackingNumber: "1Z", Total: contracts.USD(100)})
	if got := nextOf(t, bobOnB, contracts.KindOrderShipped); got.Kind != contracts.KindOrderShipped {
		t.Fatalf("bob's first notification: %+v", got)
	}
}

// TestRetentionDeletesOldRowsOnly: notifications past notification.retention
// and finished emails past notification.email-retention are deleted by the
// sweep; newer ones, and a pending email of any age, stay.
func TestRetentionDeletesOldRowsOnly(t *testing.T) {
	t.Parallel()
	h := startNATS(t, testenv.FreeAddr(t), func(c *notification.Config) {
		c.Retention, c.EmailRetention = 24*time.Hour, 24*time.Hour
		c.RetentionInterval = 100 * time.Millisecond
	})
	ctx := context.Background()
	pool := h.svc.Pool()
	user := uuid.New()
	old, recent := time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour)
	oldN, newN := v7At(old), v7At(recent)
	for _, id := range []uuid.UUID{oldN, newN} {
		if _, err := pool.Exec(ctx, `INSERT INTO notifications (id, user_id, kind, title, body, created_at)
			VALUES ($1, $2, 'order.paid', 'Paid', 'Your order was paid.', now())`, id, user); err != nil {
			t.Fatal(err)
		}
	}
	emails := map[string]struct {
		id       uuid.UUID
		status   string
		finished time.Time // sent_at of a sent email, last attempt of the others
	}{
		"old sent":              {v7At(old), "sent", old},
		"old skipped":           {v7At(old.Add(time.Millisecond)), "skipped", old},
		"old pending":           {v7At(old.Add(2 * time.Millisecond)), "pending", old},
		"recent sent":           {v7At(recent), "sent", recent},
		"old but sent just now": {v7At(old.Add(3 * time.Millisecond)), "sent", time.Now()},
		"old, failed just now":  {v7At(old.Add(4 * time.Millisecond)), "failed", time.Now()},
		"old, failed long ago":  {v7At(old.Add(5 * time.Millisecond)), "failed", old},
		"old, skipped long ago": {v7At(old.Add(6 * time.Millisecond)), "skipped", old.Add(time.Second)},
	}
	for _, e := range emails {
		var sentAt *time.Time
		if e.status == "sent" {
			sentAt = &e.finished
		}
		if _, err := pool.Exec(ctx, `INSERT INTO emails (id, user_id, kind, to_addr, subject, text_body, html_body, status, next_attempt_at, sent_at)
			VALUES ($1, $2, 'order.paid', 'a@example.com', 's', 't', 'h', $3, $4, $5)`, e.id, user, e.status, e.finished, sentAt); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(table string, id uuid.UUID) bool {
		var n int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE id = $1`, id).Scan(&n)
		return n == 1
	}
	gone := []string{"old sent", "old skipped", "old, failed long ago", "old, skipped long ago"}
	testenv.Eventually(t, "old rows deleted", func() bool {
		if exists("notifications", oldN) {
			return false
		}
		for _, name := range gone {
			if exists("emails", emails[name].id) {
				return false
			}
		}
		return true
	})
	if !exists("notifications", newN) {
		t.Fatal("a notification within the retention was deleted")
	}
	for _, name := range []string{"old pending", "recent sent", "old but sent just now", "old, failed just now"} {
		if !exists("emails", emails[name].id) {
			t.Fatalf("the %s email was deleted", name)
		}
	}
	list := h.list(user.String(), nil)
	if len(list.Items) != 1 || list.Items[0].ID != newN.String() {
		t.Fatalf("the user's list after the sweep: %+v, want only the recent notification", list.Items)
	}
}
