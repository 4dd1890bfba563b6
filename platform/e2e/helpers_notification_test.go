package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/platform"
	"github.com/opencommerce/opencommerce/platform/platformtest"
)

// notifyWait bounds every wait for a notification, an email or a stream
// message (the saga, the outboxes and NATS all sit in between).
const notifyWait = 30 * time.Second

// streamHeartbeat is the SSE heartbeat the notification tests' gateways use
// (short, so a test sees one without waiting the default 15s).
const streamHeartbeat = 300 * time.Millisecond

// startNotifyShop starts a platform like startShop whose notification
// service mails through smtpAddr and polls its outboxes often; more tweaks
// may follow.
func startNotifyShop(t *testing.T, smtpAddr string, more ...func(*platform.Config)) *platformtest.Env {
	t.Helper()
	return platformtest.Start(t, platformtest.Options{WideRateLimits: true, Tweak: func(c *platform.Config) {
		n := &c.Services.Notification
		n.SMTPAddr = smtpAddr
		n.SMTPTimeout = 5 * time.Second
		n.RetryMin, n.RetryMax = 50*time.Millisecond, 500*time.Millisecond
		n.PollInterval = 100 * time.Millisecond
		c.Services.Stream.Heartbeat = streamHeartbeat
		for _, f := range more {
			f(c)
		}
	}})
}

// ---- Mailpit ----

// mailpit is a Mailpit process: an SMTP server with an HTTP API.
type mailpit struct {
	SMTP, API string
}

// mailpitBinary finds Mailpit on PATH or in $(go env GOPATH)/bin; without
// it the test skips, or fails under CI=true (testenv.Unavailable).
func mailpitBinary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	if gopath == "" {
		home, _ := os.UserHomeDir()
		gopath = filepath.Join(home, "go")
	}
	p := filepath.Join(gopath, "bin", "mailpit")
	if _, err := os.Stat(p); err != nil {
		testenv.Unavailable(t, "mailpit (scripts/deps.sh --test installs it)", err)
	}
	return p
}

// startMailpit runs Mailpit on free ports until the test ends.
func startMailpit(t testing.TB) *mailpit {
	t.Helper()
	smtpAddr, api := testenv.FreeAddr(t), testenv.FreeAddr(t)
	cmd := exec.Command(mailpitBinary(t), "--smtp", smtpAddr, "--listen", api,
		"--database", filepath.Join(t.TempDir(), "m.db"), "--quiet")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mailpit: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	m := &mailpit{SMTP: smtpAddr, API: "http://" + api}
	testenv.EventuallyWithin(t, notifyWait, "mailpit listening", m.up)
	return m
}

