package payment_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/services/order"
	"github.com/opencommerce/opencommerce/services/order/payment"
)

func TestLuhnAndBrand(t *testing.T) {
	for _, tc := range []struct {
		number string
		luhn   bool
		brand  string
	}{
		{"4242424242424242", true, "visa"},
		{"4242424242424241", false, "visa"},
		{"5555555555554444", true, "mastercard"},
		{"2223003122003222", true, "mastercard"},
		{"378282246310005", true, "amex"},
		{"6011111111111117", true, "discover"},
		{"7000000000000000", false, "unknown"},
	} {
		if got := payment.Luhn(tc.number); got != tc.luhn {
			t.Errorf("Luhn(%s) = %v", tc.number, got)
		}
		if got := payment.Brand(tc.number); got != tc.brand {
			t.Errorf("Brand(%s) = %s, want %s", tc.number, got, tc.brand)
		}
	}
}

func provider(t *testing.T) (*payment.TestProvider, *pgxpool.Pool) {
	t.Helper()
	pool := testenv.PGPool(t, order.Migrations)
	now := func() time.Time { return time.Date(2030, 6, 15, 0, 0, 0, 0, time.UTC) }
	return payment.NewTestProvider(pool, now), pool
}

func TestTokenizeValidation(t *testing.T) {
	t.Parallel()
	p, _ := provider(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		card  payment.Card
		field string // "" = valid
	}{
		{"ok", payment.Card{Number: "4242 4242 4242 4242", ExpMonth: 6, ExpYear: 2030, CVC: "123"}, ""},
		{"two-digit year", payment.Card{Number: "4242424242424242", ExpMonth: 1, ExpYear: 31, CVC: "123"}, ""},
		{"amex 4-digit cvc", payment.Card{Number: "378282246310005", ExpMonth: 1, ExpYear: 2031, CVC: "1234"}, ""},
		{"amex 3-digit cvc", payment.Card{Number: "378282246310005", ExpMonth: 1, ExpYear: 2031, CVC: "123"}, "payment.cvc"},
		{"empty", payment.Card{ExpMonth: 1, ExpYear: 2031, CVC: "123"}, "payment.card_number"},
		{"luhn", payment.Card{Number: "4242424242424241", ExpMonth: 1, ExpYear: 2031, CVC: "123"}, "payment.card_number"},
		{"short", payment.Card{Number: "42424242", ExpMonth: 1, ExpYear: 2031, CVC: "123"}, "payment.card_number"},
		{"expired last month", payment.Card{Number: "4242424242424242", ExpMonth: 5, ExpYear: 2030, CVC: "123"}, "payment.exp_year"},
		{"month 0", payment.Card{Number: "4242424242424242", ExpMonth: 0, ExpYear: 2031, CVC: "123"}, "payment.exp_month"},
		{"far future", payment.Card{Number: "4242424242424242", ExpMonth: 1, ExpYear: 2090, CVC: "123"}, "payment.exp_year"},
		{"cvc letters", payment.Card{Number: "4242424242424242", ExpMonth: 1, ExpYear: 2031, CVC: "12a"}, "payment.cvc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := p.Tokenize(ctx, tc.card)
			if tc.field == "" {
				if err != nil || len(tok.Token) < 10 || tok.Last4 == "" {
					t.Fatalf("tokenize: %+v %v", tok, err)
				}
				return
			}
			ce := contracts.AsError(err)
			if ce.Code != contracts.CodeInvalidArgument || ce.Details["field"] != tc.field {
				t.Fatalf("err = %v (%v), want invalid %s", err, ce.Details, tc.field)
			}
		})
	}
}

// TestChargeIdempotent: concurrent charges with one key charge once and
// all see the same outcome; a key reused for another amount is refused;
// declines are outcomes, not errors.
func TestChargeIdempotent(t *testing.T) {
	t.Parallel()
	p, pool := provider(t)
	ctx := context.Background()
	card := func(n string) string {
		tok, err := p.Tokenize(ctx, payment.Card{Number: n, ExpMonth: 12, ExpYear: 2031, CVC: "123"})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Token
	}
	ok := card(payment.TestCardSuccess)
	amount := contracts.USD(1999)
	refs := make([]string, 10)
	var wg sync.WaitGroup
	for i := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch, err := p.Charge(ctx, "order-1", ok, amount)
			if err != nil || ch.Status != payment.ChargeSucceeded {
				t.Errorf("charge: %+v %v", ch, err)
			}
			refs[i] = ch.Ref
		}()
	}
	wg.Wait()
	for _, r := range refs {
		if r != refs[0] {
			t.Fatalf("refs differ: %v", refs)
		}
	}
	var n int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM test_provider_charges`).Scan(&n)
	if n != 1 {
		t.Fatalf("charges = %d", n)
	}
	if _, err := p.Charge(ctx, "order-1", ok, contracts.USD(1)); contracts.ErrorCode(err) != contracts.CodeInvalidArgument {
		t.Fatalf("reused key with another amount: %v", err)
	}

	for n, code := range map[string]string{
		payment.TestCardDeclined:          payment.DeclineCardDeclined,
		payment.TestCardInsufficientFunds: payment.DeclineInsufficientFunds,
	} {
		ch, err := p.Charge(ctx, "order-"+n, card(n), amount)
		if err != nil || ch.Status != payment.ChargeDeclined || ch.DeclineCode != code {
			t.Fatalf("%s: %+v %v", n, ch, err)
		}
	}

	// Refunds: idempotent per key, bounded by the charge.
	r1, err := p.Refund(ctx, "refund-1", refs[0], amount)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := p.Refund(ctx, "refund-1", refs[0], amount)
	if err != nil || r2.Ref != r1.Ref {
		t.Fatalf("refund replay: %+v %v", r2, err)
	}
	if _, err := p.Refund(ctx, "refund-2", refs[0], contracts.USD(1)); contracts.ErrorCode(err) != contracts.CodeFailedPrecondition {
		t.Fatalf("refund beyond the charge: %v", err)
	}
}
