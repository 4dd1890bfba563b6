package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/platform/platformtest"
)

// Test cards of the built-in payment provider (API.md).
const (
	cardOK       = "4242424242424242"
	cardDeclined = "4000000000000002"
	cardNoFunds  = "4000000000009995"
	cardBadLuhn  = "4242424242424241"
	sagaWait     = 30 * time.Second // bound on every wait for the saga
)

// startShop starts a platform whose gateway rate classes are wide enough
// for a test that registers many accounts and places many orders from one
// IP (the limits themselves are the gateway tests' subject).
func startShop(t *testing.T) *platformtest.Env {
	t.Helper()
	return platformtest.Start(t, platformtest.Options{WideRateLimits: true})
}

// accountSeq makes every account email of a test run unique.
var accountSeq atomic.Int64

// account registers a fresh account with role ("" = customer) and returns
// a client signed in as it and its session.
func account(c *client, role string) (*client, session) {
	c.t.Helper()
	if role == "" {
		role = "customer"
	}
	s := signUp(c, fmt.Sprintf("%s%d@orders.example.com", role, accountSeq.Add(1)), role)
	return c.as(s.Access), s
}

// shipTo is the inline shipping address the tests order to.
func shipTo() *contracts.ShippingAddress {
	return &contracts.ShippingAddress{
		Name: "Ada Lovelace", Line1: "12 St James's Square", City: "London", PostalCode: "SW1Y 4JH", Country: "gb",
	}
}

// checkoutOf is a checkout request paying with card to the inline address;
// no items = the cart.
func checkoutOf(card string, items ...contracts.LineInput) contracts.CheckoutRequest {
	return contracts.CheckoutRequest{
		Address: shipTo(),
		Items:   items,
		Payment: contracts.PaymentInput{
			Method: "card", CardNumber: card, ExpMonth: 12, ExpYear: time.Now().Year() + 3, CVC: "123",
		},
	}
}

// line is an order line given at checkout.
func line(productID string, qty int64) contracts.LineInput {
	return contracts.LineInput{ProductID: productID, Quantity: qty}
}

// keySeq makes Idempotency-Keys unique within a test run.
var keySeq atomic.Int64

// newKey is a fresh Idempotency-Key.
func newKey() string { return fmt.Sprintf("e2e-order-%d-%d", time.Now().UnixNano(), keySeq.Add(1)) }

// placeOrder posts a checkout with key and wants 202 with a pending order.
func placeOrder(c *client, key string, req any) contracts.Order {
	c.t.Helper()
	o := decode[contracts.Order](c.t, c.must(http.StatusAccepted, "POST", "/orders", req, "Idempotency-Key", key))
	if o.ID == "" || o.Status != contracts.OrderStatusPending {
		c.t.Fatalf("checkout answer: want a pending order with an id, got %+v", o)
	}
	return o
}

// getOrder reads the order id as c.
func getOrder(c *client, id string) contracts.Order {
	c.t.Helper()
	return decode[contracts.Order](c.t, c.must(http.StatusOK, "GET", "/orders/"+id, nil))
}

// final reports whether an order in status can change no more by itself
// (only named actions move it on).
func final(status string) bool {
	return status == contracts.OrderStatusCancelled || status == contracts.OrderStatusRefunded
}

// awaitOrder polls GET /orders/{id} as c until the order has status want,
// failing at once if it reached another final status, and after sagaWait
// with the last status seen.
func awaitOrder(c *client, id, want string) contracts.Order {
	c.t.Helper()
	var o contracts.Order
	if !testenv.Poll(sagaWait, func() bool {
		o = getOrder(c, id)
		if o.Status != want && final(o.Status) {
			c.t.Fatalf("order %s ended %s (%s), want %s", id, o.Status, o.StatusReason, want)
		}
		return o.Status == want
	}) {
		c.t.Fatalf("order %s still %s after %v, want %s", id, o.Status, sagaWait, want)
	}
	return o
}

// awaitPayment polls the order until its payment has status want.
func awaitPayment(c *client, id, want string) contracts.Order {
	c.t.Helper()
	var o contracts.Order
	if !testenv.Poll(sagaWait, func() bool { o = getOrder(c, id); return o.Payment.Status == want }) {
		c.t.Fatalf("order %s payment still %s after %v, want %s (order %s)", id, o.Payment.Status, sagaWait, want, o.Status)
	}
	return o
}

