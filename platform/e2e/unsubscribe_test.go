package e2e_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
)

// Every notification email carries a one-click unsubscribe (RFC 8058): the
// List-Unsubscribe link (also in the footer) shows a page on GET and
// changes nothing; the mail client's POST turns email off for that kind,
// without signing in; a forged token is refused.
func TestOneClickUnsubscribe(t *testing.T) {
	t.Parallel()
	mp := startMailpit(t)
	env := startNotifyShop(t, mp.SMTP)
	c := newClient(t, env)
	buyer, s := account(c, "")

	ml := mp.awaitMail(t, s.Email, "Welcome")
	var hdr map[string][]string
	mp.get(t, "/api/v1/message/"+ml.ID+"/headers", &hdr)
	lu, post := first(hdr["List-Unsubscribe"]), first(hdr["List-Unsubscribe-Post"])
	if !strings.HasPrefix(lu, "<") || !strings.HasSuffix(lu, ">") || post != "List-Unsubscribe=One-Click" {
		t.Fatalf("List-Unsubscribe %q, List-Unsubscribe-Post %q: want an RFC 8058 one-click pair", lu, post)
	}
	link, err := url.Parse(strings.Trim(lu, "<>"))
	if err != nil || link.Path != "/api/v1/notifications/unsubscribe" || link.Query().Get("token") == "" {
		t.Fatalf("unsubscribe link %q", lu)
	}
	if !strings.Contains(ml.Text, link.String()) || !strings.Contains(ml.HTML, "unsubscribe") {
		t.Fatalf("the footer lacks the unsubscribe link %s:\n%s", link, ml.Text)
	}
	// The link's host is the configured shop URL; this test's gateway has
	// its own port.
	anon := c.as("")
	target := strings.TrimPrefix(link.RequestURI(), "/api/v1")
	welcomeEmail := func() bool {
		var p contracts.NotificationPreferences
		r := buyer.do("GET", "/notifications/preferences", nil)
		if r.Status != 200 {
			t.Fatalf("preferences: %s", r)
		}
		r.JSON(t, &p)
		return p.Kinds[contracts.KindWelcome].Email
	}

	// GET (a mail scanner, a person clicking): a page, nothing changes.
	r := anon.do("GET", target, nil, "Accept", "text/html")
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.Body), `method="post"`) {
		t.Fatalf("GET of the link: %d %s %.300s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	if !welcomeEmail() {
		t.Fatal("a GET of the unsubscribe link unsubscribed")
	}

	// The one-click POST, as a mail client sends it; twice is the same.
	for range 2 {
		r = anon.do("POST", target, "List-Unsubscribe=One-Click", "Content-Type", "application/x-www-form-urlencoded")
		var got contracts.Unsubscribed
		if r.Status != 200 {
			t.Fatalf("one-click POST: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &got)
		if got.Kind != contracts.KindWelcome || got.Email || got.Message == "" {
			t.Fatalf("one-click POST answered %+v", got)
		}
	}
	if welcomeEmail() {
		t.Fatal("after the one-click POST, welcome emails are still on")
	}
	// A browser's form post gets a page.
	r = anon.do("POST", target, nil, "Accept", "text/html")
	if r.Status != 200 || !strings.Contains(string(r.Body), "no longer get emails") {
		t.Fatalf("form post: %d %.300s", r.Status, r.Body)
	}

	// Forged, cut short or missing tokens: 400, nothing changes.
	tok := link.Query().Get("token")
	for _, bad := range []string{tok[:len(tok)-2], "x" + tok, "abc.def", ""} {
		r = anon.do("POST", "/notifications/unsubscribe?token="+url.QueryEscape(bad), "List-Unsubscribe=One-Click",
			"Content-Type", "application/x-www-form-urlencoded")
		if r.Status != http.StatusBadRequest || r.ErrCode() != string(contracts.CodeInvalidArgument) {
			t.Fatalf("token %q: %d %s, want 400 invalid_argument", bad, r.Status, r.Body)
		}
	}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
