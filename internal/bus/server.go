package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
)

// Request is one RPC request as a handler sees it. Body is the raw JSON
// body (decode it with Decode or DecodeEnvelope); it is owned by the
// handler. Headers are the raw AMQP headers, for rare needs.
type Request struct {
	Method      string
	Body        []byte
	Actor       contracts.Actor
	RequestID   string
	Traceparent string
	Deadline    time.Time
	Headers     amqp.Table
}

// Handler serves one RPC method. The returned value is the reply body:
// json.Marshal(v), or v itself when it is a []byte or json.RawMessage, or
// an empty body when nil. A non-nil error becomes an error reply with its
// code (contracts.AsError: anything not a *contracts.Error is internal with
// a generic message, and is logged). ctx carries the caller's deadline and
// is cancelled when the server is shut down hard.
type Handler func(ctx context.Context, req *Request) (any, error)

// Server consumes rpc.<service> (bound to oc.rpc with the service name)
// and dispatches requests to handlers by method (the message type) on a
// fixed pool of workers. It skips requests whose deadline has passed,
// answers malformed requests invalid_argument, turns handler panics into
// internal replies, replies exactly once and acks after replying. It
// re-declares its queue and resumes consuming after a reconnection.
type Server struct {
	conn     *Conn
	cfg      ServerConfig
	log      *slog.Logger
	m        *serverMetrics
	handlers map[string]Handler
	series   map[string]*rpcSeries // by method, and "unknown"; built by Start

	mu       sync.Mutex
	started  bool
	stopping chan struct{}
	done     chan struct{}
	baseCtx  context.Context
	cancel   context.CancelFunc
}

// NewServer builds a server for cfg.Service. Register methods with Handle,
// then Start. reg may be nil. An invalid cfg makes Start fail.
func NewServer(c *Conn, cfg ServerConfig, log *slog.Logger, reg prometheus.Registerer) *Server {
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{
		conn:     c,
		cfg:      cfg,
		log:      log.With("component", "rpc-server", "service", cfg.Service),
		m:        newServerMetrics(reg, cfg.Service),
		handlers: map[string]Handler{},
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// Handle registers h for method. It must be called before Start; a
// duplicate registration panics (a programming error).
func (s *Server) Handle(method string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		panic("bus: Handle after Start")
	}
	if _, dup := s.handlers[method]; dup {
		panic("bus: duplicate handler for " + method)
	}
	s.handlers[method] = h
}

// Start declares the queue and starts consuming; it returns once the
// server consumes (or with an error when the first attempt fails). The
// server keeps serving, across reconnections, until Shutdown. ctx bounds
// only the start-up.
func (s *Server) Start(ctx context.Context) error {
	if err := s.cfg.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("bus: server already started")
	}
	s.started = true
	s.mu.Unlock()
	s.series = make(map[string]*rpcSeries, len(s.handlers)+1)
	for _, method := range append(slices.Collect(maps.Keys(s.handlers)), unknownMethod) {
		s.series[method] = &rpcSeries{
			ok:  s.m.requests.WithLabelValues(s.cfg.Service, method, contracts.StatusOK),
			dur: s.m.duration.WithLabelValues(s.cfg.Service, method),
		}
	}
	s.baseCtx, s.cancel = context.WithCancel(context.Background())
	ch, dels, err := s.consume(ctx)
	if err != nil {
		s.cancel()
		close(s.done)
		return err
	}
	go s.run(ch, dels)
	return nil
}

func (s *Server) consume(ctx context.Context) (*amqp.Channel, <-chan amqp.Delivery, error) {
	ch, err := s.conn.Channel(ctx)
	if err != nil {
		return nil, nil, err
	}
	q := contracts.RPCQueue(s.cfg.Service)
	if err := declareRPCQueue(ch, s.cfg.Service); err != nil {
		_ = ch.Close()
		return nil, nil, fmt.Errorf("declare %s: %w", q, err)
	}
	if err := ch.Qos(s.cfg.Prefetch, 0, false); err != nil {
		_ = ch.Close()
		return nil, nil, err
	}
	dels, err := ch.Consume(q, consumerTag, false, false, false, false, nil)
	if err != nil {
		_ = ch.Close()
		return nil, nil, fmt.Errorf("consume %s: %w", q, err)
	}
	return ch, dels, nil
}

