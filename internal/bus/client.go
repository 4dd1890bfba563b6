package bus

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
)

// Reply is an RPC reply: Status is "ok" or an error code (the x-status
// header), Body the JSON body (for errors, contracts.ErrorBody).
type Reply struct {
	Status string
	Body   []byte
}

// OK reports whether the reply is a success.
func (r Reply) OK() bool { return r.Status == contracts.StatusOK }

// Err returns nil for a success, else the *contracts.Error of the body (a
// generic one of the status code if the body does not parse).
func (r Reply) Err() error {
	if r.OK() {
		return nil
	}
	var eb contracts.ErrorBody
	if json.Unmarshal(r.Body, &eb) == nil && eb.Error != nil && eb.Error.Code != "" {
		return eb.Error
	}
	code := contracts.Code(r.Status)
	if !code.Known() {
		code = contracts.CodeInternal
	}
	return &contracts.Error{Code: code, Message: r.Status}
}

// CallOptions carries per-call metadata.
type CallOptions struct {
	// Actor is the verified identity the call runs as (x-actor-id,
	// x-actor-role). Only the gateway and services acting on their own
	// behalf set it.
	Actor contracts.Actor
	// RequestID is propagated as x-request-id.
	RequestID string
	// Traceparent is propagated as the W3C traceparent header.
	Traceparent string
}

// replyToDirect is RabbitMQ's Direct Reply-To pseudo-queue.
const replyToDirect = "amq.rabbitmq.reply-to"

// Client is an RPC client. It publishes requests to oc.rpc with mandatory
// set, carries the caller's deadline as the message expiration and the
// x-deadline header, and matches replies by correlation id. It is safe for
// concurrent use; build one per process and share it.
//
// Calls fail fast with unavailable when the broker is unreachable or
// blocking, or when no queue is bound for the service; calls in flight when
// the connection drops fail promptly with unavailable; new calls succeed
// again once the Conn has reconnected.
type Client struct {
	conn *Conn
	cfg  ClientConfig
	log  *slog.Logger
	m    *clientMetrics

	sem  chan struct{}
	pool chan *pubChan
	seq  atomic.Uint64

	mu      sync.Mutex
	pending map[string]*call
	sess    *session // current session; nil while down

	closed    chan struct{}
	closeOnce sync.Once
	done      chan struct{}
}

// session is the set of channels built on one connection.
type session struct {
	dead     chan struct{}
	deadOnce sync.Once
	chans    []*amqp.Channel
}

func (s *session) kill() { s.deadOnce.Do(func() { close(s.dead) }) }

func (s *session) alive() bool {
	select {
	case <-s.dead:
		return false
	default:
		return true
	}
}

// pubChan is a channel requests are published on; it is owned by one
// caller at a time (taken from and returned to Client.pool).
type pubChan struct {
	ch      *amqp.Channel
	replyTo string
	sess    *session

	// Scratch reused by the one caller owning the channel: amqp091-go
	// serialises a Publishing before Publish returns, so the header table
	// can be cleared and refilled for the next request, and the expiration
	// string is rebuilt only when the milliseconds left change.
	headers amqp.Table
	expMS   int64
	exp     string
}

// call is one request waiting for its reply. Calls are pooled: whoever
// removes a call from Client.pending (reply reader, return reader,
// teardown) sends exactly one result on res, and the caller puts the call
// back in the pool only once no such send can still come (see
// Client.call).
type call struct {
	res  chan callResult // buffered 1: the sender never blocks
	sess *session
}

var callPool = sync.Pool{New: func() any { return &call{res: make(chan callResult, 1)} }}

type callResult struct {
	reply Reply
	err   error
}

// NewClient builds an RPC client on c and waits briefly (up to the call
// timeout) for its channels to open. reg may be nil.
func NewClient(c *Conn, cfg ClientConfig, log *slog.Logger, reg prometheus.Registerer) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cl := &Client{
		conn:    c,
		cfg:     cfg,
		log:     log.With("component", "rpc-client"),
		m:       newClientMetrics(reg),
		sem:     make(chan struct{}, cfg.MaxInFlight),
		pool:    make(chan *pubChan, 4*cfg.Channels),
		pending: make(map[string]*call),
		closed:  make(chan struct{}),
		done:    make(chan struct{}),
	}
	ready := make(chan struct{})
	go cl.run(ready)
	select {
	case <-ready:
	case <-time.After(cfg.Timeout):
	}
	return cl, nil
}

