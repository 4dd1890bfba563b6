package scrapetest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/platform/platformtest"
)

// client talks to a gateway's public API as a storefront does.
type client struct {
	t     *testing.T
	base  string
	token string
	http  *http.Client
}

func newClient(t *testing.T, env *platformtest.Env) *client {
	return &client{t: t, base: env.BaseURL + "/api/v1", http: &http.Client{Timeout: 30 * time.Second}}
}

func (c *client) as(token string) *client {
	cc := *c
	cc.token = token
	return &cc
}

// send sends a request with body (nil, raw string, or a value sent as
// JSON) and returns the status and body.
func (c *client) send(method, path string, body any, headers ...string) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.do(req)
}

func (c *client) do(req *http.Request) (int, []byte) {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// must sends a request, fails the test unless the status is want, and
// decodes the body into out (when not nil).
func (c *client) must(want int, method, path string, body, out any, headers ...string) {
	c.t.Helper()
	status, b := c.send(method, path, body, headers...)
	if status != want {
		c.t.Fatalf("%s %s: got %d %s, want %d", method, path, status, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

const password = "Corr3ct-Horse-Battery"

// login signs email in and returns the access token.
func (c *client) login(email, pw string) string {
	c.t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	c.must(http.StatusOK, "POST", "/auth/login", map[string]string{"email": email, "password": pw}, &tok)
	return tok.AccessToken
}

// account registers an account with role and returns a client signed in as it.
func (c *client) account(role string) *client {
	c.t.Helper()
	email := fmt.Sprintf("%s-%s@scrape.example.com", role, uuid.NewString()[:8])
	c.must(http.StatusCreated, "POST", "/auth/register",
		map[string]string{"email": email, "password": password, "name": "Scrape " + role, "role": role}, nil)
	return c.as(c.login(email, password))
}

// upload posts a small PNG as a product image.
func (c *client) upload() {
	c.t.Helper()
	var png bytes.Buffer
	if err := pngEncode(&png); err != nil {
		c.t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("purpose", "product_image")
	fw, err := mw.CreateFormFile("file", "pixel.png")
	if err != nil {
		c.t.Fatal(err)
	}
	_, _ = fw.Write(png.Bytes())
	_ = mw.Close()
	req, err := http.NewRequest("POST", c.base+"/files?purpose=product_image", &body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+c.token)
	if status, b := c.do(req); status != http.StatusCreated {
		c.t.Fatalf("upload: %d %s", status, b)
	}
}

func pngEncode(w io.Writer) error {
	return png.Encode(w, image.NewRGBA(image.Rect(0, 0, 8, 8)))
}

// checkout places an order for qty of productID paid with card and waits
// until the saga settled it in want; it returns the order's id.
func (c *client) checkout(productID, card, want string) string {
	c.t.Helper()
	req := contracts.CheckoutRequest{
		Address: &contracts.ShippingAddress{Name: "Ada Lovelace", Line1: "12 St James's Square", City: "London", PostalCode: "SW1Y 4JH", Country: "gb"},
		Items:   []contracts.LineInput{{ProductID: productID, Quantity: 1}},
		Payment: contracts.PaymentInput{Method: "card", CardNumber: card, ExpMonth: 12, ExpYear: time.Now().Year() + 3, CVC: "123"},
	}
	var o contracts.Order
	c.must(http.StatusAccepted, "POST", "/orders", req, &o, "Idempotency-Key", uuid.NewString())
	id := o.ID
	if !testenv.Poll(30*time.Second, func() bool {
		if o.Status == want {
			return true
		}
		o = contracts.Order{}
		c.must(http.StatusOK, "GET", "/orders/"+id, nil, &o)
		return o.Status == want
	}) {
		c.t.Fatalf("order %s: status %s after 30s, want %s", id, o.Status, want)
	}
	return id
}

// shop is the catalogue and accounts the traffic uses.
type shop struct {
	a, b          *client // anonymous, through gateway A and gateway B
	seller, buyer *client // signed in through A
	category      string
	products      []product
}

type product struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
}

// setUp signs the admin, a seller and a buyer in through gateway A, and
// creates a category and two products.
func setUp(t *testing.T, a, b *platformtest.Env) *shop {
	t.Helper()
	s := &shop{a: newClient(t, a), b: newClient(t, b)}
	admin := s.a.as(s.a.login(platformtest.AdminEmail, platformtest.AdminPassword))
	var cat struct {
		ID string `json:"id"`
	}
	admin.must(http.StatusCreated, "POST", "/categories", map[string]any{"name": "Scrape " + uuid.NewString()[:8]}, &cat)
	s.category = cat.ID
	s.seller = s.a.account("seller")
	for i, name := range []string{"Teapot", "Kettle"} {
		var p product
		s.seller.must(http.StatusCreated, "POST", "/products", map[string]any{
			"name": name, "description": "A " + name + " for every day.", "category_id": cat.ID,
			"price": contracts.Money{Amount: int64(1500 + 100*i), Currency: "USD"}, "stock": 50,
		}, &p)
		s.products = append(s.products, p)
	}
	s.buyer = s.a.account("customer")
	return s
}

// round sends a storefront's mix of requests through both gateways: the
// catalogue (browse, search, product pages, twice for cache hits), a
// sign-in, an upload, a cart, a paid and a declined checkout, a 404, a bad
// request, a missing token, and wrong logins on B until its rate limit
// (the default class) refuses them.
func (s *shop) round(t *testing.T) {
	t.Helper()
	ps := s.products
	for _, c := range []*client{s.a, s.b, s.buyer} {
		for range 2 { // the second pass hits the gateway's cache
			c.must(http.StatusOK, "GET", "/categories", nil, nil)
			c.must(http.StatusOK, "GET", "/products?category="+s.category, nil, nil)
			c.must(http.StatusOK, "GET", "/products?q=teapot", nil, nil)
			c.must(http.StatusOK, "GET", "/products/"+ps[0].ID, nil, nil)
			c.must(http.StatusOK, "GET", "/products/by-slug/"+ps[1].Slug, nil, nil)
		}
	}
	s.a.account("customer")
	s.seller.upload()
	s.buyer.must(http.StatusOK, "GET", "/users/me", nil, nil)
	s.buyer.must(http.StatusOK, "PUT", "/cart/items/"+ps[1].ID, contracts.CartSetItemRequest{Quantity: 2}, nil)
	s.buyer.must(http.StatusOK, "GET", "/cart", nil, nil)

	s.buyer.checkout(ps[0].ID, "4242424242424242", contracts.OrderStatusPaid)
	// A declined card leaves the order awaiting another; the buyer gives
	// it up, which cancels it and releases the stock.
	declined := s.buyer.checkout(ps[1].ID, "4000000000000002", contracts.OrderStatusAwaitingPayment)
	s.buyer.must(http.StatusOK, "POST", "/orders/"+declined+"/cancel", nil, nil)

	for _, c := range []*client{s.a, s.b} {
		if status, body := c.send("GET", "/no-such-thing", nil); status != http.StatusNotFound {
			t.Fatalf("GET /no-such-thing: %d %s, want 404", status, body)
		}
		if status, body := c.send("GET", "/products/"+uuid.NewString(), nil); status != http.StatusNotFound {
			t.Fatalf("unknown product: %d %s, want 404", status, body)
		}
		if status, body := c.send("GET", "/users/me", nil); status != http.StatusUnauthorized {
			t.Fatalf("no token: %d %s, want 401", status, body)
		}
	}
	// B's login class is spent after the first round: the bad request goes to A.
	if status, body := s.a.send("POST", "/auth/register", `{"email":`); status != http.StatusBadRequest {
		t.Fatalf("malformed register: %d %s, want 400", status, body)
	}
	// A new email each time: the user service's sign-in throttling (per
	// account and IP) would answer 429 itself after a few failures for one
	// email, and this wants the gateway's limiter to refuse.
	for i := range 20 {
		email := fmt.Sprintf("nobody-%d-%s@scrape.example.com", i, uuid.NewString()[:8])
		status, _ := s.b.send("POST", "/auth/login", map[string]string{"email": email, "password": "wrong-Passw0rd"})
		if status == http.StatusTooManyRequests {
			return
		}
	}
	t.Fatal("20 wrong logins on gateway B were never rate limited")
}
