package payment

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencommerce/opencommerce/contracts"
)

// Test cards of the TestProvider (the numbers card processors use in their
// test modes). Any other number passing the Luhn check succeeds.
const (
	TestCardSuccess           = "4242424242424242"
	TestCardDeclined          = "4000000000000002" // card_declined
	TestCardInsufficientFunds = "4000000000009995" // insufficient_funds
)

// Test-card behaviours recorded with each token.
const (
	behaviourSucceed = "succeed"
)

// TestProvider is a card processor in test mode, durable in PostgreSQL so
// that a crash of the order service (which owns the database) between a
// charge and its recording cannot charge twice: tokens, charges (keyed by
// idempotency key) and refunds live in the tables test_provider_tokens,
// test_provider_charges and test_provider_refunds of the order database
// (created by the order service's migrations). No card number or CVC is
// stored, only the behaviour the test card asks for.
//
// TestProvider is safe for concurrent use, also across processes sharing
// the database.
type TestProvider struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

// NewTestProvider returns a test provider on pool. now may be nil
// (time.Now); expiry checks use it.
func NewTestProvider(pool *pgxpool.Pool, now func() time.Time) *TestProvider {
	if now == nil {
		now = time.Now
	}
	return &TestProvider{pool: pool, now: now}
}

// Tokenize validates card like a processor would (digits only after
// removing spaces and dashes, 12..19 digits, Luhn, month 1..12, year as
// two or four digits and not in the past nor more than 20 years ahead, CVC
// of 3 digits or 4 for American Express) and returns a token "tok_<uuid>"
// that remembers which outcome the test card asks for.
func (p *TestProvider) Tokenize(ctx context.Context, card Card) (Token, error) {
	number := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, card.Number)
	if number == "" {
		return Token{}, contracts.InvalidArgument("payment.card_number", "card number is required")
	}
	if len(number) < 12 || len(number) > 19 || !allDigits(number) {
		return Token{}, contracts.InvalidArgument("payment.card_number", "card number must be 12 to 19 digits")
	}
	if !Luhn(number) {
		return Token{}, contracts.InvalidArgument("payment.card_number", "card number is invalid (checksum)")
	}
	if card.ExpMonth < 1 || card.ExpMonth > 12 {
		return Token{}, contracts.InvalidArgument("payment.exp_month", "exp_month must be 1 to 12")
	}
	year := card.ExpYear
	if year >= 0 && year < 100 {
		year += 2000
	}
	now := p.now().UTC()
	if year < now.Year() || (year == now.Year() && card.ExpMonth < int(now.Month())) {
		return Token{}, contracts.InvalidArgument("payment.exp_year", "card has expired")
	}
	if year > now.Year()+20 {
		return Token{}, contracts.InvalidArgument("payment.exp_year", "exp_year is too far in the future")
	}
	brand := Brand(number)
	cvcLen := 3
	if brand == "amex" {
		cvcLen = 4
	}
	if len(card.CVC) != cvcLen || !allDigits(card.CVC) {
		if brand == "amex" {
			return Token{}, contracts.InvalidArgument("payment.cvc", "cvc must be 4 digits for this card")
		}
		return Token{}, contracts.InvalidArgument("payment.cvc", "cvc must be 3 digits")
	}
	behaviour := behaviourSucceed
	switch number {
	case TestCardDeclined:
		behaviour = DeclineCardDeclined
	case TestCardInsufficientFunds:
		behaviour = DeclineInsufficientFunds
	}
	tok := Token{Token: "tok_" + uuid.NewString(), Brand: brand, Last4: number[len(number)-4:]}
	_, err := p.pool.Exec(ctx, `INSERT INTO test_provider_tokens (token, brand, last4, behaviour, exp_month, exp_year)
		VALUES ($1, $2, $3, $4, $5, $6)`, tok.Token, tok.Brand, tok.Last4, behaviour, card.ExpMonth, year)
	if err != nil {
		return Token{}, unavailable("tokenize", err)
	}
	return tok, nil
}

