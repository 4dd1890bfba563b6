package order

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/services/order/payment"
)

// Checkout places an order for actor from the cart (or req.Items) with the
// Idempotency-Key key (req is the decoded request body), and returns the reply body (the order, JSON). The
// same key with the same request replays the stored reply byte for byte;
// with a different request it is conflict. Prices and totals come from the
// catalogue. Errors are *contracts.Error.
func (s *Service) Checkout(ctx context.Context, actor contracts.Actor, key string, req contracts.CheckoutRequest) (json.RawMessage, error) {
	start := time.Now()
	if actor.ID == "" {
		return nil, contracts.Unauthenticated("sign in to place an order")
	}
	if err := contracts.CheckIdempotencyKey(key); err != nil {
		return nil, err
	}
	hash := requestHash(req)
	if rec, err := s.store.Idempotency(ctx, actor.ID, key); err != nil {
		return nil, err
	} else if rec != nil {
		return replay(rec, hash)
	}
	reply, err := s.place(ctx, actor, key, hash, req, start)
	if err != nil {
		// A twin with this key (a client's retry) may have placed the
		// order since the check above, and in doing so emptied the cart or
		// taken the stock this request was about to price: the key's
		// answer is then the twin's, not this request's error.
		if rec, rerr := s.store.Idempotency(ctx, actor.ID, key); rerr == nil && rec != nil {
			return replay(rec, hash)
		}
		return nil, err
	}
	return reply, nil
}

// place prices and stores a new order for Checkout (the key was unused
// when Checkout looked) and returns the reply body. The steps: check the
// input and resolve the lines and the address, price the lines into a new
// order, exchange the card for a token, store the order with its answer,
// then empty the cart.
func (s *Service) place(ctx context.Context, actor contracts.Actor, key string, hash []byte, req contracts.CheckoutRequest, start time.Time) (json.RawMessage, error) {
	if err := checkPaymentInput(req.Payment); err != nil {
		return nil, err
	}
	lines, fromCart, err := s.checkoutLines(ctx, actor.ID, req.Items)
	if err != nil {
		return nil, err
	}
	addr, err := s.shippingAddress(ctx, actor, req)
	if err != nil {
		return nil, err
	}
	callCtx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	pricedLines, err := priceLines(callCtx, s.catalog, lines)
	cancel()
	if err != nil {
		return nil, err
	}
	o, err := s.newOrder(actor, addr, pricedLines, fromCart)
	if err != nil {
		return nil, err
	}
	tok, err := s.provider.Tokenize(ctx, payment.Card{
		Number: req.Payment.CardNumber, ExpMonth: req.Payment.ExpMonth, ExpYear: req.Payment.ExpYear, CVC: req.Payment.CVC,
	})
	if err != nil {
		return nil, err
	}
	o.PaymentToken, o.CardBrand, o.CardLast4 = tok.Token, tok.Brand, tok.Last4
	reply, placed, err := s.storeNew(ctx, o, idemRecord{UserID: actor.ID, Key: key, RequestHash: hash})
	if err != nil || !placed {
		return reply, err // !placed: a concurrent twin won the key, and this is its answer
	}
	s.m.placed.Inc()
	s.m.step.WithLabelValues(stepCheckout).Observe(time.Since(start).Seconds())
	s.log.Info("order placed", "order_id", o.ID, "user_id", o.UserID, "total", o.Total, "currency", o.Currency, "lines", len(o.Items))
	if fromCart {
		// The order is placed; a cart left behind is only untidy.
		if err := s.carts.RemoveLines(context.WithoutCancel(ctx), actor.ID, lines); err != nil {
			s.log.Warn("empty cart after checkout", "user_id", actor.ID, "err", err)
		}
	}
	return reply, nil
}

