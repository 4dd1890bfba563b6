// Package stream serves users' notifications in real time from NATS
// JetStream: Server-Sent Events (Hub.SSE) and WebSocket (Hub.WS) on
// fasthttp. The gateway mounts the two handlers after it verified the
// caller's token and passes the user id and the client's address:
//
//	GET /api/v1/notifications/stream  → hub.SSE(ctx, actor.ID, clientIP)
//	GET /api/v1/ws                    → hub.WS(ctx, actor.ID, clientIP)
//
// Each connection reads notify.user.<its user id> (and nothing else) through
// its own ordered, ephemeral JetStream consumer on the NOTIFY stream, so a
// user connected to any gateway instance gets their messages and nobody
// else's. A message's id is its stream sequence: SSE sends it as "id:",
// WebSocket as the "id" of contracts.StreamMessage. A client that
// reconnects with Last-Event-ID (header, or the last_event_id query
// parameter, which is also how WebSocket clients resume) gets every message
// after it that the stream still keeps (nats.notify-max-age,
// nats.notify-max-per-user), once and in order, then live ones.
//
// SSE: "retry:" on connect, a ": ping" comment every Heartbeat, event
// "notification" per message, and a final event "close" with the reason
// when the server ends the stream. fasthttp gives no sign that a client
// left but a failed write, which would come heartbeats later: the hub
// reads the connection instead (see Slots below), and a failed write or
// flush ends the stream too. Every write refreshes the connection's write
// deadline (WriteTimeout), so a client that stops reading is cut off and
// the gateway's own WriteTimeout does not end healthy streams.
//
// WebSocket: one JSON text frame per message, pings every Heartbeat, the
// connection is closed when no pong or message arrives for two heartbeats.
//
// Slots: a Hub serves at most MaxClients streams, MaxPerUser of one user and
// MaxPerIP of one client address (IPv6: one /64), counted per Hub (gateway
// instance). A stream over a per-user or per-address cap is refused with 429
// resource_exhausted, one over MaxClients with 503 unavailable, both with
// Retry-After (stream.retry rounded up to seconds) and a JSON error that
// says which cap was reached; oc_stream_refused_total{cap="user"|"ip"|
// "instance"} counts them. A WebSocket's slot is taken before the upgrade,
// so a refusal is an HTTP answer, not a close frame. A slot is freed as
// soon as its client goes: the WebSocket read loop ends when the client
// closes, and for SSE a goroutine reads the connection (an SSE client sends
// nothing after its request, so the read ends only when the client closes,
// resets or shuts down its side of it); the SSE answer says
// Connection: close, since that read owns the connection. A client that
// reconnects is therefore not refused by its own dead streams.
//
// Slow clients are bounded: each connection has a buffer of Buffer
// messages fed by its consumer's goroutine. When the buffer stays full for
// SlowGrace (0: at once) the client is dropped — SSE gets event "close"
// with reason slow_consumer, WebSocket close code 1008 "slow consumer" —
// and oc_nats_slow_consumers_total is incremented. Neither the NATS
// connection's goroutines nor other clients ever wait for a slow one.
// oc_stream_clients{kind="sse"|"ws"} counts open streams.
package stream

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/natsx"
	"github.com/opencommerce/opencommerce/internal/telemetry"
)

// Config configures a Hub (flags under "stream.").
type Config struct {
	// Heartbeat is the interval of SSE comments and WebSocket pings.
	Heartbeat time.Duration
	// Retry is the reconnection delay SSE clients are told ("retry:").
	Retry time.Duration
	// Buffer is the per-connection message buffer.
	Buffer int
	// SlowGrace is how long a full buffer is tolerated before the client
	// is dropped as slow.
	SlowGrace time.Duration
	// WriteTimeout bounds one write to a client.
	WriteTimeout time.Duration
	// MaxClients bounds open streams per Hub; more get 503.
	MaxClients int
	// MaxPerUser bounds one user's open streams per Hub (0: no bound);
	// more get 429.
	MaxPerUser int
	// MaxPerIP bounds the open streams of one client address per Hub
	// (IPv6: one /64; 0: no bound); more get 429.
	MaxPerIP int
	// Scheme names the NOTIFY stream and the user subjects; set from
	// natsx.Config.Scheme() (not a flag).
	Scheme natsx.Scheme
}

