package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/platform/platformtest"
)

// client talks to the gateway as a storefront does.
type client struct {
	t     testing.TB
	base  string
	token string
	http  *http.Client
}

func newClient(t testing.TB, env *platformtest.Env) *client {
	return &client{t: t, base: env.BaseURL + "/api/v1", http: &http.Client{Timeout: 30 * time.Second}}
}

// as returns a copy of c that sends token.
func (c *client) as(token string) *client {
	cc := *c
	cc.token = token
	return &cc
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test on error.
func (r response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Map decodes the body as an object.
func (r response) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// ErrCode is the error code of an error body.
func (r response) ErrCode() string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.Status, r.Body) }

// do sends a request; body may be nil, a string (sent raw) or a value
// (JSON-encoded). headers are name/value pairs.
func (c *client) do(method, path string, body any, headers ...string) response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
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
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// must sends a request and fails the test unless the status is want.
func (c *client) must(want int, method, path string, body any, headers ...string) response {
	c.t.Helper()
	r := c.do(method, path, body, headers...)
	if r.Status != want {
		c.t.Fatalf("%s %s: got %s, want %d", method, path, r, want)
	}
	return r
}

// login returns an access token for email/password.
func (c *client) login(email, password string) string {
	c.t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	c.must(http.StatusOK, "POST", "/auth/login", map[string]string{"email": email, "password": password}).JSON(c.t, &tok)
	return tok.AccessToken
}

// register creates an account with role ("customer" or "seller") and
// returns its access token and id.
func (c *client) register(email, role string) (token, id string) {
	c.t.Helper()
	const pw = "Corr3ct-Horse-Battery"
	var reg struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	body := map[string]string{"email": email, "password": pw, "name": "Test " + role}
	if role != "" {
		body["role"] = role
	}
	c.must(http.StatusCreated, "POST", "/auth/register", body).JSON(c.t, &reg)
	return c.login(email, pw), reg.User.ID
}
