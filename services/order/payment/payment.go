// Package payment is the order service's port to a card processor, and the
// built-in test processor.
//
// The order saga charges asynchronously (after the stock is reserved), so
// the card must survive from checkout until the charge without the order
// service ever storing the card number or the CVC: at checkout the card is
// exchanged for a token (Tokenize), and the order keeps only the token, the
// brand and the last four digits.
//
// Charges and refunds carry an idempotency key chosen by the caller (the
// order id for a charge): a provider must return the outcome of the first
// call for every later call with the same key, so a retry after a crash or a
// timeout never charges twice. An error from Charge or Refund therefore
// means "outcome unknown, retry with the same key"; a decline is not an
// error but a Charge with Status declined.
package payment

import (
	"context"

	"github.com/opencommerce/opencommerce/contracts"
)

// Card is a card as the buyer typed it. It is handed to Tokenize and must
// never be logged or stored.
type Card struct {
	Number   string
	ExpMonth int
	ExpYear  int
	CVC      string
}

// Token is a reusable reference to a tokenized card.
type Token struct {
	Token string
	Brand string // visa, mastercard, amex, discover, unknown
	Last4 string
}

// Charge statuses.
const (
	ChargeSucceeded = "succeeded"
	ChargeDeclined  = "declined"
)

// Decline codes of the test provider (card processors use the same names).
const (
	DeclineCardDeclined      = "card_declined"
	DeclineInsufficientFunds = "insufficient_funds"
)

// Charge is the outcome of a charge. Ref is the provider's reference of a
// succeeded charge (used to refund it); DeclineCode is set when Status is
// ChargeDeclined.
type Charge struct {
	Ref         string
	Status      string
	DeclineCode string
	Amount      contracts.Money
}

// Refund is the outcome of a refund.
type Refund struct {
	Ref    string
	Amount contracts.Money
}

// Provider is a card processor. Implementations are safe for concurrent
// use.
type Provider interface {
	// Tokenize validates a card and exchanges it for a token. A card that
	// can never be charged (bad number, expired, bad CVC) is a
	// *contracts.Error invalid_argument naming the field; other errors mean
	// the provider could not be reached (unavailable).
	Tokenize(ctx context.Context, card Card) (Token, error)
	// Charge charges amount to the card behind token. Every call with the
	// same idempotencyKey returns the first call's outcome and charges at
	// most once; reusing a key with a different token or amount is an
	// invalid_argument error. A declined card is a Charge with Status
	// ChargeDeclined and a nil error. A non-nil error means the outcome is
	// unknown: retry with the same key.
	Charge(ctx context.Context, idempotencyKey, token string, amount contracts.Money) (Charge, error)
	// Refund returns amount of the charge chargeRef, idempotently per
	// idempotencyKey. An error means the outcome is unknown: retry with the
	// same key. Refunding more than what is left of the charge is
	// failed_precondition.
	Refund(ctx context.Context, idempotencyKey, chargeRef string, amount contracts.Money) (Refund, error)
}