// DefaultConfig returns the defaults RegisterFlags sets.
func DefaultConfig() Config {
	return Config{
		Heartbeat:    15 * time.Second,
		Retry:        3 * time.Second,
		Buffer:       256,
		SlowGrace:    2 * time.Second,
		WriteTimeout: 10 * time.Second,
		MaxClients:   20000,
		MaxPerUser:   10,
		MaxPerIP:     100,
	}
}

// RegisterFlags registers the stream.* flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	d := DefaultConfig()
	fs.DurationVar(&c.Heartbeat, "stream.heartbeat", d.Heartbeat, "interval of SSE heartbeat comments and WebSocket pings")
	fs.DurationVar(&c.Retry, "stream.retry", d.Retry, "reconnection delay told to SSE clients")
	fs.IntVar(&c.Buffer, "stream.client-buffer", d.Buffer, "messages buffered per streaming client")
	fs.DurationVar(&c.SlowGrace, "stream.slow-grace", d.SlowGrace, "how long a client's buffer may stay full before it is dropped")
	fs.DurationVar(&c.WriteTimeout, "stream.write-timeout", d.WriteTimeout, "bound of one write to a streaming client")
	fs.IntVar(&c.MaxClients, "stream.max-clients", d.MaxClients, "open streams per gateway instance; more are refused with 503")
	fs.IntVar(&c.MaxPerUser, "stream.max-per-user", d.MaxPerUser, "open streams of one user per gateway instance; more are refused with 429 (0: no cap)")
	fs.IntVar(&c.MaxPerIP, "stream.max-per-ip", d.MaxPerIP, "open streams of one client IP (IPv6: one /64) per gateway instance; more are refused with 429 (0: no cap)")
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Heartbeat <= 0 || c.Retry <= 0 || c.WriteTimeout <= 0:
		return errors.New("stream.heartbeat, stream.retry and stream.write-timeout must be positive")
	case c.Buffer < 1:
		return errors.New("stream.client-buffer must be at least 1")
	case c.SlowGrace < 0:
		return errors.New("stream.slow-grace must not be negative")
	case c.MaxClients < 1:
		return errors.New("stream.max-clients must be at least 1")
	case c.MaxPerUser < 0 || c.MaxPerIP < 0:
		return errors.New("stream.max-per-user and stream.max-per-ip must not be negative (0: no cap)")
	}
	return nil
}

// Close reasons sent to clients.
const (
	ReasonSlowConsumer = "slow_consumer"
	ReasonShutdown     = "shutdown"
	ReasonUnavailable  = "unavailable"
	// ReasonSessionEnded: the user's sessions were revoked (EndUser); a
	// reconnection with the old token is refused, the user signs in again.
	ReasonSessionEnded = "session_ended"
	// reasonClientGone: the client closed its connection; nothing is sent.
	reasonClientGone = "client_gone"
)

// Hub serves notification streams. It is safe for concurrent use; one Hub
// per gateway process.
type Hub struct {
	cfg Config
	js  jetstream.JetStream
	log *slog.Logger

	clientsGauge *prometheus.GaugeVec
	slow         prometheus.Counter
	refused      *prometheus.CounterVec
	upgrader     websocket.FastHTTPUpgrader
	retryAfter   string // Retry-After of a refusal, in seconds

	mu      sync.Mutex
	clients map[*client]struct{} // streams whose consumer exists
	slots   int                  // streams counted against the caps: clients and those opening
	perUser map[string]int
	perIP   map[netip.Addr]int
	closed  bool
	wg      sync.WaitGroup
}