func (m *mailpit) up() bool {
	c, err := net.DialTimeout("tcp", m.SMTP, time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	resp, err := http.Get(m.API + "/api/v1/messages")
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// mail is a message Mailpit holds, with its bodies.
type mail struct {
	ID      string
	Subject string
	To      []string
	Text    string
	HTML    string
}

// inbox returns the messages addressed to addr (newest first), with their
// bodies.
func (m *mailpit) inbox(t testing.TB, addr string) []mail {
	t.Helper()
	var list struct {
		Messages []struct {
			ID      string
			Subject string
			To      []struct{ Address string }
		}
	}
	m.get(t, "/api/v1/messages?limit=1000", &list)
	var out []mail
	for _, s := range list.Messages {
		ml := mail{ID: s.ID, Subject: s.Subject}
		for _, r := range s.To {
			ml.To = append(ml.To, r.Address)
		}
		if !containsFold(ml.To, addr) {
			continue
		}
		var body struct{ Text, HTML string }
		m.get(t, "/api/v1/message/"+s.ID, &body)
		ml.Text, ml.HTML = body.Text, body.HTML
		out = append(out, ml)
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func (m *mailpit) get(t testing.TB, path string, v any) {
	t.Helper()
	resp, err := http.Get(m.API + path)
	if err != nil {
		t.Fatalf("mailpit %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mailpit %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("mailpit %s: %v", path, err)
	}
}

// awaitMail waits until addr has a message whose subject contains every
// one of subjectParts, and returns it.
func (m *mailpit) awaitMail(t testing.TB, addr string, subjectParts ...string) mail {
	t.Helper()
	var box []mail
	var found mail
	if !testenv.Poll(notifyWait, func() bool {
		box = m.inbox(t, addr)
		for _, ml := range box {
			if containsAll(ml.Subject, subjectParts...) {
				found = ml
				return true
			}
		}
		return false
	}) {
		subjects := make([]string, len(box))
		for i, ml := range box {
			subjects[i] = ml.Subject
		}
		t.Fatalf("no email to %s with subject containing %q within %v; inbox: %q", addr, subjectParts, notifyWait, subjects)
	}
	return found
}

// mailsAbout returns the messages to addr whose subject contains every one
// of subjectParts.
func (m *mailpit) mailsAbout(t testing.TB, addr string, subjectParts ...string) []mail {
	t.Helper()
	var out []mail
	for _, ml := range m.inbox(t, addr) {
		if containsAll(ml.Subject, subjectParts...) {
			out = append(out, ml)
		}
	}
	return out
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// shortOrder is how emails and notification bodies name an order: "#"
// and its number.
func shortOrder(o contracts.Order) string {
	if o.Number == "" {
		panic("order without a number")
	}
	return "#" + o.Number
}

// ---- in-app notifications ----

// note is a notification as clients see it, with its data decoded.
type note struct {
	contracts.Notification
	OrderID string
	Total   money
}

func toNote(t testing.TB, n contracts.Notification) note {
	t.Helper()
	out := note{Notification: n}
	if len(n.Data) > 0 && string(n.Data) != "null" {
		var d struct {
			OrderID string `json:"order_id"`
			Total   money  `json:"total"`
		}
		if err := json.Unmarshal(n.Data, &d); err != nil {
			t.Fatalf("notification %s data %s: %v", n.ID, n.Data, err)
		}
		out.OrderID, out.Total = d.OrderID, d.Total
	}
	return out
}

// notes lists c's notifications (all pages); query is "" or "?unread=true".
func notes(c *client, query string) []note {
	c.t.Helper()
	var out []note
	cursor := ""
	for range 50 {
		q := query
		sep := "?"
		if strings.Contains(q, "?") {
			sep = "&"
		}
		q += sep + "limit=100"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		page := decode[contracts.List[contracts.Notification]](c.t, c.must(http.StatusOK, "GET", "/notifications"+q, nil))
		for _, n := range page.Items {
			out = append(out, toNote(c.t, n))
		}
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
	c.t.Fatalf("notifications: more than 50 pages")
	return nil
}

// find returns the first note of kind about orderID, or nil.
func findNote(ns []note, kind, orderID string) *note {
	for i := range ns {
		if ns[i].Kind == kind && ns[i].OrderID == orderID {
			return &ns[i]
		}
	}
	return nil
}

// awaitNote waits until c has a notification of kind about orderID.
func awaitNote(c *client, kind, orderID string) note {
	c.t.Helper()
	var ns []note
	var found *note
	if !testenv.Poll(notifyWait, func() bool {
		ns = notes(c, "")
		found = findNote(ns, kind, orderID)
		return found != nil
	}) {
		c.t.Fatalf("no %s notification about order %s within %v; have %d: %v", kind, orderID, notifyWait, len(ns), kinds(ns))
	}
	return *found
}

func kinds(ns []note) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Kind + ":" + n.OrderID
	}
	return out
}

// ---- Server-Sent Events ----

// sseEvent is one event of a notification stream, its data decoded when it
// is a notification.
type sseEvent struct {
	ID    string
	Event string
	Data  string
	Note  note
}

// sseStream is an open GET /notifications/stream.
type sseStream struct {
	t      testing.TB
	Header http.Header
	events chan sseEvent // closed when the stream ends

	mu    sync.Mutex
	retry string
	pings int
	err   error

	resp   *http.Response
	cancel context.CancelFunc
}

// openSSE opens c's notification stream (resuming after lastID unless it is
// empty) and waits for the server's ": connected" comment: the stream's
// consumer exists then, so whatever is published afterwards is delivered.
func openSSE(c *client, lastID string) *sseStream {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/notifications/stream", nil)
	if err != nil {
		cancel()
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+c.token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := (&http.Client{}).Do(req) // no timeout: the stream lives until Close
	if err != nil {
		cancel()
		c.t.Fatalf("open stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		var b strings.Builder
		_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
		_ = resp.Body.Close()
		cancel()
		c.t.Fatalf("open stream: status %d %s", resp.StatusCode, b.String())
	}
	s := &sseStream{t: c.t, Header: resp.Header, events: make(chan sseEvent, 1024), resp: resp, cancel: cancel}
	ready := make(chan struct{})
	go s.read(ready)
	select {
	case <-ready:
	case <-time.After(notifyWait):
		s.Close()
		c.t.Fatalf("stream not ready within %v", notifyWait)
	}
	c.t.Cleanup(s.Close)
	return s
}

// read parses the stream (text/event-stream: fields until a blank line;
// comments start with ':').
func (s *sseStream) read(ready chan struct{}) {
	defer close(s.events)
	sc := bufio.NewScanner(s.resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var ev sseEvent
	var data []string
	signalled := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.Event != "" || len(data) > 0 {
				ev.Data = strings.Join(data, "\n")
				if ev.Event == "notification" {
					var n contracts.Notification
					if err := json.Unmarshal([]byte(ev.Data), &n); err != nil {
						s.fail(err)
					} else {
						ev.Note = note{Notification: n}
						var d struct {
							OrderID string `json:"order_id"`
							Total   money  `json:"total"`
						}
						_ = json.Unmarshal(n.Data, &d)
						ev.Note.OrderID, ev.Note.Total = d.OrderID, d.Total
					}
				}
				s.events <- ev
			}
			ev, data = sseEvent{}, nil
		case strings.HasPrefix(line, ":"):
			if strings.Contains(line, "connected") && !signalled {
				signalled = true
				close(ready)
			}
			if strings.Contains(line, "ping") {
				s.mu.Lock()
				s.pings++
				s.mu.Unlock()
			}
		case strings.HasPrefix(line, "retry:"):
			s.mu.Lock()
			s.retry = strings.TrimSpace(line[len("retry:"):])
			s.mu.Unlock()
		case strings.HasPrefix(line, "id:"):
			ev.ID = strings.TrimSpace(line[len("id:"):])
		case strings.HasPrefix(line, "event:"):
			ev.Event = strings.TrimSpace(line[len("event:"):])
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(line[len("data:"):], " "))
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, context.Canceled) {
		s.fail(err)
	}
}

func (s *sseStream) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

// Close disconnects (idempotent).
func (s *sseStream) Close() {
	s.cancel()
	_ = s.resp.Body.Close()
}

// Pings is how many heartbeat comments arrived so far.
func (s *sseStream) Pings() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pings
}

// Retry is the stream's "retry:" field.
func (s *sseStream) Retry() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.retry
}

// until collects events until one satisfies done, failing the test if the
// stream ends or notifyWait passes first; it returns every event read,
// the matching one last.
func (s *sseStream) until(t testing.TB, what string, done func(sseEvent) bool) []sseEvent {
	t.Helper()
	var got []sseEvent
	timer := time.NewTimer(notifyWait)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.mu.Lock()
				err := s.err
				s.mu.Unlock()
				t.Fatalf("stream ended (%v) before %s; got %v", err, what, describe(got))
			}
			got = append(got, ev)
			if done(ev) {
				return got
			}
		case <-timer.C:
			t.Fatalf("no %s on the stream within %v; got %v", what, notifyWait, describe(got))
		}
	}
}

// collect gathers events until every (kind, orderID) pair of want has
// arrived, and returns everything read.
func (s *sseStream) collect(t testing.TB, orderID string, want ...string) []sseEvent {
	t.Helper()
	missing := map[string]bool{}
	for _, k := range want {
		missing[k] = true
	}
	return s.until(t, strings.Join(want, ", ")+" about "+orderID, func(ev sseEvent) bool {
		if ev.Event == "notification" && ev.Note.OrderID == orderID {
			delete(missing, ev.Note.Kind)
		}
		return len(missing) == 0
	})
}

// pending returns the events already buffered, without waiting.
func (s *sseStream) pending() []sseEvent {
	var out []sseEvent
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return out
			}
			out = append(out, ev)
		default:
			return out
		}
	}
}