// declareRPCQueue declares rpc.<service> and binds it to oc.rpc.
func declareRPCQueue(ch *amqp.Channel, service string) error {
	q := contracts.RPCQueue(service)
	if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		return err
	}
	return ch.QueueBind(q, service, contracts.RPCExchange, false, nil)
}

const consumerTag = "oc-rpc"

func (s *Server) run(ch *amqp.Channel, dels <-chan amqp.Delivery) {
	defer close(s.done)
	consumeLoop{
		what: "rpc server", tag: consumerTag, workers: s.cfg.Workers, stopping: s.stopping, log: s.log,
		consume: s.consume, handle: s.serve,
	}.run(ch, dels)
}

// Shutdown stops consuming (basic.cancel), waits for handlers in flight
// to reply, then closes the channel; unstarted deliveries are requeued for
// other instances. If ctx ends first, handlers' contexts are cancelled and
// Shutdown returns ctx's error once they return.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	started := s.started
	s.started = true // no Start after Shutdown
	s.mu.Unlock()
	select {
	case <-s.stopping:
	default:
		close(s.stopping)
	}
	if !started {
		return nil
	}
	select {
	case <-s.done:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel()
		<-s.done
		return ctx.Err()
	}
}

// Reply headers are shared read-only tables, one per status.
var statusHeaders = func() map[string]amqp.Table {
	m := map[string]amqp.Table{contracts.StatusOK: {contracts.HeaderStatus: contracts.StatusOK}}
	for _, c := range contracts.Codes {
		m[string(c)] = amqp.Table{contracts.HeaderStatus: string(c)}
	}
	return m
}()

func (s *Server) serve(ch *amqp.Channel, d amqp.Delivery) {
	if d.ReplyTo == "" {
		// Nobody to answer: drop it (acked, so it does not come back).
		s.log.Warn("rpc request without reply_to dropped", "method", d.Type)
		_ = d.Ack(false)
		return
	}
	start := time.Now()
	h := s.handlers[d.Type]
	method := d.Type
	if h == nil {
		method = unknownMethod // bounded label values
	}
	req, perr := parseRequest(d)
	if perr == nil && !req.Deadline.IsZero() && !start.Before(req.Deadline) {
		// The caller has already answered itself deadline_exceeded.
		s.m.expired.Inc()
		_ = d.Ack(false)
		return
	}
	var status string
	var body []byte
	switch {
	case perr != nil:
		status, body = errorReply(perr)
	case len(d.Body) > s.cfg.MaxBodyBytes:
		status, body = errorReply(contracts.Errorf(contracts.CodeInvalidArgument,
			"request body of %d bytes exceeds the limit of %d", len(d.Body), s.cfg.MaxBodyBytes))
	case h == nil:
		status, body = errorReply(contracts.Errorf(contracts.CodeNotFound, "unknown method %q", req.Method))
	default:
		status, body = s.invoke(h, req)
	}
	err := ch.Publish("", d.ReplyTo, false, false, amqp.Publishing{
		Headers:       statusHeaders[status],
		ContentType:   contracts.ContentTypeJSON,
		CorrelationId: d.CorrelationId,
		Body:          body,
	})
	if err != nil {
		s.log.Warn("rpc reply not sent", "method", method, "err", err)
	}
	_ = d.Ack(false)
	ser := s.series[method]
	if status == contracts.StatusOK {
		ser.ok.Inc()
	} else {
		s.m.requests.WithLabelValues(s.cfg.Service, method, status).Inc()
	}
	ser.dur.Observe(time.Since(start).Seconds())
}

// unknownMethod is the method label of requests for no registered method.
const unknownMethod = "unknown"