// New returns a Hub reading from js. reg may be nil. A cfg that does not
// validate is replaced field by field with the defaults.
func New(cfg Config, js jetstream.JetStream, log *slog.Logger, reg prometheus.Registerer) *Hub {
	d := DefaultConfig()
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = d.Heartbeat
	}
	if cfg.Retry <= 0 {
		cfg.Retry = d.Retry
	}
	if cfg.Buffer < 1 {
		cfg.Buffer = d.Buffer
	}
	if cfg.SlowGrace < 0 {
		cfg.SlowGrace = 0
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = d.WriteTimeout
	}
	if cfg.MaxClients < 1 {
		cfg.MaxClients = d.MaxClients
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Hub{
		cfg: cfg, js: js, log: log.With("component", "stream"),
		clients:    map[*client]struct{}{},
		perUser:    map[string]int{},
		perIP:      map[netip.Addr]int{},
		retryAfter: strconv.FormatInt(int64((cfg.Retry+time.Second-1)/time.Second), 10),
		clientsGauge: telemetry.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "oc_stream_clients", Help: "Open notification streams by kind (sse, ws).",
		}, []string{"kind"})),
		slow: telemetry.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oc_nats_slow_consumers_total", Help: "Streaming clients dropped because they could not keep up.",
		})),
		refused: telemetry.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oc_stream_refused_total", Help: "Streams refused because a cap was reached, by cap (user, ip, instance).",
		}, []string{"cap"})),
	}
	h.upgrader = websocket.FastHTTPUpgrader{
		HandshakeTimeout: 10 * time.Second,
		// The gateway authenticates with a bearer token, not cookies, so a
		// cross-origin page cannot ride on a user's session: any origin may
		// connect (CORS for the API is the gateway's concern).
		CheckOrigin: func(*fasthttp.RequestCtx) bool { return true },
		Error: func(ctx *fasthttp.RequestCtx, status int, reason error) {
			writeError(ctx, status, contracts.CodeInvalidArgument, reason.Error())
		},
	}
	h.clientsGauge.WithLabelValues("sse")
	h.clientsGauge.WithLabelValues("ws")
	for _, c := range []string{capUser, capIP, capInstance} {
		h.refused.WithLabelValues(c)
	}
	return h
}

// frame is one message for a client.
type frame struct {
	seq  uint64
	data []byte
}

// client is one open stream.
type client struct {
	kind string
	user string
	ip   netip.Addr // the key of the per-address cap; invalid: not capped
	ch   chan frame
	done chan struct{}
	once sync.Once
	why  atomic.Value // string
	it   jetstream.MessagesContext
	cons jetstream.Consumer

	// conn, while the session writes, lets a drop abort a blocked write.
	mu    sync.Mutex
	conn  net.Conn
	ended bool
}

func (c *client) reason() string {
	if s, ok := c.why.Load().(string); ok {
		return s
	}
	return ""
}

// end closes the client with reason (first reason wins) and stops its
// consumer.
func (c *client) end(reason string) bool {
	first := false
	c.once.Do(func() {
		first = true
		c.why.Store(reason)
		close(c.done)
		if c.it != nil {
			c.it.Stop()
		}
	})
	return first
}

// abortWrites makes a write blocked on the client's connection fail now.
func (c *client) abortWrites() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ended && c.conn != nil {
		_ = c.conn.SetWriteDeadline(time.Now())
	}
}

func (c *client) setConn(conn net.Conn) {
	c.mu.Lock()
	c.conn = conn
	c.mu.Unlock()
}

func (c *client) sessionEnded() {
	c.mu.Lock()
	c.ended = true
	c.conn = nil
	c.mu.Unlock()
}

// Caps, as oc_stream_refused_total's label.
const (
	capUser     = "user"
	capIP       = "ip"
	capInstance = "instance"
)

// newClient makes a client of userID from ip, not yet counted. ip is
// keyed as its /64 for IPv6, since one subscriber holds a whole /64.
func (h *Hub) newClient(kind, userID string, ip netip.Addr) (*client, error) {
	if _, err := h.cfg.Scheme.UserSubject(userID); err != nil {
		return nil, contracts.InvalidArgument("user", "not a valid user id")
	}
	ip = ip.Unmap()
	if ip.Is6() {
		ip = netip.PrefixFrom(ip, 64).Masked().Addr()
	}
	return &client{kind: kind, user: userID, ip: ip, ch: make(chan frame, h.cfg.Buffer), done: make(chan struct{})}, nil
}