func describe(evs []sseEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.ID + " " + ev.Event + " " + ev.Note.Kind + ":" + ev.Note.OrderID
		if ev.Event != "notification" {
			out[i] += " " + ev.Data
		}
	}
	return out
}

// eventOf returns the notification event of kind about orderID in evs, or
// nil.
func eventOf(evs []sseEvent, kind, orderID string) *sseEvent {
	for i := range evs {
		if evs[i].Event == "notification" && evs[i].Note.Kind == kind && evs[i].Note.OrderID == orderID {
			return &evs[i]
		}
	}
	return nil
}

// streamStatus opens the stream with headers (name/value pairs; the caller
// gives Authorization) and returns the answer when it is not a stream, or
// fails the test when it is one.
func streamStatus(t testing.TB, c *client, path string, headers ...string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), notifyWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("GET %s with %q: a stream opened, want an error", path, headers)
	}
	var b strings.Builder
	_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: []byte(b.String())}
}

// ---- WebSocket ----

// wsStream is an open GET /ws.
type wsStream struct {
	conn *websocket.Conn
	msgs chan contracts.StreamMessage // closed when the connection ends
	once sync.Once
}

// openWS dials c's WebSocket with its bearer token, resuming after lastID
// (the last_event_id query parameter) unless it is empty. The server
// creates the stream's consumer after the upgrade, so openWS then waits
// until that consumer exists: oc_stream_clients{kind="ws"} on env's admin
// port reaching want (the number of WebSockets open there, this one
// included).
func openWS(c *client, env *platformtest.Env, want float64, lastID string) *wsStream {
	c.t.Helper()
	u := "ws" + strings.TrimPrefix(c.base, "http") + "/ws"
	if lastID != "" {
		u += "?last_event_id=" + url.QueryEscape(lastID)
	}
	h := http.Header{"Authorization": {"Bearer " + c.token}}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.Dial(u, h)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		c.t.Fatalf("dial %s: %v (status %d)", u, err, status)
	}
	w := &wsStream{conn: conn, msgs: make(chan contracts.StreamMessage, 1024)}
	go func() {
		defer close(w.msgs)
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			var m contracts.StreamMessage
			if json.Unmarshal(data, &m) == nil {
				w.msgs <- m
			}
		}
	}()
	c.t.Cleanup(w.Close)
	testenv.Eventually(c.t, "the WebSocket's stream consumer to exist", func() bool {
		return metric(c.t, env, "oc_stream_clients", `kind="ws"`) >= want
	})
	return w
}

