package e2e_test

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/platform/platformtest"
)

// testPassword is the password of every account the user and product
// end-to-end tests register.
const testPassword = "Corr3ct-Horse-Battery"

// startRoomy starts a platform whose gateway login rate class is wide
// enough for a test that registers and signs in many accounts from one IP
// (the default class, 5 in a burst per IP, is what the rate limit test
// exercises on its own platform).
func startRoomy(t *testing.T) *platformtest.Env {
	t.Helper()
	return platformtest.Start(t, platformtest.Options{WideRateLimits: true})
}

// session is a signed-in account as the tests see it.
type session struct {
	ID, Email, Role       string
	Access, Refresh, Pass string
}

// tokenReply is the shape of login and refresh answers.
type tokenReply struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	User         struct {
		ID    string `json:"id"`
		Email string `json:"email"`
		Role  string `json:"role"`
	} `json:"user"`
}

// signUp registers email with role ("" = customer) and signs it in; headers
// go with both requests (an X-Forwarded-For, say).
func signUp(c *client, email, role string, headers ...string) session {
	c.t.Helper()
	body := map[string]string{"email": email, "password": testPassword, "name": "Test " + email}
	if role != "" {
		body["role"] = role
	}
	r := c.must(http.StatusCreated, "POST", "/auth/register", body, headers...)
	noSecrets(c.t, r)
	s := signIn(c, email, testPassword, headers...)
	if role != "" && s.Role != role {
		c.t.Fatalf("registered %s as %q, signed in as %q", email, role, s.Role)
	}
	return s
}

// signIn logs email in and returns the session.
func signIn(c *client, email, password string, headers ...string) session {
	c.t.Helper()
	r := c.must(http.StatusOK, "POST", "/auth/login", map[string]string{"email": email, "password": password}, headers...)
	noSecrets(c.t, r)
	var tok tokenReply
	r.JSON(c.t, &tok)
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn <= 0 || tok.User.ID == "" {
		c.t.Fatalf("login answer incomplete: %s", r.Body)
	}
	return session{ID: tok.User.ID, Email: tok.User.Email, Role: tok.User.Role, Access: tok.AccessToken,
		Refresh: tok.RefreshToken, Pass: password}
}

// adminSession signs the bootstrap admin in.
func adminSession(c *client) session {
	c.t.Helper()
	return signIn(c, platformtest.AdminEmail, platformtest.AdminPassword)
}

// secretMarkers are substrings no answer may ever contain: a password hash
// (argon2 PHC string) or a field that would carry one.
var secretMarkers = []string{"$argon2", "password_hash", "passwordhash", `"hash"`}

// noSecrets fails the test if r's body shows a password hash.
func noSecrets(t testing.TB, r response) {
	t.Helper()
	low := strings.ToLower(string(r.Body))
	for _, m := range secretMarkers {
		if strings.Contains(low, m) {
			t.Errorf("answer leaks %q: %s", m, r.Body)
		}
	}
}

// wantError checks that r is an error answer with status and code and a
// non-empty message, and returns the message.
func wantError(t testing.TB, r response, status int, code string) string {
	t.Helper()
	var e struct {
		Error struct {
			Code    string         `json:"code"`
			Message string         `json:"message"`
			Details map[string]any `json:"details"`
		} `json:"error"`
	}
	if r.Status != status {
		t.Errorf("status %d, want %d: %s", r.Status, status, r.Body)
		return ""
	}
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error.Code != code || e.Error.Message == "" {
		t.Errorf("want error %q with a message, got %s", code, r.Body)
	}
	return e.Error.Message
}

// money is the wire shape of contracts.Money.
type money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// product is the part of the product shape the tests read.
type product struct {
	ID          string `json:"id"`
	Slug        string `json:"slug"`
	Name        string `json:"name"`
	Description string `json:"description"`
	CategoryID  string `json:"category_id"`
	SellerID    string `json:"seller_id"`
	Price       money  `json:"price"`
	Status      string `json:"status"`
	Stock       int64  `json:"stock"`
	StockStatus string `json:"stock_status"`
	Featured    bool   `json:"featured"`
	Images      []struct {
		FileID string `json:"file_id"`
		URL    string `json:"url"`
	} `json:"images"`
	Rating struct {
		Average float64 `json:"average"`
		Count   int64   `json:"count"`
	} `json:"rating"`
	Reactions map[string]int64 `json:"reactions"`
}