// reserve counts c against the caps, or says which one it would break:
// resource_exhausted for the user's or the address's (the caller can
// close one of their own), unavailable for the instance's or a Hub that
// is closing.
func (h *Hub) reserve(c *client) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return contracts.Errorf(contracts.CodeUnavailable, "the notification stream is shutting down on this server; reconnect")
	}
	if m := h.cfg.MaxPerUser; m > 0 && h.perUser[c.user] >= m {
		h.refused.WithLabelValues(capUser).Inc()
		return contracts.Errorf(contracts.CodeResourceExhausted,
			"you already have %d notification streams open, the most one account may have; close one (another tab, window or device) and retry", m)
	}
	if m := h.cfg.MaxPerIP; m > 0 && c.ip.IsValid() && h.perIP[c.ip] >= m {
		h.refused.WithLabelValues(capIP).Inc()
		return contracts.Errorf(contracts.CodeResourceExhausted,
			"%d notification streams are already open from your network address, the most one address may have; close one and retry", m)
	}
	if h.slots >= h.cfg.MaxClients {
		h.refused.WithLabelValues(capInstance).Inc()
		return contracts.Errorf(contracts.CodeUnavailable,
			"this server has as many notification streams open as it can serve; retry in a few seconds")
	}
	h.slots++
	h.perUser[c.user]++
	if c.ip.IsValid() {
		h.perIP[c.ip]++
	}
	return nil
}

// unreserveLocked gives c's slot back; h.mu is held.
func (h *Hub) unreserveLocked(c *client) {
	h.slots--
	if n := h.perUser[c.user] - 1; n > 0 {
		h.perUser[c.user] = n
	} else {
		delete(h.perUser, c.user)
	}
	if c.ip.IsValid() {
		if n := h.perIP[c.ip] - 1; n > 0 {
			h.perIP[c.ip] = n
		} else {
			delete(h.perIP, c.ip)
		}
	}
}

func (h *Hub) unreserve(c *client) {
	h.mu.Lock()
	h.unreserveLocked(c)
	h.mu.Unlock()
}

// connect starts c, which holds a slot (reserve), reading its user's
// subject after sequence after (0: only new messages). On failure the slot
// is given back.
func (h *Hub) connect(c *client, after uint64) error {
	subj, err := h.cfg.Scheme.UserSubject(c.user)
	if err != nil {
		h.unreserve(c)
		return contracts.InvalidArgument("user", "not a valid user id")
	}
	occ := jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{subj},
		DeliverPolicy:     jetstream.DeliverNewPolicy,
		InactiveThreshold: 30 * time.Second, // a fallback: release deletes it
	}
	// An id past the stream's end (a stream that was reset) resumes at its
	// end, as JetStream clamps the start; the largest id would overflow
	// after+1 to 0, which JetStream refuses, so it means the same: new only.
	if after > 0 && after < math.MaxUint64 {
		occ.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		occ.OptStartSeq = after + 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cons, err := h.js.OrderedConsumer(ctx, h.cfg.Scheme.NotifyStream(), occ)
	if err == nil {
		c.cons = cons
		c.it, err = cons.Messages(jetstream.PullMaxMessages(min(h.cfg.Buffer, 500)))
	}
	h.mu.Lock()
	closed := h.closed
	if err == nil && !closed {
		// Counted once its consumer exists: Clients() and the gauge mean
		// "streams that receive".
		h.clients[c] = struct{}{}
		h.wg.Add(1)
	} else {
		h.unreserveLocked(c)
	}
	h.mu.Unlock()
	if err != nil || closed {
		if c.it != nil {
			c.it.Stop()
		}
		if err == nil {
			return contracts.Errorf(contracts.CodeUnavailable, "the notification stream is shutting down on this server; reconnect")
		}
		h.log.Warn("open notification stream", "err", err)
		return contracts.Errorf(contracts.CodeUnavailable, "notification stream unavailable")
	}
	h.clientsGauge.WithLabelValues(c.kind).Inc()
	go h.pump(c)
	return nil
}