// Charge implements Provider.Charge durably: the first call for a key
// decides the outcome and stores it; later calls read it back.
func (p *TestProvider) Charge(ctx context.Context, idempotencyKey, token string, amount contracts.Money) (Charge, error) {
	if idempotencyKey == "" {
		return Charge{}, contracts.InvalidArgument("idempotency_key", "charge needs an idempotency key")
	}
	if amount.Amount <= 0 || amount.Currency == "" {
		return Charge{}, contracts.InvalidArgument("amount", "charge amount must be positive with a currency")
	}
	var behaviour string
	err := p.pool.QueryRow(ctx, `SELECT behaviour FROM test_provider_tokens WHERE token = $1`, token).Scan(&behaviour)
	if errors.Is(err, pgx.ErrNoRows) {
		return Charge{}, contracts.InvalidArgument("token", "unknown payment token")
	}
	if err != nil {
		return Charge{}, unavailable("charge", err)
	}
	ch := Charge{Status: ChargeSucceeded, Amount: amount, Ref: "ch_" + uuid.NewString()}
	if behaviour != behaviourSucceed {
		ch.Status, ch.DeclineCode = ChargeDeclined, behaviour
	}
	tag, err := p.pool.Exec(ctx, `INSERT INTO test_provider_charges (idempotency_key, token, amount, currency, status, decline_code, ref)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (idempotency_key) DO NOTHING`,
		idempotencyKey, token, amount.Amount, amount.Currency, ch.Status, ch.DeclineCode, ch.Ref)
	if err != nil {
		return Charge{}, unavailable("charge", err)
	}
	if tag.RowsAffected() == 1 {
		return ch, nil
	}
	// A retry: answer what the first call decided.
	var prevToken string
	var prev Charge
	err = p.pool.QueryRow(ctx, `SELECT token, amount, currency, status, decline_code, ref
		FROM test_provider_charges WHERE idempotency_key = $1`, idempotencyKey).
		Scan(&prevToken, &prev.Amount.Amount, &prev.Amount.Currency, &prev.Status, &prev.DeclineCode, &prev.Ref)
	if err != nil {
		return Charge{}, unavailable("charge", err)
	}
	if prevToken != token || prev.Amount != amount {
		return Charge{}, contracts.InvalidArgument("idempotency_key", "idempotency key reused with a different token or amount")
	}
	return prev, nil
}

// Refund implements Provider.Refund durably.
func (p *TestProvider) Refund(ctx context.Context, idempotencyKey, chargeRef string, amount contracts.Money) (Refund, error) {
	if idempotencyKey == "" {
		return Refund{}, contracts.InvalidArgument("idempotency_key", "refund needs an idempotency key")
	}
	if amount.Amount <= 0 {
		return Refund{}, contracts.InvalidArgument("amount", "refund amount must be positive")
	}
	var out Refund
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		var prevCharge string
		err := tx.QueryRow(ctx, `SELECT charge_ref, amount, currency, ref FROM test_provider_refunds WHERE idempotency_key = $1`, idempotencyKey).
			Scan(&prevCharge, &out.Amount.Amount, &out.Amount.Currency, &out.Ref)
		if err == nil {
			if prevCharge != chargeRef || out.Amount != amount {
				return contracts.InvalidArgument("idempotency_key", "idempotency key reused with a different charge or amount")
			}
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var charged, refunded int64
		var currency, status string
		err = tx.QueryRow(ctx, `SELECT amount, refunded_amount, currency, status FROM test_provider_charges
			WHERE ref = $1 FOR UPDATE`, chargeRef).Scan(&charged, &refunded, &currency, &status)
		if errors.Is(err, pgx.ErrNoRows) {
			return contracts.InvalidArgument("charge", "unknown charge %q", chargeRef)
		}
		if err != nil {
			return err
		}
		if status != ChargeSucceeded {
			return contracts.Errorf(contracts.CodeFailedPrecondition, "charge %s was not successful", chargeRef)
		}
		if currency != amount.Currency || refunded+amount.Amount > charged {
			return contracts.Errorf(contracts.CodeFailedPrecondition, "refund of %d %s exceeds what is left of the charge (%d %s)",
				amount.Amount, amount.Currency, charged-refunded, currency)
		}
		out = Refund{Ref: "re_" + uuid.NewString(), Amount: amount}
		if _, err := tx.Exec(ctx, `INSERT INTO test_provider_refunds (idempotency_key, charge_ref, amount, currency, ref)
			VALUES ($1, $2, $3, $4, $5)`, idempotencyKey, chargeRef, amount.Amount, amount.Currency, out.Ref); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE test_provider_charges SET refunded_amount = refunded_amount + $2 WHERE ref = $1`, chargeRef, amount.Amount)
		return err
	})
	if err != nil {
		var ce *contracts.Error
		if errors.As(err, &ce) {
			return Refund{}, ce
		}
		return Refund{}, unavailable("refund", err)
	}
	return out, nil
}

func unavailable(op string, err error) error {
	return fmt.Errorf("test provider %s: %v: %w", op, err, &contracts.Error{Code: contracts.CodeUnavailable, Message: "payment provider unavailable"})
}

// Luhn reports whether the digit string s passes the Luhn checksum.
func Luhn(s string) bool {
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// Brand guesses the card network from the number's prefix.
func Brand(number string) string {
	prefix := func(n int) int {
		if len(number) < n {
			return -1
		}
		v, _ := strconv.Atoi(number[:n])
		return v
	}
	switch {
	case strings.HasPrefix(number, "4"):
		return "visa"
	case prefix(2) >= 51 && prefix(2) <= 55, prefix(4) >= 2221 && prefix(4) <= 2720:
		return "mastercard"
	case prefix(2) == 34 || prefix(2) == 37:
		return "amex"
	case prefix(4) == 6011 || prefix(2) == 65:
		return "discover"
	}
	return "unknown"
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

var _ Provider = (*TestProvider)(nil)