// run builds a session on each connection and tears it down when any of
// its channels or the connection dies.
func (cl *Client) run(ready chan struct{}) {
	defer close(cl.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-cl.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	first := true
	for {
		conn, err := cl.conn.wait(ctx)
		if err != nil {
			return
		}
		sess, closeCh, err := cl.open(conn)
		if err != nil {
			cl.log.Warn("rpc client: open channels", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		if first {
			close(ready)
			first = false
		}
		select {
		case <-closeCh:
		case <-ctx.Done():
		}
		cl.teardown(sess)
		if ctx.Err() != nil {
			return
		}
	}
}

// open opens the session's channels, their reply consumers and return
// listeners, and puts the publishing channels in the pool.
func (cl *Client) open(conn *amqp.Connection) (*session, chan *amqp.Error, error) {
	sess := &session{dead: make(chan struct{})}
	closeCh := make(chan *amqp.Error, cl.cfg.Channels+1)
	watch := func(ch *amqp.Channel) {
		// One NotifyClose receiver per channel (the library closes it);
		// the first error of any channel ends the session.
		n := ch.NotifyClose(make(chan *amqp.Error, 1))
		go func() {
			e, ok := <-n
			if !ok {
				e = amqp.ErrClosed
			}
			select {
			case closeCh <- e:
			default:
			}
		}()
	}
	fail := func(err error) (*session, chan *amqp.Error, error) {
		for _, ch := range sess.chans {
			_ = ch.Close()
		}
		return nil, nil, err
	}
	replyTo := replyToDirect
	if cl.cfg.ReplyPath == ReplyQueue {
		ch, err := conn.Channel()
		if err != nil {
			return fail(err)
		}
		sess.chans = append(sess.chans, ch)
		watch(ch)
		q, err := ch.QueueDeclare("", false, true, true, false, nil)
		if err != nil {
			return fail(err)
		}
		dels, err := ch.Consume(q.Name, "", true, true, false, false, nil)
		if err != nil {
			return fail(err)
		}
		go cl.readReplies(dels)
		replyTo = q.Name
	}
	pcs := make([]*pubChan, 0, cl.cfg.Channels)
	for range cl.cfg.Channels {
		ch, err := conn.Channel()
		if err != nil {
			return fail(err)
		}
		sess.chans = append(sess.chans, ch)
		watch(ch)
		rets := ch.NotifyReturn(make(chan amqp.Return, 64))
		go cl.readReturns(rets)
		if cl.cfg.ReplyPath == ReplyDirect {
			// Direct Reply-To: consume no-ack on the channel we publish on.
			dels, err := ch.Consume(replyToDirect, "", true, false, false, false, nil)
			if err != nil {
				return fail(err)
			}
			go cl.readReplies(dels)
		}
		pcs = append(pcs, &pubChan{ch: ch, replyTo: replyTo, sess: sess, headers: make(amqp.Table, 5)})
	}
	cl.mu.Lock()
	cl.sess = sess
	cl.mu.Unlock()
	cl.purgePool()
	for _, pc := range pcs {
		select {
		case cl.pool <- pc:
		default:
		}
	}
	return sess, closeCh, nil
}

// teardown fails every call of sess with unavailable and closes its
// channels.
func (cl *Client) teardown(sess *session) {
	cl.mu.Lock()
	if cl.sess == sess {
		cl.sess = nil
	}
	sess.kill()
	for id, c := range cl.pending {
		if c.sess == sess {
			delete(cl.pending, id)
			c.res <- callResult{err: errConnLost}
		}
	}
	cl.mu.Unlock()
	for _, ch := range sess.chans {
		_ = ch.Close()
	}
	// Channels in use are dropped by their caller when it sees the
	// session dead.
	cl.purgePool()
}

// purgePool drops channels of dead sessions from the pool.
func (cl *Client) purgePool() {
	for range cap(cl.pool) {
		select {
		case pc := <-cl.pool:
			if pc.sess.alive() {
				select {
				case cl.pool <- pc:
				default:
				}
			}
		default:
			return
		}
	}
}

var (
	errConnLost = &contracts.Error{Code: contracts.CodeUnavailable, Message: "connection to the message broker lost during the call"}
	errNoRoute  = &contracts.Error{Code: contracts.CodeUnavailable, Message: "no server for this service"}
)

func (cl *Client) readReplies(dels <-chan amqp.Delivery) {
	for d := range dels {
		cl.mu.Lock()
		c := cl.pending[d.CorrelationId]
		if c != nil {
			delete(cl.pending, d.CorrelationId)
		}
		cl.mu.Unlock()
		if c == nil {
			cl.m.late.Inc()
			continue
		}
		status, _ := d.Headers[contracts.HeaderStatus].(string)
		if status == "" {
			status = contracts.StatusOK
		}
		select {
		case c.res <- callResult{reply: Reply{Status: status, Body: d.Body}}:
		default:
			cl.m.late.Inc()
		}
	}
}

func (cl *Client) readReturns(rets <-chan amqp.Return) {
	for r := range rets {
		cl.m.returns.Inc()
		cl.mu.Lock()
		c := cl.pending[r.CorrelationId]
		if c != nil {
			delete(cl.pending, r.CorrelationId)
		}
		cl.mu.Unlock()
		if c != nil {
			select {
			case c.res <- callResult{err: errNoRoute}:
			default:
			}
		}
	}
}

// Call sends a request to service's method and waits for the reply or the
// deadline (ctx's, else the configured timeout). A reply with any status
// is returned with a nil error; the error is a *contracts.Error only for
// transport failures: unavailable (broker down or blocking, no server bound
// for service, connection lost during the call, client closed) or
// deadline_exceeded. body is not retained after Call returns.
func (cl *Client) Call(ctx context.Context, service, method string, body []byte, opt CallOptions) (Reply, error) {
	start := time.Now()
	rep, err := cl.call(ctx, service, method, body, opt)
	ser := cl.m.series.get(cl.m.requests, cl.m.duration, service, method)
	switch {
	case err == nil && rep.Status == contracts.StatusOK:
		ser.ok.Inc()
	case err == nil:
		cl.m.requests.WithLabelValues(service, method, rep.Status).Inc()
	default:
		cl.m.requests.WithLabelValues(service, method, string(contracts.ErrorCode(err))).Inc()
	}
	ser.dur.Observe(time.Since(start).Seconds())
	return rep, err
}

func (cl *Client) call(ctx context.Context, service, method string, body []byte, opt CallOptions) (Reply, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cl.cfg.Timeout)
		defer cancel()
		deadline, _ = ctx.Deadline()
	}
	// Bound calls in flight.
	select {
	case cl.sem <- struct{}{}:
	default:
		select {
		case cl.sem <- struct{}{}:
		case <-ctx.Done():
			return Reply{}, ctxError(ctx)
		case <-cl.closed:
			return Reply{}, errClientClosed
		}
	}
	defer func() { <-cl.sem }()
	cl.m.inFlight.Inc()
	defer cl.m.inFlight.Dec()

	if cl.conn.Blocked() {
		return Reply{}, errBlocked
	}
	pc, err := cl.take(ctx)
	if err != nil {
		return Reply{}, err
	}
	left := time.Until(deadline)
	if left <= 0 {
		cl.put(pc)
		return Reply{}, errDeadline
	}
	ms := left.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	if ms != pc.expMS || pc.exp == "" {
		pc.expMS, pc.exp = ms, strconv.FormatInt(ms, 10)
	}
	headers := pc.headers
	clear(headers)
	headers[contracts.HeaderDeadline] = deadline.UnixMilli()
	if opt.RequestID != "" {
		headers[contracts.HeaderRequestID] = opt.RequestID
	}
	if opt.Actor.ID != "" {
		headers[contracts.HeaderActorID] = opt.Actor.ID
	}
	if opt.Actor.Role != "" {
		headers[contracts.HeaderActorRole] = opt.Actor.Role
	}
	if opt.Traceparent != "" {
		headers[contracts.HeaderTraceparent] = opt.Traceparent
	}
	id := strconv.FormatUint(cl.seq.Add(1), 36)
	c := callPool.Get().(*call)
	c.sess = pc.sess
	cl.mu.Lock()
	cl.pending[id] = c
	cl.mu.Unlock()

	err = pc.ch.Publish(contracts.RPCExchange, service, true, false, amqp.Publishing{
		Headers:       headers,
		ContentType:   contracts.ContentTypeJSON,
		CorrelationId: id,
		ReplyTo:       pc.replyTo,
		Expiration:    pc.exp,
		Type:          method,
		Body:          body,
	})
	cl.put(pc)
	if err != nil {
		if !cl.forget(id) {
			<-c.res // removed by someone else, who sends at once
		}
		cl.release(c)
		return Reply{}, contracts.Errorf(contracts.CodeUnavailable, "publish request: %v", err)
	}
	var r callResult
	select {
	case r = <-c.res:
	case <-ctx.Done():
		if cl.forget(id) {
			cl.release(c)
			return Reply{}, ctxError(ctx)
		}
		// A reader took the call out of pending just now and is sending
		// its result (the reply raced the deadline): prefer it.
		r = <-c.res
	}
	cl.release(c)
	return r.reply, r.err
}

// forget removes the call id from pending and reports whether it was
// still there. If it was not, whoever removed it sends the call's result.
func (cl *Client) forget(id string) bool {
	cl.mu.Lock()
	_, ok := cl.pending[id]
	delete(cl.pending, id)
	cl.mu.Unlock()
	return ok
}

// release returns a call whose result has been received (or can no longer
// be sent) to the pool.
func (cl *Client) release(c *call) {
	c.sess = nil
	callPool.Put(c)
}

// take returns a live publishing channel, or unavailable at once when no
// session is up.
func (cl *Client) take(ctx context.Context) (*pubChan, error) {
	for {
		select {
		case pc := <-cl.pool:
			if pc.sess.alive() {
				return pc, nil
			}
			continue
		default:
		}
		cl.mu.Lock()
		sess := cl.sess
		cl.mu.Unlock()
		if sess == nil {
			select {
			case <-cl.closed:
				return nil, errClientClosed
			default:
			}
			return nil, errDisconnected
		}
		select {
		case pc := <-cl.pool:
			if pc.sess.alive() {
				return pc, nil
			}
		case <-sess.dead:
			return nil, errConnLost
		case <-ctx.Done():
			return nil, ctxError(ctx)
		case <-cl.closed:
			return nil, errClientClosed
		}
	}
}

func (cl *Client) put(pc *pubChan) {
	if pc.sess.alive() {
		select {
		case cl.pool <- pc:
		default: // pool full: a stale session's leftovers; drop
		}
	}
}

var (
	errDeadline     = &contracts.Error{Code: contracts.CodeDeadlineExceeded, Message: "deadline exceeded waiting for the reply"}
	errCanceled     = &contracts.Error{Code: contracts.CodeUnavailable, Message: "call canceled by the caller"}
	errClientClosed = &contracts.Error{Code: contracts.CodeUnavailable, Message: "rpc client closed"}
)

func ctxError(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return errCanceled
	}
	return errDeadline
}