// pump moves messages from the client's consumer to its buffer; it is the
// only goroutine that waits on a slow client.
func (h *Hub) pump(c *client) {
	var timer *time.Timer
	for {
		msg, err := c.it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			select {
			case <-c.done:
				return
			default:
			}
			// Heartbeat misses and resets are handled by the ordered
			// consumer; keep reading.
			h.log.Debug("stream consumer", "err", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		md, err := msg.Metadata()
		if err != nil {
			continue
		}
		f := frame{seq: md.Sequence.Stream, data: msg.Data()}
		select {
		case c.ch <- f:
			continue
		case <-c.done:
			return
		default:
		}
		if h.cfg.SlowGrace > 0 {
			if timer == nil {
				timer = time.NewTimer(h.cfg.SlowGrace)
			} else {
				timer.Reset(h.cfg.SlowGrace)
			}
			select {
			case c.ch <- f:
				timer.Stop()
				continue
			case <-c.done:
				timer.Stop()
				return
			case <-timer.C:
			}
		}
		if c.end(ReasonSlowConsumer) {
			h.slow.Inc()
			h.log.Info("slow streaming client dropped", "kind", c.kind, "buffer", h.cfg.Buffer)
			// Let the session say goodbye; then cut a write that is stuck.
			time.AfterFunc(time.Second, c.abortWrites)
		}
		return
	}
}

// release forgets a client and frees its slot; idempotent through end.
func (h *Hub) release(c *client) {
	c.end("closed")
	h.mu.Lock()
	_, ok := h.clients[c]
	if ok {
		delete(h.clients, c)
		h.unreserveLocked(c)
	}
	h.mu.Unlock()
	if !ok {
		return
	}
	h.clientsGauge.WithLabelValues(c.kind).Dec()
	h.wg.Done()
	if info := consumerInfo(c.cons); info != nil {
		// Stop leaves the ephemeral consumer on the server until its
		// inactivity threshold; delete it now.
		name := info.Name
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = h.js.DeleteConsumer(ctx, h.cfg.Scheme.NotifyStream(), name)
		}()
	}
}

// Clients returns the number of open streams. A stream's slot is free
// again once Clients no longer counts it.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// Close ends every stream (SSE clients get event "close" with reason
// shutdown, WebSocket clients close code 1001) and refuses new ones; it
// waits for the sessions to end or ctx.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	cs := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		cs = append(cs, c)
	}
	h.mu.Unlock()
	for _, c := range cs {
		c.end(ReasonShutdown)
		time.AfterFunc(time.Second, c.abortWrites)
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// EndUser ends every open stream of userID (SSE: event "close" with reason
// session_ended; WebSocket: close 1008 "session ended"): the gateway calls
// it when the user's sessions are revoked, since a stream outlives the
// check of the token that opened it.
func (h *Hub) EndUser(userID string) {
	h.mu.Lock()
	var cs []*client
	for c := range h.clients {
		if c.user == userID {
			cs = append(cs, c)
		}
	}
	h.mu.Unlock()
	for _, c := range cs {
		if c.end(ReasonSessionEnded) {
			time.AfterFunc(time.Second, c.abortWrites)
		}
	}
}

// lastEventID reads the resume point: the Last-Event-ID header, else the
// last_event_id query parameter; absent means 0.
func lastEventID(ctx *fasthttp.RequestCtx) (uint64, error) {
	v := ctx.Request.Header.Peek("Last-Event-ID")
	if len(v) == 0 {
		v = ctx.QueryArgs().Peek("last_event_id")
	}
	if len(v) == 0 {
		return 0, nil
	}
	n, err := strconv.ParseUint(string(v), 10, 64)
	if err != nil {
		return 0, contracts.InvalidArgument("Last-Event-ID", "Last-Event-ID must be a stream sequence number")
	}
	return n, nil
}

func writeError(ctx *fasthttp.RequestCtx, status int, code contracts.Code, msg string) {
	body, _ := json.Marshal(contracts.ErrorBody{Error: contracts.Errorf(code, "%s", msg)})
	ctx.Response.Reset()
	ctx.SetStatusCode(status)
	ctx.SetContentType(contracts.ContentTypeJSON)
	ctx.SetBody(body)
}

// writeErr answers err; a refusal to retry (429, 503) says when with
// Retry-After.
func (h *Hub) writeErr(ctx *fasthttp.RequestCtx, err error) {
	e := contracts.AsError(err)
	status := e.Code.HTTPStatus()
	writeError(ctx, status, e.Code, e.Message)
	if status == fasthttp.StatusTooManyRequests || status == fasthttp.StatusServiceUnavailable {
		ctx.Response.Header.Set("Retry-After", h.retryAfter)
	}
}

// clientAddr is ip, or the connection's peer address when ip is invalid.
func clientAddr(ctx *fasthttp.RequestCtx, ip netip.Addr) netip.Addr {
	if ip.IsValid() {
		return ip
	}
	if ta, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		ip, _ = netip.AddrFromSlice(ta.IP)
	}
	return ip
}

