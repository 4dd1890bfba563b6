package order

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/opencommerce/opencommerce/contracts"
)

// Order numbers: every order has a short, unique, human-friendly number
// from the order_numbers sequence (starting at 100001), shown to people
// as "#100042" and accepted wherever an order id is (GET /orders/{id}).
// The id's first hex digits cannot serve: a UUIDv7 starts with a
// timestamp, shared by every order of the same minute. A sequence leaves
// gaps (a checkout that fails after taking a number) and that is fine.

// number is o.Number as shown to people (without the "#").
func (o *Order) number() string {
	if o.Number == 0 {
		return ""
	}
	return strconv.FormatInt(o.Number, 10)
}

// parseNumber reads an order number as people write it: "100042" or
// "#100042". ok is false for anything else.
func parseNumber(ref string) (int64, bool) {
	ref = strings.TrimPrefix(strings.TrimSpace(ref), "#")
	if ref == "" || len(ref) > 18 {
		return 0, false
	}
	n, err := strconv.ParseInt(ref, 10, 64)
	return n, err == nil && n > 0
}

// orderID resolves the {id} of a route, an order id or an order number,
// to the order id. What is neither (or no order's number) is not_found,
// like an unknown id; who may see the order is checked after.
func (s *Service) orderID(ctx context.Context, ref string) (string, error) {
	if isUUID(ref) {
		return ref, nil
	}
	n, ok := parseNumber(ref)
	if !ok {
		return "", contracts.NotFound("order")
	}
	return s.store.IDByNumber(ctx, n)
}

// withAttempts adds the order's payment attempts to view (the replies
// about one order carry them; lists do not).
func (s *Service) withAttempts(ctx context.Context, view contracts.Order) (contracts.Order, error) {
	atts, err := s.store.PaymentAttempts(ctx, view.ID)
	if err != nil {
		return contracts.Order{}, fmt.Errorf("load payment attempts of %s: %w", view.ID, err)
	}
	for _, a := range atts {
		view.Payment.Attempts = append(view.Payment.Attempts, contracts.PaymentAttempt{
			Kind: a.Kind, Status: a.Status, Amount: contracts.Money{Amount: a.Amount, Currency: a.Currency}, Error: a.Error,
			Last4: a.Last4,
		})
	}
	return view, nil
}