// inventoryOf reads a product's inventory as c (its seller or an admin).
func inventoryOf(c *client, productID string) contracts.Inventory {
	c.t.Helper()
	return decode[contracts.Inventory](c.t, c.must(http.StatusOK, "GET", "/products/"+productID+"/inventory", nil))
}

// awaitStock polls the inventory as c until it shows stock available and
// reserved units (the inventory follows the order's events
// asynchronously), failing after sagaWait with the last figures.
func awaitStock(c *client, productID string, stock, reserved int64) contracts.Inventory {
	c.t.Helper()
	var inv contracts.Inventory
	if !testenv.Poll(sagaWait, func() bool {
		inv = inventoryOf(c, productID)
		return inv.Stock == stock && inv.Reserved == reserved
	}) {
		c.t.Fatalf("inventory of %s: stock %d reserved %d after %v, want %d and %d", productID, inv.Stock, inv.Reserved,
			sagaWait, stock, reserved)
	}
	return inv
}

// ledgerFor returns the ledger entries of inv that name orderID.
func ledgerFor(inv contracts.Inventory, orderID string) map[string]int64 {
	out := map[string]int64{}
	for _, e := range inv.Ledger {
		if e.OrderID == orderID {
			q := e.Quantity
			if q < 0 {
				q = -q
			}
			out[e.Kind] += q
		}
	}
	return out
}

// setCart puts qty units of productID in c's cart and returns the cart.
func setCart(c *client, productID string, qty int64) contracts.Cart {
	c.t.Helper()
	return decode[contracts.Cart](c.t, c.must(http.StatusOK, "PUT", "/cart/items/"+productID, contracts.CartSetItemRequest{Quantity: qty}))
}

// listOrders is c's GET path (/orders or /seller/orders), all pages.
func listOrders(c *client, path string) []contracts.Order {
	c.t.Helper()
	var out []contracts.Order
	cursor := ""
	for range 100 {
		q := "?limit=50"
		if strings.Contains(path, "?") {
			q = "&limit=50"
		}
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		page := decode[contracts.List[contracts.Order]](c.t, c.must(http.StatusOK, "GET", path+q, nil))
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
	c.t.Fatalf("%s: more than 100 pages", path)
	return nil
}

// findOrder returns the order id in os, or nil.
func findOrder(os []contracts.Order, id string) *contracts.Order {
	for i := range os {
		if os[i].ID == id {
			return &os[i]
		}
	}
	return nil
}

// send is client.do for other goroutines: it reports a transport failure
// as an error instead of failing the test.
func send(c *client, method, path string, body any, headers ...string) (response, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return response{}, err
	}
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(raw))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, err
}

// metric sums the samples of the Prometheus metric name on the platform's
// admin port whose label sets contain every one of labels (`k="v"`).
func metric(t testing.TB, env *platformtest.Env, name string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get(env.AdminURL + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	sum := 0.0
	for l := range strings.SplitSeq(string(b), "\n") {
		if !strings.HasPrefix(l, name+"{") && !strings.HasPrefix(l, name+" ") {
			continue
		}
		ok := true
		for _, want := range labels {
			ok = ok && strings.Contains(l, want)
		}
		f := strings.Fields(l)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); ok && err == nil && !math.IsNaN(v) {
			sum += v
		}
	}
	return sum
}

// charges counts the charges the built-in test payment provider has taken
// (its table lives in the order database). The public API shows only a
// payment's status, so this looks behind it to prove "charged once".
func charges(t testing.TB, env *platformtest.Env) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testenv.WithDatabase(testenv.PGURL, env.Config.DBPrefix+"order"))
	if err != nil {
		t.Fatalf("order database: %v", err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM test_provider_charges`).Scan(&n); err != nil {
		t.Fatalf("count charges: %v", err)
	}
	return n
}

// awaitSettled polls the order until the saga is done with it: paid, or
// ended (cancelled, refunded).
func awaitSettled(c *client, id string) contracts.Order {
	c.t.Helper()
	var o contracts.Order
	if !testenv.Poll(sagaWait, func() bool {
		o = getOrder(c, id)
		return o.Status == contracts.OrderStatusPaid || final(o.Status)
	}) {
		c.t.Fatalf("order %s still %s after %v", id, o.Status, sagaWait)
	}
	return o
}