// SSE serves userID's notifications as Server-Sent Events. userID must be
// the verified caller (the gateway checks the token before) and ip the
// client's address as the gateway determined it (trusted proxies applied);
// the zero Addr means the connection's peer address.
func (h *Hub) SSE(ctx *fasthttp.RequestCtx, userID string, ip netip.Addr) {
	after, err := lastEventID(ctx)
	if err != nil {
		h.writeErr(ctx, err)
		return
	}
	c, err := h.newClient("sse", userID, clientAddr(ctx, ip))
	if err == nil {
		err = h.reserve(c)
	}
	if err == nil {
		err = h.connect(c, after)
	}
	if err != nil {
		h.writeErr(ctx, err)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("text/event-stream; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "no-cache, no-store")
	ctx.Response.Header.Set("X-Accel-Buffering", "no")
	// watchGone reads the connection while the stream lasts, so fasthttp
	// must not read a next request from it: the connection ends with the
	// stream.
	ctx.SetConnectionClose()
	conn := ctx.Conn()
	c.setConn(conn)
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) { h.serveSSE(c, conn, w) })
}

// watchGone ends c as soon as its client closes or resets conn. An SSE
// client sends nothing after its request, so a read returns only then
// (or when the stream ends and fasthttp closes conn). Without it, a
// client's leaving shows only as a failed write, heartbeats later, and its
// slot stays taken meanwhile.
func watchGone(c *client, conn net.Conn) {
	// The read deadline of the request, if the server set one, must not
	// end the watch.
	_ = conn.SetReadDeadline(time.Time{})
	var buf [512]byte
	for {
		if _, err := conn.Read(buf[:]); err != nil {
			c.end(reasonClientGone)
			return
		}
	}
}

func (h *Hub) serveSSE(c *client, conn net.Conn, w *bufio.Writer) {
	defer h.release(c)
	defer c.sessionEnded()
	if conn != nil {
		go watchGone(c, conn)
	}
	var num []byte
	flush := func() bool {
		c.mu.Lock()
		if c.conn != nil {
			_ = c.conn.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout))
		}
		c.mu.Unlock()
		return w.Flush() == nil
	}
	writeFrame := func(f frame) {
		num = strconv.AppendUint(num[:0], f.seq, 10)
		w.WriteString("id: ")
		w.Write(num)
		w.WriteString("\nevent: notification\n")
		writeData(w, f.data)
		w.WriteString("\n")
	}
	w.WriteString("retry: ")
	w.WriteString(strconv.FormatInt(h.cfg.Retry.Milliseconds(), 10))
	w.WriteString("\n: connected\n\n")
	if !flush() {
		return
	}
	tick := time.NewTicker(h.cfg.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case f := <-c.ch:
			writeFrame(f)
			for more := true; more; { // drain what is there, one flush
				select {
				case f := <-c.ch:
					writeFrame(f)
				default:
					more = false
				}
			}
			if !flush() {
				return
			}
		case <-tick.C:
			w.WriteString(": ping\n\n")
			if !flush() {
				return
			}
		case <-c.done:
			if c.reason() == reasonClientGone {
				return
			}
			fmt.Fprintf(w, "event: close\ndata: {\"reason\":%q}\n\n", c.reason())
			flush()
			return
		}
	}
}

// writeData writes data as SSE data lines (one per line of data).
func writeData(w *bufio.Writer, data []byte) {
	start := 0
	for i, b := range data {
		if b == '\n' {
			w.WriteString("data: ")
			w.Write(trimCR(data[start:i]))
			w.WriteByte('\n')
			start = i + 1
		}
	}
	w.WriteString("data: ")
	w.Write(trimCR(data[start:]))
	w.WriteByte('\n')
}

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}

