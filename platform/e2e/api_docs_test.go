package e2e_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/platform/platformtest"
)

// A newcomer's first requests: / links to the API reference, the OpenAPI
// document and health; every link answers; the reference page's script
// comes from the gateway; /readyz on the public port reports the
// platform's readiness; and the document's own examples for registering
// and signing in work as they are.
func TestFirstRequestsFindTheDocs(t *testing.T) {
	t.Parallel()
	env := platformtest.Start(t, platformtest.Options{})
	root := &client{t: t, base: env.BaseURL, http: &http.Client{Timeout: 30 * time.Second}}

	home := root.must(http.StatusOK, "GET", "/", nil, "Accept", "text/html")
	if ct := home.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("/ answered %q", ct)
	}
	links := regexp.MustCompile(`href="(/[^"]*)"`).FindAllStringSubmatch(string(home.Body), -1)
	seen := map[string]bool{}
	for _, l := range links {
		seen[l[1]] = true
		root.must(http.StatusOK, "GET", l[1], nil)
	}
	for _, want := range []string{"/api/v1/docs", "/api/v1/openapi.json", "/health", "/readyz"} {
		if !seen[want] {
			t.Errorf("/ does not link %s (links: %v)", want, links)
		}
	}
	var homeJSON struct {
		Links map[string]string `json:"links"`
	}
	root.must(http.StatusOK, "GET", "/", nil, "Accept", "application/json").JSON(t, &homeJSON)
	if homeJSON.Links["docs"] != "/api/v1/docs" {
		t.Errorf("/ as JSON: %v", homeJSON)
	}

	page := root.must(http.StatusOK, "GET", "/api/v1/docs", nil)
	script := regexp.MustCompile(`<script src="([^"]+)"`).FindSubmatch(page.Body)
	if script == nil {
		t.Fatalf("no script on the reference page: %s", page.Body)
	}
	js := root.must(http.StatusOK, "GET", string(script[1]), nil)
	if !strings.HasPrefix(js.Header.Get("Content-Type"), "text/javascript") || len(js.Body) < 100<<10 {
		t.Errorf("the page's script: %q, %d bytes", js.Header.Get("Content-Type"), len(js.Body))
	}

	var ready struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	root.must(http.StatusOK, "GET", "/readyz", nil).JSON(t, &ready)
	if !ready.Ready || ready.Checks["amqp"] != "ok" {
		t.Errorf("/readyz: %+v (want ready, with the platform's checks)", ready)
	}

	// The documented examples of register and login, sent as they are.
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody struct {
				Content map[string]struct {
					Example json.RawMessage `json:"example"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
	}
	root.must(http.StatusOK, "GET", "/api/v1/openapi.json", nil).JSON(t, &doc)
	example := func(path string) []byte {
		ex := doc.Paths[path]["post"].RequestBody.Content["application/json"].Example
		if len(ex) == 0 {
			t.Fatalf("no example request for POST %s", path)
		}
		return ex
	}
	api := newClient(t, env)
	api.must(http.StatusCreated, "POST", "/auth/register", example("/api/v1/auth/register"))
	var tokens struct {
		AccessToken string `json:"access_token"`
	}
	api.must(http.StatusOK, "POST", "/auth/login", example("/api/v1/auth/login")).JSON(t, &tokens)
	me := api.as(tokens.AccessToken).must(http.StatusOK, "GET", "/users/me", nil).Map(t)
	if me["email"] != "ada@example.com" {
		t.Errorf("signed in with the documented example as %v", me["email"])
	}
}
