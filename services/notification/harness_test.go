package notification_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/edge/stream"
	"github.com/opencommerce/opencommerce/edge/stream/streamtest"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/natsx"
	"github.com/opencommerce/opencommerce/internal/natsx/natsxtest"
	"github.com/opencommerce/opencommerce/internal/svc"
	"github.com/opencommerce/opencommerce/internal/svc/svctest"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/services/notification"
)

const wait = 20 * time.Second

type harness struct {
	t      *testing.T
	deps   svc.Deps
	env    svctest.Env
	svc    *notification.Service
	cfg    notification.Config
	js     jetstream.JetStream
	scheme natsx.Scheme
	pub    *bus.Publisher
	logs   *logRecorder
}

// start runs the service on fresh deps, the test's NATS (js, scheme) and
// SMTP server smtpAddr.
// tweaks, when given, change the configuration before the start.
func start(t *testing.T, js jetstream.JetStream, scheme natsx.Scheme, smtpAddr string, tweaks ...func(*notification.Config)) *harness {
	t.Helper()
	deps, env := svctest.Deps(t)
	logs := &logRecorder{Handler: deps.Log.Handler(), mu: &sync.Mutex{}, msgs: new([]string)}
	deps.Log = slog.New(logs)
	cfg := notification.DefaultConfig()
	cfg.SMTPAddr = smtpAddr
	cfg.SMTPTimeout = 5 * time.Second
	cfg.RetryMin, cfg.RetryMax = 50*time.Millisecond, 300*time.Millisecond
	cfg.PollInterval = 100 * time.Millisecond
	cfg.NATS = scheme
	for _, f := range tweaks {
		f(&cfg)
	}
	svc, err := notification.New(cfg, deps, js)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := svc.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = svc.Stop(ctx)
	})
	pub, err := bus.NewPublisher(deps.Bus, deps.Log, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	return &harness{t: t, deps: deps, env: env, svc: svc, cfg: cfg, js: js, scheme: scheme, pub: pub, logs: logs}
}

// logRecorder passes records on and keeps the messages logged at info
// level and above, so a test can count what an operator would read.
type logRecorder struct {
	slog.Handler
	mu   *sync.Mutex
	msgs *[]string
}

func (r *logRecorder) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || r.Handler.Enabled(ctx, l)
}

func (r *logRecorder) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Level >= slog.LevelInfo {
		r.mu.Lock()
		*r.msgs = append(*r.msgs, rec.Message)
		r.mu.Unlock()
	}
	if r.Handler.Enabled(ctx, rec.Level) {
		return r.Handler.Handle(ctx, rec)
	}
	return nil
}

func (r *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &logRecorder{Handler: r.Handler.WithAttrs(as), mu: r.mu, msgs: r.msgs}
}

func (r *logRecorder) WithGroup(name string) slog.Handler {
	return &logRecorder{Handler: r.Handler.WithGroup(name), mu: r.mu, msgs: r.msgs}
}

// count is how many recorded messages contain part.
func (r *logRecorder) count(part string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range *r.msgs {
		if strings.Contains(m, part) {
			n++
		}
	}
	return n
}

// startNATS is start on the machine's NATS with a unique prefix.
func startNATS(t *testing.T, smtpAddr string, tweaks ...func(*notification.Config)) *harness {
	t.Helper()
	n := natsxtest.New(t)
	_, js := n.Connect(t)
	return start(t, js, n.Scheme, smtpAddr, tweaks...)
}

func (h *harness) emit(typ string, data any) contracts.Event {
	h.t.Helper()
	ev := contracts.Event{ID: uuid.NewString(), Type: typ, OccurredAt: time.Now().UTC(), Data: mustJSON(h.t, data)}
	h.emitEvent(ev)
	return ev
}

func (h *harness) emitEvent(ev contracts.Event) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := h.pub.Publish(ctx, ev); err != nil {
		h.t.Fatalf("publish %s: %v", ev.Type, err)
	}
}