// WS serves userID's notifications over WebSocket (contracts.StreamMessage
// text frames). userID must be the verified caller and ip the client's
// address, as for SSE. The slot is taken before the upgrade, so a refused
// stream gets an HTTP answer (429, 503) with Retry-After.
func (h *Hub) WS(ctx *fasthttp.RequestCtx, userID string, ip netip.Addr) {
	after, err := lastEventID(ctx)
	if err != nil {
		h.writeErr(ctx, err)
		return
	}
	c, err := h.newClient("ws", userID, clientAddr(ctx, ip))
	if err != nil {
		h.writeErr(ctx, err)
		return
	}
	if !websocket.FastHTTPIsWebSocketUpgrade(ctx) {
		writeError(ctx, fasthttp.StatusBadRequest, contracts.CodeInvalidArgument, "a WebSocket upgrade request is required")
		return
	}
	if err := h.reserve(c); err != nil {
		h.writeErr(ctx, err)
		return
	}
	// The slot passes to the upgraded connection, or comes back here when
	// the handshake fails. fasthttp runs the upgraded connection's handler
	// only once the 101 answer is written, and never when that write
	// fails: the timer gives the slot back then.
	var claimed atomic.Bool
	giveBack := time.AfterFunc(h.upgrader.HandshakeTimeout+h.cfg.WriteTimeout, func() {
		if claimed.CompareAndSwap(false, true) {
			h.unreserve(c)
		}
	})
	err = h.upgrader.Upgrade(ctx, func(conn *websocket.Conn) {
		defer conn.Close()
		if !claimed.CompareAndSwap(false, true) {
			closeWS(conn, websocket.CloseTryAgainLater, "the handshake took too long; reconnect")
			return
		}
		giveBack.Stop()
		if err := h.connect(c, after); err != nil {
			closeWS(conn, websocket.CloseTryAgainLater, contracts.AsError(err).Message)
			return
		}
		h.serveWS(c, conn)
	})
	if err != nil && claimed.CompareAndSwap(false, true) {
		giveBack.Stop()
		h.unreserve(c)
	}
}

func closeWS(conn *websocket.Conn, code int, text string) {
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
}

func (h *Hub) serveWS(c *client, conn *websocket.Conn) {
	defer h.release(c)
	defer c.sessionEnded()
	c.setConn(conn.NetConn())
	conn.SetReadLimit(4096)
	readWait := 2*h.cfg.Heartbeat + h.cfg.WriteTimeout
	_ = conn.SetReadDeadline(time.Now().Add(readWait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(readWait)) })
	go func() {
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				c.end(reasonClientGone)
				return
			}
			_ = conn.SetReadDeadline(time.Now().Add(readWait))
		}
	}()
	tick := time.NewTicker(h.cfg.Heartbeat)
	defer tick.Stop()
	var buf []byte
	for {
		select {
		case f := <-c.ch:
			buf = buf[:0]
			buf = append(buf, `{"id":"`...)
			buf = strconv.AppendUint(buf, f.seq, 10)
			buf = append(buf, `","type":"notification","data":`...)
			if json.Valid(f.data) {
				buf = append(buf, f.data...)
			} else {
				buf = append(buf, "null"...)
			}
			buf = append(buf, '}')
			_ = conn.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout))
			if err := conn.WriteMessage(websocket.TextMessage, buf); err != nil {
				return
			}
		case <-tick.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(h.cfg.WriteTimeout)); err != nil {
				return
			}
		case <-c.done:
			code, text := websocket.CloseNormalClosure, c.reason()
			switch c.reason() {
			case ReasonSlowConsumer:
				code, text = websocket.ClosePolicyViolation, "slow consumer"
			case ReasonShutdown:
				code = websocket.CloseGoingAway
			case ReasonSessionEnded:
				code, text = websocket.ClosePolicyViolation, "session ended; sign in again"
			case reasonClientGone:
				return
			}
			_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
			return
		}
	}
}

func consumerInfo(c jetstream.Consumer) *jetstream.ConsumerInfo {
	if c == nil {
		return nil
	}
	return c.CachedInfo()
}