// productList is a page of products.
type productList struct {
	Items      []product `json:"items"`
	NextCursor string    `json:"next_cursor"`
}

// category is the part of the category shape the tests read.
type category struct {
	ID           string      `json:"id"`
	Name         string      `json:"name"`
	Slug         string      `json:"slug"`
	ParentID     *string     `json:"parent_id"`
	ProductCount int64       `json:"product_count"`
	Children     []*category `json:"children"`
}

// find returns the node with id in the subtree of cs.
func findCategory(cs []*category, id string) *category {
	for _, c := range cs {
		if c.ID == id {
			return c
		}
		if f := findCategory(c.Children, id); f != nil {
			return f
		}
	}
	return nil
}

// newCategory creates a category as admin (parent "" = root).
func newCategory(c *client, name, parent string) category {
	c.t.Helper()
	body := map[string]any{"name": name}
	if parent != "" {
		body["parent_id"] = parent
	}
	var cat category
	c.must(http.StatusCreated, "POST", "/categories", body).JSON(c.t, &cat)
	if cat.ID == "" || cat.Slug == "" || cat.Name != name {
		c.t.Fatalf("category answer: %+v", cat)
	}
	return cat
}

// newProduct creates a product as c's seller with price in cents and stock.
func newProduct(c *client, name, categoryID string, cents, stock int64) product {
	c.t.Helper()
	var p product
	c.must(http.StatusCreated, "POST", "/products", map[string]any{
		"name": name, "description": "The " + name + " for every day.", "category_id": categoryID,
		"price": money{Amount: cents, Currency: "USD"}, "stock": stock,
	}).JSON(c.t, &p)
	if p.ID == "" || p.Slug == "" {
		c.t.Fatalf("product answer without id or slug: %+v", p)
	}
	return p
}

// ids returns the ids of ps in order.
func productIDs(ps []product) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

// query builds "?k=v&..." from pairs.
func query(pairs ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		v.Add(pairs[i], pairs[i+1])
	}
	return "?" + v.Encode()
}

// pngBytes is a small valid PNG.
func pngBytes(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for x := range 16 {
		for y := range 16 {
			img.Set(x, y, color.RGBA{uint8(x * 16), uint8(y * 16), 200, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// uploadImage uploads a PNG as a product_image through the gateway and
// returns its file id, or "" and the answer when uploads are not served.
func uploadImage(c *client) (string, response) {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("purpose", "product_image")
	fw, err := mw.CreateFormFile("file", "shoe.png")
	if err != nil {
		c.t.Fatal(err)
	}
	_, _ = fw.Write(pngBytes(c.t))
	_ = mw.Close()
	req, err := http.NewRequest("POST", c.base+"/files?purpose=product_image", &body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("upload: %v", err)
	}
	defer resp.Body.Close()
	var raw bytes.Buffer
	_, _ = raw.ReadFrom(resp.Body)
	r := response{Status: resp.StatusCode, Header: resp.Header, Body: raw.Bytes()}
	if r.Status != http.StatusCreated {
		return "", r
	}
	var f struct {
		ID string `json:"id"`
	}
	r.JSON(c.t, &f)
	return f.ID, r
}

// decode returns r's body decoded into a fresh T (decoding into a reused
// value would keep fields an answer leaves out).
func decode[T any](t testing.TB, r response) T {
	t.Helper()
	var v T
	r.JSON(t, &v)
	return v
}

// fresh zeroes *p and returns p, for decoding an answer into a reused
// variable.
func fresh[T any](p *T) *T {
	var z T
	*p = z
	return p
}

// with returns a copy of c that reports to t (a subtest's).
func (c *client) with(t testing.TB) *client {
	cc := *c
	cc.t = t
	return &cc
}

// gatewayCacheHits reads oc_cache_requests_total{cache="gateway",result="hit"}
// from the platform's admin port.
func gatewayCacheHits(t testing.TB, env *platformtest.Env) float64 {
	t.Helper()
	resp, err := http.Get(env.AdminURL + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	for line := range strings.SplitSeq(b.String(), "\n") {
		if strings.HasPrefix(line, "oc_cache_requests_total{") && strings.Contains(line, `cache="gateway"`) &&
			strings.Contains(line, `result="hit"`) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err == nil {
				return v
			}
		}
	}
	return 0
}