// Close disconnects (idempotent).
func (w *wsStream) Close() {
	w.once.Do(func() {
		_ = w.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = w.conn.Close()
	})
}

// await reads messages until one carries a notification of kind about
// orderID, and returns it.
func (w *wsStream) await(t testing.TB, kind, orderID string) (contracts.StreamMessage, note) {
	t.Helper()
	timer := time.NewTimer(notifyWait)
	defer timer.Stop()
	var seen []string
	for {
		select {
		case m, ok := <-w.msgs:
			if !ok {
				t.Fatalf("WebSocket closed before %s about %s; got %v", kind, orderID, seen)
			}
			var n contracts.Notification
			if err := json.Unmarshal(m.Data, &n); err != nil {
				t.Fatalf("WebSocket message data %s: %v", m.Data, err)
			}
			nn := toNote(t, n)
			seen = append(seen, m.ID+" "+nn.Kind+":"+nn.OrderID)
			if nn.Kind == kind && nn.OrderID == orderID {
				return m, nn
			}
		case <-timer.C:
			t.Fatalf("no %s about %s on the WebSocket within %v; got %v", kind, orderID, notifyWait, seen)
		}
	}
}

// emailRows counts the rows of the notification service's email outbox for
// userID and kind, whatever their status. The public API cannot show that
// an email was never even queued; this looks behind it, as charges does.
func emailRows(t testing.TB, env *platformtest.Env, userID, kind string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testenv.WithDatabase(testenv.PGURL, env.Config.DBPrefix+"notification"))
	if err != nil {
		t.Fatalf("notification database: %v", err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM emails WHERE user_id = $1 AND kind = $2`, userID, kind).Scan(&n); err != nil {
		t.Fatalf("count emails: %v", err)
	}
	return n
}