// newOrder builds the pending order of actor from its priced lines (each
// must be buyable as is, all in one currency), shipped to addr. fromCart
// says whether the lines are the cart's, for the errors' field names.
func (s *Service) newOrder(actor contracts.Actor, addr contracts.ShippingAddress, pricedLines []priced, fromCart bool) (*Order, error) {
	now := s.now().UTC()
	o := &Order{
		ID:            uuid.Must(uuid.NewV7()).String(),
		UserID:        actor.ID,
		Status:        contracts.OrderStatusPending,
		Address:       addr,
		PaymentStatus: contracts.PaymentStatusPending,
		PaymentMethod: "card",
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	for i, p := range pricedLines {
		field := "cart"
		if !fromCart {
			field = fmt.Sprintf("items[%d]", i)
		}
		if p.problem != "" {
			return nil, problemError(field, p)
		}
		if o.Currency == "" {
			o.Currency = p.price.Currency
		} else if p.price.Currency != o.Currency {
			return nil, contracts.InvalidArgument(field, "all items of an order must be priced in one currency (%s and %s)", o.Currency, p.price.Currency)
		}
		it := Item{
			ProductID: p.line.ProductID, VariantID: p.line.VariantID, SellerID: p.item.SellerID, Name: p.item.Name,
			Quantity: p.line.Quantity, UnitPrice: p.price.Amount, Total: p.price.Amount * p.line.Quantity,
		}
		if p.variant != nil {
			it.VariantName, it.VariantOptions, it.SKU = contracts.VariantLabel(p.variant.Properties), p.variant.Properties, p.variant.SKU
		}
		o.Items = append(o.Items, it)
		o.Subtotal += it.Total
	}
	o.Total = o.Subtotal // shipping and taxes are not modelled yet
	if o.Total <= 0 {
		return nil, contracts.Errorf(contracts.CodeFailedPrecondition, "the order total must be positive")
	}
	return o, nil
}

// storeNew numbers the new order o and stores it with order.placed and
// its answer (rec with the reply filled in) under the user's key. When a
// concurrent twin stored its order under the key first, placed is false
// and reply is the twin's answer (or conflict if it differs).
func (s *Service) storeNew(ctx context.Context, o *Order, rec idemRecord) (reply json.RawMessage, placed bool, err error) {
	if o.Number, err = s.store.NextNumber(ctx); err != nil {
		return nil, false, err
	}
	if reply, err = json.Marshal(o.View("")); err != nil {
		return nil, false, err
	}
	rec.OrderID, rec.Reply = o.ID, reply
	o.record(o.placedEvent())
	err = s.store.Create(ctx, o, rec)
	if errors.Is(err, errDuplicateKey) {
		prev, err := s.store.Idempotency(ctx, rec.UserID, rec.Key)
		if err != nil {
			return nil, false, err
		}
		if prev == nil {
			return nil, false, contracts.Errorf(contracts.CodeConflict, "a request with this Idempotency-Key is in progress; retry")
		}
		reply, err = replay(prev, rec.RequestHash)
		return reply, false, err
	}
	if err != nil {
		return nil, false, err
	}
	return reply, true, nil
}

// replay answers a checkout whose key was used before.
func replay(rec *idemRecord, hash []byte) (json.RawMessage, error) {
	if !bytes.Equal(rec.RequestHash, hash) {
		return nil, contracts.Errorf(contracts.CodeConflict,
			"this Idempotency-Key was already used for a different request; use a new key for a new order").
			WithDetail("order_id", rec.OrderID)
	}
	return json.RawMessage(rec.Reply), nil
}

// requestHash fingerprints a checkout request for idempotency. The card
// number enters only as its length and last four digits and the CVC not at
// all, so no derivative of the full number is stored; two requests that
// differ only in the middle digits of the card count as the same request.
func requestHash(req contracts.CheckoutRequest) []byte {
	num := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, req.Payment.CardNumber)
	last4 := num
	if len(num) > 4 {
		last4 = num[len(num)-4:]
	}
	fp := struct {
		AddressID string                     `json:"a"`
		Address   *contracts.ShippingAddress `json:"b"`
		Items     []contracts.LineInput      `json:"i"`
		Method    string                     `json:"m"`
		Card      string                     `json:"c"`
		ExpMonth  int                        `json:"em"`
		ExpYear   int                        `json:"ey"`
	}{req.AddressID, req.Address, req.Items, req.Payment.Method, fmt.Sprintf("%d:%s", len(num), last4), req.Payment.ExpMonth, req.Payment.ExpYear}
	b, _ := json.Marshal(fp)
	sum := sha256.Sum256(b)
	return sum[:]
}

func checkPaymentInput(p contracts.PaymentInput) error {
	if p.Method != "" && p.Method != "card" {
		return contracts.InvalidArgument("payment.method", "payment method %q is not supported (use \"card\")", p.Method)
	}
	if p.CardNumber == "" {
		return contracts.InvalidArgument("payment.card_number", "payment.card_number is required")
	}
	return nil
}