func (s *Server) invoke(h Handler, req *Request) (status string, body []byte) {
	ctx, cancel := context.WithDeadline(s.baseCtx, req.Deadline)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("rpc handler panic", "method", req.Method, "panic", p, "stack", string(debug.Stack()))
			status, body = errorReply(&contracts.Error{Code: contracts.CodeInternal, Message: "internal error"})
		}
	}()
	v, err := h(ctx, req)
	if !req.Deadline.IsZero() && !time.Now().Before(req.Deadline) {
		// The caller stopped waiting and answered itself deadline_exceeded;
		// say the same, so the reply never contradicts it when it wins the
		// race with the caller's timer (as with gRPC, the work may have been
		// done: deadline_exceeded means "outcome unknown").
		return errorReply(contracts.Errorf(contracts.CodeDeadlineExceeded, "deadline exceeded while %s ran", req.Method))
	}
	if err != nil {
		return errorReply(s.wireError(req, err))
	}
	switch b := v.(type) {
	case nil:
		return contracts.StatusOK, nil
	case []byte:
		return contracts.StatusOK, b
	case json.RawMessage:
		return contracts.StatusOK, b
	}
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Error("rpc reply encode failed", "method", req.Method, "err", err)
		return errorReply(&contracts.Error{Code: contracts.CodeInternal, Message: "internal error"})
	}
	return contracts.StatusOK, b
}

// wireError is the *contracts.Error a handler's err is answered with:
// err's own, else what ServerConfig.Classify makes of it (a dependency
// that is down: unavailable), else internal, which is logged.
func (s *Server) wireError(req *Request, err error) *contracts.Error {
	var ce *contracts.Error
	if errors.As(err, &ce) {
		if ce.Code == contracts.CodeInternal {
			s.log.Error("rpc handler failed", "method", req.Method, "err", err, "request_id", req.RequestID)
		}
		return ce
	}
	if s.cfg.Classify != nil {
		if ce := s.cfg.Classify(err); ce != nil {
			s.log.Debug("rpc handler failed on a dependency", "method", req.Method, "code", ce.Code, "err", err, "request_id", req.RequestID)
			return ce
		}
	}
	s.log.Error("rpc handler failed", "method", req.Method, "err", err, "request_id", req.RequestID)
	return contracts.AsError(err)
}

// errorReply returns the status and body of an error reply.
func errorReply(err error) (string, []byte) {
	ce := contracts.AsError(err)
	if !ce.Code.Known() {
		ce = &contracts.Error{Code: contracts.CodeInternal, Message: ce.Message, Details: ce.Details}
	}
	b, mErr := json.Marshal(contracts.ErrorBody{Error: ce})
	if mErr != nil {
		b = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
		return string(contracts.CodeInternal), b
	}
	return string(ce.Code), b
}

// parseRequest reads the request's properties and headers. Headers of the
// wrong type are invalid_argument; a missing deadline gets the default RPC
// timeout.
func parseRequest(d amqp.Delivery) (*Request, error) {
	req := &Request{Method: d.Type, Body: d.Body, Headers: d.Headers}
	if req.Method == "" {
		return req, contracts.InvalidArgument("type", "request has no method (AMQP type)")
	}
	var ok bool
	for _, h := range [...]struct {
		name string
		dst  *string
	}{
		{contracts.HeaderActorID, &req.Actor.ID},
		{contracts.HeaderActorRole, &req.Actor.Role},
		{contracts.HeaderRequestID, &req.RequestID},
		{contracts.HeaderTraceparent, &req.Traceparent},
	} {
		v, present := d.Headers[h.name]
		if !present {
			continue
		}
		if *h.dst, ok = v.(string); !ok {
			return req, contracts.InvalidArgument(h.name, "header %s must be a string", h.name)
		}
	}
	if v, present := d.Headers[contracts.HeaderDeadline]; present {
		var ms int64
		switch n := v.(type) {
		case int64:
			ms = n
		case int32:
			ms = int64(n)
		case int:
			ms = int64(n)
		case int16:
			ms = int64(n)
		case uint32:
			ms = int64(n)
		default:
			req.Deadline = time.Now().Add(DefaultRPCTimeout)
			return req, contracts.InvalidArgument(contracts.HeaderDeadline, "header %s must be an integer (Unix milliseconds)", contracts.HeaderDeadline)
		}
		req.Deadline = time.UnixMilli(ms)
	} else {
		req.Deadline = time.Now().Add(DefaultRPCTimeout)
	}
	return req, nil
}