func mustJSON(t testing.TB, v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// call invokes method as user with an envelope of params and body.
func (h *harness) call(user, method string, params contracts.Params, body any) bus.Reply {
	h.t.Helper()
	env := contracts.Envelope{Params: params}
	if body != nil {
		env.Body = contracts.RawJSON(mustJSON(h.t, body))
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	rep, err := h.deps.RPC.Call(ctx, notification.Name, method, mustJSON(h.t, env),
		bus.CallOptions{Actor: contracts.Actor{ID: user, Role: contracts.RoleCustomer}})
	if err != nil {
		h.t.Fatalf("call %s: %v", method, err)
	}
	return rep
}

func ok[T any](h *harness, user, method string, params contracts.Params, body any) T {
	h.t.Helper()
	rep := h.call(user, method, params, body)
	if rep.Status != contracts.StatusOK {
		h.t.Fatalf("%s: %s %s", method, rep.Status, rep.Body)
	}
	var v T
	if err := json.Unmarshal(rep.Body, &v); err != nil {
		h.t.Fatalf("%s reply %s: %v", method, rep.Body, err)
	}
	return v
}

func (h *harness) list(user string, params contracts.Params) contracts.List[contracts.Notification] {
	h.t.Helper()
	return ok[contracts.List[contracts.Notification]](h, user, contracts.MethodNotificationList, params, nil)
}

// hub serves a stream hub ("a gateway") on js.
func (h *harness) hub(js jetstream.JetStream) string {
	h.t.Helper()
	cfg := stream.DefaultConfig()
	cfg.Scheme = h.scheme
	return streamtest.Serve(h.t, stream.New(cfg, js, nil, nil))
}

// consumed is how many deliveries of events of typ the service's consumer
// has handled and acked (oc_events_consumed_total, result ok): a barrier
// that says an event, and every redelivery of it, was processed.
func (h *harness) consumed(typ string) float64 {
	h.t.Helper()
	mfs, err := h.env.Registry.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() != "oc_events_consumed_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			if l["service"] == notification.Name && l["type"] == typ && l["result"] == "ok" {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// pendingEmails is how many email rows still wait to be sent.
func (h *harness) pendingEmails() int {
	h.t.Helper()
	var n int
	if err := h.svc.Pool().QueryRow(context.Background(), `SELECT count(*) FROM emails WHERE status = 'pending'`).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

// mailpit is a Mailpit process: an SMTP server with an HTTP API.
type mailpit struct {
	SMTP, API string
	cmd       *exec.Cmd
}

func mailpitBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
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

// startMailpit runs Mailpit with its SMTP server on smtpAddr (a free one
// when empty) until the test ends; extra are more Mailpit flags.
func startMailpit(t *testing.T, smtpAddr string, extra ...string) *mailpit {
	t.Helper()
	if smtpAddr == "" {
		smtpAddr = testenv.FreeAddr(t)
	}
	api := testenv.FreeAddr(t)
	cmd := exec.Command(mailpitBinary(t), append([]string{"--smtp", smtpAddr, "--listen", api,
		"--database", filepath.Join(t.TempDir(), "m.db"), "--quiet"}, extra...)...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mailpit: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	m := &mailpit{SMTP: smtpAddr, API: "http://" + api, cmd: cmd}
	testenv.Eventually(t, "mailpit to listen", func() bool {
		c, err := net.DialTimeout("tcp", smtpAddr, time.Second)
		if err != nil {
			return false
		}
		c.Close()
		resp, err := http.Get(m.API + "/api/v1/messages")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return m
}

type mailSummary struct {
	ID        string
	MessageID string
	Subject   string
	To        []struct{ Address string }
}

func (m *mailpit) messages(t *testing.T) []mailSummary {
	t.Helper()
	var out struct {
		Total    int
		Messages []mailSummary
	}
	m.get(t, "/api/v1/messages?limit=1000", &out)
	return out.Messages
}

type mailBody struct {
	Subject string
	Text    string
	HTML    string
}

func (m *mailpit) message(t *testing.T, id string) mailBody {
	t.Helper()
	var b mailBody
	m.get(t, "/api/v1/message/"+id, &b)
	return b
}

func (m *mailpit) get(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := http.Get(m.API + path)
	if err != nil {
		t.Fatalf("mailpit %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("mailpit %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("mailpit %s: %v", path, err)
	}
}

// to returns the messages addressed to addr.
func to(msgs []mailSummary, addr string) []mailSummary {
	var out []mailSummary
	for _, m := range msgs {
		for _, r := range m.To {
			if r.Address == addr {
				out = append(out, m)
			}
		}
	}
	return out
}

func register(h *harness, role string) (id, email string) {
	id = uuid.NewString()
	email = fmt.Sprintf("%s-%s@example.com", role, id[len(id)-8:])
	h.emit(contracts.EventUserRegistered, contracts.UserRegistered{UserID: id, Email: email, Name: "Test " + role, Role: role})
	return id, email
}

// v7At returns a UUIDv7 with the timestamp of at and random low bits: the
// id a row made at that instant would have (as notify's V7At, which its
// own tests use).
func v7At(at time.Time) uuid.UUID {
	u := uuid.New()
	ms := uint64(at.UnixMilli())
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	u[6] = 0x70 | u[6]&0x0f
	return u
}