// checkoutLines returns the lines to buy: items when given (validated),
// else the cart (fromCart true).
func (s *Service) checkoutLines(ctx context.Context, userID string, items []contracts.LineInput) ([]cartLine, bool, error) {
	if len(items) == 0 {
		lines, err := s.carts.Lines(ctx, userID)
		if err != nil {
			return nil, false, err
		}
		if len(lines) == 0 {
			return nil, false, contracts.Errorf(contracts.CodeFailedPrecondition, "your cart is empty: add items first or pass items")
		}
		return lines, true, nil
	}
	if len(items) > contracts.MaxCartLines {
		return nil, false, contracts.InvalidArgument("items", "an order holds at most %d lines", contracts.MaxCartLines)
	}
	seen := map[string]bool{}
	lines := make([]cartLine, len(items))
	for i, it := range items {
		field := fmt.Sprintf("items[%d]", i)
		if err := checkLine(field, it.ProductID, it.VariantID, it.Quantity); err != nil {
			return nil, false, err
		}
		f := lineField(it.ProductID, it.VariantID)
		if seen[f] {
			return nil, false, contracts.InvalidArgument(field, "%s repeats an earlier line; give each product (and variant) once", field)
		}
		seen[f] = true
		lines[i] = cartLine{ProductID: it.ProductID, VariantID: it.VariantID, Quantity: it.Quantity}
	}
	return lines, false, nil
}

// checkLine validates the shape of a line (ids, quantity bounds).
// field prefixes the names in errors ("items[2]"); "" for a lone line.
func checkLine(field, productID, variantID string, qty int64) error {
	name := func(n string) string {
		if field == "" {
			return n
		}
		return field + "." + n
	}
	if _, err := uuid.Parse(productID); err != nil || productID == "" {
		return contracts.InvalidArgument(name("product_id"), "product_id %q is not a valid id", productID)
	}
	if variantID != "" {
		if _, err := uuid.Parse(variantID); err != nil {
			return contracts.InvalidArgument(name("variant_id"), "variant_id %q is not a valid id", variantID)
		}
	}
	if qty < 1 || qty > contracts.MaxLineQuantity {
		return contracts.InvalidArgument(name("quantity"), "%s must be between 1 and %d, not %d", name("quantity"), contracts.MaxLineQuantity, qty)
	}
	return nil
}

// shippingAddress resolves the address to snapshot: the inline one
// (validated) or the buyer's saved address_id, read from the user service
// as the buyer.
func (s *Service) shippingAddress(ctx context.Context, actor contracts.Actor, req contracts.CheckoutRequest) (contracts.ShippingAddress, error) {
	switch {
	case req.Address != nil && req.AddressID != "":
		return contracts.ShippingAddress{}, contracts.InvalidArgument("address", "give either address or address_id, not both")
	case req.Address != nil:
		return normalizeAddress(*req.Address)
	case req.AddressID == "":
		return contracts.ShippingAddress{}, contracts.InvalidArgument("address", "a shipping address is required: give address or address_id")
	}
	callCtx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	book, err := s.addresses.Addresses(callCtx, actor)
	if err != nil {
		var ce *contracts.Error
		if errors.As(err, &ce) && ce.Code != contracts.CodeUnavailable {
			// Our own call was refused (it should not be): the user
			// service is not answering usefully.
			return contracts.ShippingAddress{}, contracts.Errorf(contracts.CodeUnavailable, "address book unavailable: %s", ce.Message)
		}
		return contracts.ShippingAddress{}, err
	}
	for _, a := range book {
		if a.ID == req.AddressID {
			return contracts.ShippingAddress{
				Line1: a.Line1, Line2: a.Line2, City: a.City, State: a.State, PostalCode: a.PostalCode, Country: a.Country,
			}, nil
		}
	}
	return contracts.ShippingAddress{}, contracts.InvalidArgument("address_id", "address %s is not in your address book", req.AddressID)
}

// normalizeAddress trims an inline address and checks its fields.
func normalizeAddress(a contracts.ShippingAddress) (contracts.ShippingAddress, error) {
	fields := []struct {
		name     string
		v        *string
		required bool
		max      int
	}{
		{"address.name", &a.Name, false, 200},
		{"address.line1", &a.Line1, true, 200},
		{"address.line2", &a.Line2, false, 200},
		{"address.city", &a.City, true, 100},
		{"address.state", &a.State, false, 100},
		{"address.postal_code", &a.PostalCode, true, 20},
		{"address.country", &a.Country, true, 56},
		{"address.phone", &a.Phone, false, 32},
	}
	for _, f := range fields {
		*f.v = strings.TrimSpace(*f.v)
		if f.required && *f.v == "" {
			return a, contracts.InvalidArgument(f.name, "%s is required", f.name)
		}
		if utf8.RuneCountInString(*f.v) > f.max {
			return a, contracts.InvalidArgument(f.name, "%s must be at most %d characters", f.name, f.max)
		}
	}
	a.Country = strings.ToUpper(a.Country)
	if len(a.Country) != 2 || a.Country[0] < 'A' || a.Country[0] > 'Z' || a.Country[1] < 'A' || a.Country[1] > 'Z' {
		return a, contracts.InvalidArgument("address.country", "address.country must be a two-letter ISO 3166-1 code")
	}
	return a, nil
}
