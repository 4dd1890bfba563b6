package order

import (
	"context"
	"errors"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
)

// store is the persistence the order service needs; the domain depends on
// it only (the PostgreSQL adapter, pgStore, is in postgres.go: adapter
// files in this package rather than a sub-package, because the aggregate
// it persists, with its pending change, is this package's and a
// sub-package would need a third package for the shared types).
//
// Updates take a closure over the aggregate so the transaction (row lock,
// save, outbox, the aggregate's attempts, shipments and returns) stays
// inside the adapter. Not-found conditions are *contracts.Error not_found.
// Implementations are safe for concurrent use.
type store interface {
	// Get returns the order id with its items (and shipments and returns
	// where it can have them), or not_found.
	Get(ctx context.Context, id string) (*Order, error)
	// IDByNumber returns the id of the order numbered n, or not_found.
	IDByNumber(ctx context.Context, n int64) (string, error)
	// NextNumber takes the next order number (see number.go).
	NextNumber(ctx context.Context) (int64, error)
	// List returns one page of orders, newest first, with the next cursor.
	List(ctx context.Context, f listFilter) ([]*Order, string, error)
	// PaymentAttempts returns the payment attempts of an order, in order.
	PaymentAttempts(ctx context.Context, orderID string) ([]attempt, error)

	// Idempotency returns the stored answer of (userID, key), or nil.
	Idempotency(ctx context.Context, userID, key string) (*idemRecord, error)
	// Create stores a new order, its items, rec (the idempotent answer;
	// rec.OrderID is o.ID) and the events o recorded in one transaction.
	// It returns errDuplicateKey when the user already used rec.Key (the
	// record is inserted first, so a concurrent twin waits for the first
	// and then fails).
	Create(ctx context.Context, o *Order, rec idemRecord) error
	// Update locks the order id, runs fn on it, and saves the order with
	// the change fn recorded on it (events, payment attempts, shipments,
	// returns, an idempotent answer) in one transaction; it returns the
	// order as saved. fn returning errNoChange saves nothing and makes
	// Update return the order as loaded with a nil error. fn may run more
	// than once (transaction retries), each time on a fresh load.
	Update(ctx context.Context, id string, fn updateFunc) (*Order, error)
	// UpdateOnce is Update for the effect of an event: the event is
	// recorded in the inbox in the same transaction, and a duplicate
	// changes nothing (UpdateOnce returns nil, nil).
	UpdateOnce(ctx context.Context, ev contracts.Event, id string, fn updateFunc) (*Order, error)

	// ClaimCharge takes the charge lease of a reserved order whose lease
	// is free or expired, for lease, as holder; it reports whether it got
	// it. The lease keeps two instances (or the sweeper and the event
	// handler) from charging the same order at once; the provider's
	// idempotency is the backstop.
	ClaimCharge(ctx context.Context, id string, lease time.Duration, holder string) (bool, error)
	// ReclaimHeld renews, for lease, the running charge leases holder
	// holds on reserved orders (its previous run's charges, at Start) and
	// returns those orders, oldest first.
	ReclaimHeld(ctx context.Context, holder string, lease time.Duration, limit int) ([]string, error)
	// StuckReserved returns reserved orders whose charge lease is free or
	// expired, oldest first.
	StuckReserved(ctx context.Context, limit int) ([]string, error)
	// StalePending returns orders pending for longer than olderThan.
	StalePending(ctx context.Context, olderThan time.Duration, limit int) ([]string, error)
	// Unpaid returns orders awaiting payment placed longer than
	// olderThan ago, oldest first.
	Unpaid(ctx context.Context, olderThan time.Duration, limit int) ([]string, error)
	// Unrefunded returns cancelled or refunded orders whose payment is
	// still succeeded (a refund that did not finish).
	Unrefunded(ctx context.Context, limit int) ([]string, error)
	// PurgeIdempotency deletes idempotency answers older than olderThan.
	PurgeIdempotency(ctx context.Context, olderThan time.Duration) (int64, error)

	// ReturnOrder returns the order of the return request id, or
	// not_found.
	ReturnOrder(ctx context.Context, id string) (string, error)
	// GetReturn returns the return request id with its lines, or
	// not_found.
	GetReturn(ctx context.Context, id string) (*Return, error)
	// ListReturns returns one page of return requests, newest first, with
	// the next cursor.
	ListReturns(ctx context.Context, f returnFilter) ([]*Return, string, error)
	// ClaimReturnRefund takes the refund lease of an approved return whose
	// lease is free or expired, for lease, and returns what to refund; ok
	// is false when the return is not approved (refunded already) or
	// another caller holds the lease.
	ClaimReturnRefund(ctx context.Context, returnID string, lease time.Duration) (c refundClaim, ok bool, err error)
	// ReleaseReturnRefund lets the refund lease of an approved return run
	// until retryAfter from now, so the sweeper retries it then.
	ReleaseReturnRefund(ctx context.Context, returnID string, retryAfter time.Duration) error
	// ReturnsToRefund returns approved returns whose refund lease is free
	// or expired, oldest decision first.
	ReturnsToRefund(ctx context.Context, limit int) ([]returnRef, error)
}

// updateFunc changes an order locked for update and records on it the
// change's events and rows (see change). Returning errNoChange saves
// nothing.
type updateFunc func(o *Order) error

// errNoChange is returned by an updateFunc that decided to change nothing.
var errNoChange = errors.New("no change")

// errDuplicateKey reports an idempotency key already used by the user.
var errDuplicateKey = errors.New("idempotency key already used")

// idemRecord is a stored idempotent answer (checkout, pay).
type idemRecord struct {
	UserID      string
	Key         string
	RequestHash []byte
	OrderID     string
	Reply       []byte
}

// attempt is one payment attempt (a charge or a refund).
type attempt struct {
	Kind        string // charge, refund
	Status      string // succeeded, declined, error
	Amount      int64
	Currency    string
	ProviderRef string
	Error       string
	Last4       string // the card charged
}

// listFilter selects the orders of a list.
type listFilter struct {
	UserID   string // only this buyer's orders
	SellerID string // only orders with an item of this seller
	Status   string
	Cursor   string // orders older than this id
	Limit    int
}

// returnFilter selects the return requests of a list.
type returnFilter struct {
	SellerID string // only this seller's
	Status   string
	Cursor   string // requests older than this id
	Limit    int
}

// refundClaim is what a claimed return refund returns: the charge to
// refund against and the amount.
type refundClaim struct {
	ChargeRef string
	Amount    contracts.Money
}

// returnRef names a return request and its order.
type returnRef struct {
	ID, OrderID string
}
