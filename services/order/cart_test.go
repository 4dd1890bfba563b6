package order_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
)

func TestCartValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start(nil)
	good := e.prod.add("Kettle", 2500, 10, sellerA, contracts.ProductActive)
	draft := e.prod.add("Prototype", 100, 10, sellerA, contracts.ProductDraft)
	empty := e.prod.add("Sold out", 100, 0, sellerA, contracts.ProductActive)
	unknown := uuid.NewString()

	for _, tc := range []struct {
		name    string
		product string
		qty     int64
		code    contracts.Code
		msg     string
	}{
		{"unknown product", unknown, 1, contracts.CodeInvalidArgument, "product " + unknown + " does not exist"},
		{"unpublished product (a draft shows nothing of itself)", draft, 1, contracts.CodeInvalidArgument, "product " + draft + " does not exist"},
		{"zero quantity", good, 0, contracts.CodeInvalidArgument, "quantity must be between 1 and 100, not 0"},
		{"too many", good, 101, contracts.CodeInvalidArgument, "quantity must be between 1 and 100, not 101"},
		{"bad id", "../etc", 1, contracts.CodeInvalidArgument, "not a valid id"},
		{"out of stock", empty, 1, contracts.CodeFailedPrecondition, "out of stock"},
		{"more than left", good, 11, contracts.CodeFailedPrecondition, "only 10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			failed(t, e.setItem(buyer, tc.product, tc.qty), tc.code, tc.msg)
		})
	}
	r := e.call(buyer, contracts.MethodOrderCartSetItem, contracts.Params{"product_id": {good}},
		contracts.CartSetItemRequest{Quantity: 1, VariantID: uuid.NewString()}, nil)
	failed(t, r, contracts.CodeInvalidArgument, "has no variant")
	failed(t, e.call(buyer, contracts.MethodOrderCartSetItem, contracts.Params{"product_id": {good}}, map[string]any{"quantity": "2"}, nil),
		contracts.CodeInvalidArgument, "quantity")
	failed(t, e.call(contracts.Actor{}, contracts.MethodOrderCartGet, nil, nil, nil), contracts.CodeUnauthenticated, "sign in")

	// Setting replaces the quantity; the line keeps its place.
	ok[contracts.Cart](t, e.setItem(buyer, good, 2))
	other := e.prod.add("Cup", 300, 10, sellerB, contracts.ProductActive)
	ok[contracts.Cart](t, e.setItem(buyer, other, 1))
	c := ok[contracts.Cart](t, e.setItem(buyer, good, 3))
	if len(c.Items) != 2 || c.Items[0].ProductID != good || c.Items[0].Quantity != 3 || c.Subtotal.Amount != 3*2500+300 {
		t.Fatalf("cart = %+v", c)
	}
	if ttl := e.deps.Redis.PTTL(t.Context(), e.deps.RedisPrefix+"cart:"+buyer.ID).Val(); ttl < 29*24*time.Hour {
		t.Fatalf("cart ttl = %v, want about 30 days", ttl)
	}

	// A product that leaves the catalogue stays in the cart, flagged, and
	// out of the subtotal; checkout refuses it by name.
	e.prod.mu.Lock()
	e.prod.products[other].Status = contracts.ProductArchived
	e.prod.mu.Unlock()
	c = ok[contracts.Cart](t, e.call(buyer, contracts.MethodOrderCartGet, nil, nil, nil))
	if c.Items[1].Available || c.Items[1].Problem != "inactive" || c.Subtotal.Amount != 3*2500 {
		t.Fatalf("cart = %+v", c)
	}
	failed(t, e.checkout(buyer, key(), checkoutBody(cardOK)), contracts.CodeInvalidArgument, `"Cup" is not for sale`)

	if r := e.call(buyer, contracts.MethodOrderCartRemoveItem, contracts.Params{"product_id": {other}}, nil, nil); !r.OK() {
		t.Fatalf("remove: %s %s", r.Status, r.Body)
	}
	c = ok[contracts.Cart](t, e.call(buyer, contracts.MethodOrderCartGet, nil, nil, nil))
	if len(c.Items) != 1 {
		t.Fatalf("after remove: %+v", c)
	}
	if r := e.call(buyer, contracts.MethodOrderCartClear, nil, nil, nil); !r.OK() {
		t.Fatalf("clear: %s", r.Status)
	}
	if c := ok[contracts.Cart](t, e.call(buyer, contracts.MethodOrderCartGet, nil, nil, nil)); len(c.Items) != 0 {
		t.Fatalf("after clear: %+v", c)
	}
	failed(t, e.checkout(buyer, key(), checkoutBody(cardOK)), contracts.CodeFailedPrecondition, "cart is empty")
}

func TestCartLineLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start(nil)
	for i := range contracts.MaxCartLines {
		ok[contracts.Cart](t, e.setItem(buyer, e.prod.add("P", int64(100+i), 5, sellerA, contracts.ProductActive), 1))
	}
	failed(t, e.setItem(buyer, e.prod.add("One too many", 1, 5, sellerA, contracts.ProductActive), 1), contracts.CodeFailedPrecondition, "cart is full")
}

func TestCheckoutValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	addrID := uuid.NewString()
	fakeUsers(t, e.deps, map[string][]contracts.Address{buyer.ID: {{
		ID: addrID, Line1: "9 Elm Rd", City: "Shelbyville", PostalCode: "99999", Country: "US",
	}}})
	e.start(nil)
	p := e.prod.add("Bike", 50000, 5, sellerA, contracts.ProductActive)
	line := contracts.LineInput{ProductID: p, Quantity: 1}
	year := time.Now().Year()
	mod := func(f func(*contracts.CheckoutRequest)) contracts.CheckoutRequest {
		b := checkoutBody(cardOK, line)
		f(&b)
		return b
	}
	for _, tc := range []struct {
		name string
		body contracts.CheckoutRequest
		msg  string
	}{
		{"no address", mod(func(b *contracts.CheckoutRequest) { b.Address = nil }), "shipping address is required"},
		{"both addresses", mod(func(b *contracts.CheckoutRequest) { b.AddressID = addrID }), "not both"},
		{"address missing city", mod(func(b *contracts.CheckoutRequest) { a := *testAddress; a.City = " "; b.Address = &a }), "address.city is required"},
		{"bad country", mod(func(b *contracts.CheckoutRequest) { a := *testAddress; a.Country = "USA"; b.Address = &a }), "two-letter"},
		{"unknown address id", mod(func(b *contracts.CheckoutRequest) { b.Address = nil; b.AddressID = uuid.NewString() }), "not in your address book"},
		{"luhn", mod(func(b *contracts.CheckoutRequest) { b.Payment.CardNumber = "4242424242424241" }), "checksum"},
		{"letters", mod(func(b *contracts.CheckoutRequest) { b.Payment.CardNumber = "4242abcd42424242" }), "12 to 19 digits"},
		{"expired", mod(func(b *contracts.CheckoutRequest) { b.Payment.ExpYear = year - 1 }), "expired"},
		{"month", mod(func(b *contracts.CheckoutRequest) { b.Payment.ExpMonth = 13 }), "exp_month"},
		{"cvc", mod(func(b *contracts.CheckoutRequest) { b.Payment.CVC = "12" }), "cvc must be 3 digits"},
		{"method", mod(func(b *contracts.CheckoutRequest) { b.Payment.Method = "iou" }), "not supported"},
		{"quantity", mod(func(b *contracts.CheckoutRequest) { b.Items[0].Quantity = 0 }), "items[0].quantity"},
		{"duplicate line", mod(func(b *contracts.CheckoutRequest) { b.Items = append(b.Items, line) }), "repeats"},
		{"unknown product", mod(func(b *contracts.CheckoutRequest) { b.Items[0].ProductID = uuid.NewString() }), "does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			failed(t, e.checkout(buyer, key(), tc.body), contracts.CodeInvalidArgument, tc.msg)
		})
	}
	failed(t, e.checkout(buyer, key(), mod(func(b *contracts.CheckoutRequest) { b.Items[0].Quantity = 6 })), contracts.CodeFailedPrecondition, "only 5")
	if n := e.count(`SELECT count(*) FROM orders`); n != 0 {
		t.Fatalf("%d orders stored by refused checkouts", n)
	}

	// A saved address is snapshotted into the order.
	o := ok[contracts.Order](t, e.checkout(buyer, key(), mod(func(b *contracts.CheckoutRequest) { b.Address = nil; b.AddressID = addrID })))
	if o.ShippingAddress.Line1 != "9 Elm Rd" || o.ShippingAddress.City != "Shelbyville" {
		t.Fatalf("address = %+v", o.ShippingAddress)
	}
}

// TestCheckoutWithoutUserService: address_id needs the user service; when
// nobody serves it the checkout is unavailable, not a 500.
func TestCheckoutWithoutUserService(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start(nil)
	p := e.prod.add("Bike", 50000, 5, sellerA, contracts.ProductActive)
	b := checkoutBody(cardOK, contracts.LineInput{ProductID: p, Quantity: 1})
	b.Address, b.AddressID = nil, uuid.NewString()
	failed(t, e.checkout(buyer, key(), b), contracts.CodeUnavailable, "user service unavailable")
}

// TestCartHidesProductsTakenBackToDraft: a product in a cart that its
// seller takes back to draft shows nothing of itself any more (no name,
// image or price) and is left out of the subtotal, like a deleted one.
func TestCartHidesProductsTakenBackToDraft(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start(nil)
	pid := e.prod.add("Secret Prototype", 9900, 10, sellerA, contracts.ProductActive)
	if r := e.setItem(buyer, pid, 1); !r.OK() {
		t.Fatalf("add: %s %s", r.Status, r.Body)
	}
	e.prod.mu.Lock()
	e.prod.products[pid].Status = contracts.ProductDraft
	e.prod.mu.Unlock()
	r := e.call(buyer, contracts.MethodOrderCartGet, nil, nil, nil)
	if !r.OK() || strings.Contains(string(r.Body), "Secret Prototype") {
		t.Fatalf("cart leaks the draft: %s %s", r.Status, r.Body)
	}
	c := ok[contracts.Cart](t, r)
	if len(c.Items) != 1 || c.Items[0].Available || c.Items[0].Problem != "not_found" || c.Items[0].UnitPrice.Amount != 0 || c.Subtotal.Amount != 0 {
		t.Fatalf("cart = %+v", c)
	}
}