// Close fails calls in flight with unavailable and closes the client's
// channels. Calls after Close fail with unavailable.
func (cl *Client) Close() error {
	cl.closeOnce.Do(func() { close(cl.closed) })
	<-cl.done
	return nil
}

// Invoke calls service's method with req encoded as JSON (a []byte or
// json.RawMessage is sent as is) and decodes an ok reply into Resp. A
// non-ok reply is returned as its *contracts.Error; transport failures as
// in Client.Call.
func Invoke[Resp any](ctx context.Context, c *Client, service, method string, req any, opt CallOptions) (Resp, error) {
	var zero Resp
	var body []byte
	switch b := req.(type) {
	case nil:
	case []byte:
		body = b
	case json.RawMessage:
		body = b
	default:
		var err error
		if body, err = json.Marshal(req); err != nil {
			return zero, contracts.Errorf(contracts.CodeInvalidArgument, "encode %s request: %v", method, err)
		}
	}
	rep, err := c.Call(ctx, service, method, body, opt)
	if err != nil {
		return zero, err
	}
	if !rep.OK() {
		return zero, rep.Err()
	}
	var resp Resp
	if len(rep.Body) == 0 {
		return resp, nil
	}
	if err := json.Unmarshal(rep.Body, &resp); err != nil {
		return zero, contracts.Errorf(contracts.CodeInternal, "decode %s reply: %v", method, err)
	}
	return resp, nil
}
