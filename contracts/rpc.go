package contracts

import (
	"strconv"
	"time"
)

// AMQP names shared by every RPC client and server.
const (
	// RPCExchange is the durable direct exchange requests are published to,
	// with the service name as routing key.
	RPCExchange = "oc.rpc"
	// EventsExchange is the durable topic exchange events are published to,
	// with routing key "<aggregate>.<event>".
	EventsExchange = "oc.events"
	// ContentTypeJSON is the content type of every request, reply and event.
	ContentTypeJSON = "application/json"
)

// RPCQueue is the durable queue a service consumes its requests from.
func RPCQueue(service string) string { return "rpc." + service }

// EventsQueue is the durable queue a service consumes its events from.
func EventsQueue(service string) string { return "events." + service }

// AMQP header names carried by requests and replies.
const (
	// HeaderStatus is set on every reply: "ok" or an error Code.
	HeaderStatus = "x-status"
	// HeaderRequestID carries the edge request id end to end.
	HeaderRequestID = "x-request-id"
	// HeaderDeadline is the caller's absolute deadline, Unix milliseconds.
	HeaderDeadline = "x-deadline"
	// HeaderActorID and HeaderActorRole carry the verified caller identity.
	// Only the gateway sets them, after verifying an access token; a client
	// sending them is ignored.
	HeaderActorID   = "x-actor-id"
	HeaderActorRole = "x-actor-role"
	// HeaderTraceparent is the W3C trace context.
	HeaderTraceparent = "traceparent"
	// StatusOK is the HeaderStatus value of a successful reply.
	StatusOK = "ok"
)

// Roles a user can have.
const (
	RoleCustomer = "customer"
	RoleSeller   = "seller"
	RoleAdmin    = "admin"
	// RoleService is the actor role of a service calling another service on
	// its own behalf (not on behalf of a user).
	RoleService = "service"
)

// Actor is the verified identity a request runs as. The zero Actor is an
// anonymous caller.
type Actor struct {
	ID   string `json:"id,omitempty"`
	Role string `json:"role,omitempty"`
}

// Anonymous reports whether no user is attached.
func (a Actor) Anonymous() bool { return a.ID == "" && a.Role != RoleService }

// IsAdmin reports whether the actor is an administrator.
func (a Actor) IsAdmin() bool { return a.Role == RoleAdmin }

// IsService reports whether the actor is another service of the platform.
func (a Actor) IsService() bool { return a.Role == RoleService }

// Can reports whether the actor may act for the owner ownerID: the owner
// themself, an admin, or a service.
func (a Actor) Can(ownerID string) bool {
	return a.IsAdmin() || a.IsService() || (a.ID != "" && a.ID == ownerID)
}

// Money is an amount in integer minor units with an ISO 4217 currency code.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// DefaultCurrency is the currency of the catalogue.
const DefaultCurrency = "USD"

// USD returns an amount in US dollars (minor units).
func USD(amount int64) Money { return Money{Amount: amount, Currency: DefaultCurrency} }

// Page is a request for one page of a list.
type Page struct {
	Limit  int    `json:"limit,omitempty"`
	Cursor string `json:"cursor,omitempty"`
}

// Page size bounds of every list.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// Normalize bounds Limit to [1, MaxPageSize], DefaultPageSize when unset.
func (p Page) Normalize() Page {
	if p.Limit <= 0 {
		p.Limit = DefaultPageSize
	}
	if p.Limit > MaxPageSize {
		p.Limit = MaxPageSize
	}
	return p
}

// List is one page of a list reply.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
	Total      *int64 `json:"total,omitempty"`
}

// Params carries the path and query parameters of an HTTP request to the
// RPC method as part of the contract. The gateway sends requests with a body
// as {"params":{…},"body":<raw body>} only when the route asks for params;
// see edge for the exact envelope.
type Params map[string][]string

// Get returns the first value of key, or "".
func (p Params) Get(key string) string {
	if v := p[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Envelope is the RPC request body the gateway sends: the path and query
// parameters and the client's JSON body, untouched (raw).
type Envelope struct {
	Params Params `json:"params,omitempty"`
	// Body is the client's request body exactly as received (JSON), or
	// absent for requests without one.
	Body RawJSON `json:"body,omitempty"`
	// Meta carries request metadata a method may need (Idempotency-Key,
	// client IP, user agent).
	Meta map[string]string `json:"meta,omitempty"`
}

// RawJSON is a raw JSON value that marshals as itself.
type RawJSON []byte

// MarshalJSON returns m, or null when empty.
func (m RawJSON) MarshalJSON() ([]byte, error) {
	if len(m) == 0 {
		return []byte("null"), nil
	}
	return m, nil
}

// UnmarshalJSON keeps a copy of data.
func (m *RawJSON) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*m = nil
		return nil
	}
	*m = append((*m)[0:0], data...)
	return nil
}

// Deadline helpers.

// DeadlineHeader formats t as the HeaderDeadline value.
func DeadlineHeader(t time.Time) int64 { return t.UnixMilli() }

// PageOf reads a list request's limit and cursor query parameters: limit
// must be a positive integer (bounded by Normalize); the cursor is opaque
// here and checked by the list that issued it.
func PageOf(p Params) (Page, error) {
	pg := Page{Cursor: p.Get("cursor")}
	if s := p.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return pg, InvalidArgument("limit", "limit must be a positive integer")
		}
		pg.Limit = n
	}
	return pg.Normalize(), nil
}
