package e2e_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/platform/platformtest"
	"github.com/opencommerce/opencommerce/tools/demo"
)

// seedDemo runs `opencommerce demo` (its code, in process) against env's
// gateway as the bootstrap admin.
func seedDemo(t *testing.T, env *platformtest.Env) *demo.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := demo.Seed(ctx, demoConfig(t, env))
	if err != nil {
		t.Fatalf("demo seed: %v", err)
	}
	return res
}

func demoConfig(t *testing.T, env *platformtest.Env) demo.Config {
	return demo.Config{Gateway: env.BaseURL, AdminEmail: platformtest.AdminEmail, AdminPassword: platformtest.AdminPassword,
		Progress: testWriter{t}}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// printedCustomer is the customer account the demo printed.
func printedCustomer(t *testing.T, res *demo.Result) demo.Account {
	t.Helper()
	var b strings.Builder
	res.PrintAccounts(&b)
	for _, a := range res.Accounts {
		if a.Role == contracts.RoleCustomer {
			if !strings.Contains(b.String(), a.Email) || !strings.Contains(b.String(), a.Password) {
				t.Fatalf("the printed accounts do not show the customer %s with its password:\n%s", a.Email, b.String())
			}
			return a
		}
	}
	t.Fatalf("no customer among the demo accounts: %+v", res.Accounts)
	return demo.Account{}
}

// demoCategory finds the demo's category named name in the tree.
func demoCategory(t *testing.T, c *client, name string) *category {
	t.Helper()
	var tree struct{ Items []*category }
	c.must(http.StatusOK, "GET", "/categories", nil).JSON(t, &tree)
	var find func(cs []*category) *category
	find = func(cs []*category) *category {
		for _, x := range cs {
			if x.Name == name {
				return x
			}
			if f := find(x.Children); f != nil {
				return f
			}
		}
		return nil
	}
	for _, root := range tree.Items {
		if root.Name == demo.Marker {
			return find([]*category{root})
		}
	}
	return nil
}

// TestDemoWalkthrough: the demo shop is seeded through the gateway; its
// customer signs in with the printed account, sees the orders in every
// state, buys a lamp with the test card, sees it paid, gets the
// notification over SSE and the email in Mailpit, and the email's order
// link answers.
func TestDemoWalkthrough(t *testing.T) {
	t.Parallel()
	mp := startMailpit(t)
	env := startNotifyShop(t, mp.SMTP)
	res := seedDemo(t, env)
	if res.Existing {
		t.Fatal("a first demo run found demo data on a fresh platform")
	}
	anon := newClient(t, env)
	acct := printedCustomer(t, res)
	cust := signIn(anon, acct.Email, acct.Password)
	c := anon.as(cust.Access)

	// The seeded orders show every state.
	for _, state := range []string{demo.StatePaid, demo.StateShipped, demo.StatePartiallyShipped, demo.StateDelivered,
		demo.StateAwaitingPayment, demo.StateCancelled, demo.StateReturnRequested} {
		id := res.Orders[state]
		if id == "" {
			t.Errorf("no demo order in state %s", state)
			continue
		}
		o := getOrder(c, id)
		want := state
		if state == demo.StateReturnRequested {
			want = contracts.OrderStatusDelivered
			if len(o.Returns) != 1 || o.Returns[0].Status != contracts.ReturnRequested {
				t.Errorf("return order %s: returns %+v, want one requested", id, o.Returns)
			}
		}
		if o.Status != want && !(state == demo.StateAwaitingPayment && o.Status == contracts.OrderStatusCancelled) {
			t.Errorf("demo order %s: status %s, want %s", id, o.Status, want)
		}
		if state == demo.StateShipped && (len(o.Shipments) != 1 || o.Shipments[0].TrackingNumber == "") {
			t.Errorf("shipped order %s: shipments %+v, want one with a tracking number", id, o.Shipments)
		}
	}

	// The catalogue: categories, products with variants, images, reviews.
	lighting := demoCategory(t, anon, "Lighting")
	if lighting == nil {
		t.Fatal("no Lighting category under the demo category")
	}
	var lamp contracts.Product
	testenv.Eventually(t, "the demo lamp listed in its category", func() bool {
		var page contracts.ProductList
		anon.must(http.StatusOK, "GET", "/products"+query("category", lighting.ID), nil).JSON(t, &page)
		for _, p := range page.Items {
			if p.SKU == "DEMO-LAMP" {
				lamp = p
				return true
			}
		}
		return false
	})
	if lamp.ID == "" {
		t.FailNow()
	}
	if len(lamp.Images) != 1 {
		t.Errorf("demo lamp images %+v, want one", lamp.Images)
	} else if r := anon.do("GET", "/files/"+lamp.Images[0].FileID, nil); r.Status != http.StatusOK || !strings.HasPrefix(string(r.Body), "\x89PNG") {
		t.Errorf("demo lamp image: %d, want a PNG", r.Status)
	}
	var all contracts.ProductList
	anon.must(http.StatusOK, "GET", "/products"+query("category", demoCategory(t, anon, demo.Marker).ID, "limit", "100"), nil).JSON(t, &all)
	variants, reviewed := 0, 0
	for _, p := range all.Items {
		variants += len(p.Variants)
		if p.Rating.Count > 0 {
			reviewed++
		}
	}
	if len(all.Items) < 6 || variants < 6 || reviewed < 2 {
		t.Errorf("demo catalogue: %d products, %d variants, %d reviewed; want at least 6, 6, 2", len(all.Items), variants, reviewed)
	}

	// The customer buys the lamp.
	s := openSSE(c, "")
	defer s.Close()
	o := placeOrder(c, newKey(), checkoutOf(cardOK, line(lamp.ID, 1)))
	o = awaitOrder(c, o.ID, contracts.OrderStatusPaid)
	s.collect(t, o.ID, contracts.KindOrderPlaced, contracts.KindOrderPaid)

	// The email, and its link (on the test gateway instead of the
	// configured shop URL).
	ml := mp.awaitMail(t, acct.Email, "Payment confirmed", shortOrder(o))
	page := followLink(t, env, ml, "/orders/")
	if !strings.Contains(page, o.ID) {
		t.Errorf("the order page does not name order %s", o.ID)
	}
	if !strings.Contains(page, o.ID) || !strings.Contains(page, "/api/v1/orders/") || !strings.Contains(page, "/api/v1/docs") {
		t.Errorf("order page does not name the order, the API call and the docs:\n%s", page)
	}
	if strings.Contains(page, acct.Email) || strings.Contains(page, "Brass Desk Lamp") || strings.Contains(page, o.Number) {
		t.Errorf("order page shows more than the id of the link:\n%s", page)
	}

	// The lamp's seller is told to ship it; that email's link answers too.
	for _, a := range res.Accounts {
		if a.Role == contracts.RoleSeller && strings.HasPrefix(a.Email, "southpaw@") {
			sm := mp.awaitMail(t, a.Email, "New order", shortOrder(o))
			if p := followLink(t, env, sm, "/seller/orders"); !strings.Contains(p, "/api/v1/seller/orders") {
				t.Errorf("the seller orders page does not name GET /api/v1/seller/orders:\n%s", p)
			}
		}
	}
}

// followLink finds the first link to a path starting with prefix in ml,
// gets that path from env's gateway, wants 200 HTML and returns the page.
func followLink(t *testing.T, env *platformtest.Env, ml mail, prefix string) string {
	t.Helper()
	link := regexp.MustCompile(`https?://[^\s"'<>/]+` + regexp.QuoteMeta(prefix) + `[^\s"'<>]*`).FindString(ml.Text + "\n" + ml.HTML)
	if link == "" {
		t.Fatalf("no %s link in the email %q:\n%s", prefix, ml.Subject, ml.Text)
	}
	path := link[strings.Index(link, prefix):]
	resp, err := http.Get(env.BaseURL + path)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("email link %s: %d %s, want 200 HTML", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return string(body)
}

// demoSnapshot is what a demo run could change, as the API shows it.
type demoSnapshot struct {
	tree     string
	products int
	orders   int
	reviews  int
}

func snapshot(t *testing.T, anon *client, cust *client) demoSnapshot {
	t.Helper()
	var s demoSnapshot
	s.tree = string(anon.must(http.StatusOK, "GET", "/categories", nil).Body)
	var page contracts.ProductList
	if root := demoCategory(t, anon, demo.Marker); root != nil {
		anon.must(http.StatusOK, "GET", "/products"+query("category", root.ID, "limit", "100"), nil).JSON(t, &page)
	}
	s.products = len(page.Items)
	for _, p := range page.Items {
		s.reviews += int(p.Rating.Count)
	}
	s.orders = len(listOrders(cust, "/orders?limit=100"))
	return s
}

// TestDemoRunsAgainAndRemoves: a second demo run finds the data, changes
// nothing and prints the same accounts; -remove deletes the products and
// categories and disables the accounts; a run after that seeds again.
func TestDemoRunsAgainAndRemoves(t *testing.T) {
	t.Parallel()
	env := startShop(t)
	first := seedDemo(t, env)
	anon := newClient(t, env)
	acct := printedCustomer(t, first)
	cust := anon.as(signIn(anon, acct.Email, acct.Password).Access)
	before := snapshot(t, anon, cust)
	if before.products != 6 || before.orders != 7 || before.reviews != 3 {
		t.Fatalf("after the demo: %+v, want 6 products, 7 orders, 3 reviews", before)
	}

	second := seedDemo(t, env)
	if !second.Existing {
		t.Error("the second demo run did not find the demo data")
	}
	var a, b strings.Builder
	first.PrintAccounts(&a)
	second.PrintAccounts(&b)
	if a.String() != b.String() {
		t.Errorf("the second run printed other accounts:\n%s\nwant\n%s", b.String(), a.String())
	}
	if after := snapshot(t, anon, cust); after != before {
		t.Errorf("the second run changed the data: %+v, was %+v", after, before)
	}

	var lampID string
	for _, p := range func() []contracts.Product {
		var page contracts.ProductList
		anon.must(http.StatusOK, "GET", "/products"+query("category", demoCategory(t, anon, demo.Marker).ID, "limit", "100"), nil).JSON(t, &page)
		return page.Items
	}() {
		if p.SKU == "DEMO-LAMP" {
			lampID = p.ID
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rm, err := demo.Remove(ctx, demoConfig(t, env))
	if err != nil {
		t.Fatalf("demo -remove: %v", err)
	}
	if rm.Products != 6 || rm.Categories != 8 || len(rm.Disabled) != 3 || rm.Files != 6 {
		t.Errorf("removed %+v, want 6 products, 6 files, 8 categories, 3 accounts disabled", rm)
	}
	testenv.Eventually(t, "the demo category gone from the tree", func() bool { return demoCategory(t, anon, demo.Marker) == nil })
	if r := anon.do("GET", "/products/"+lampID, nil); r.Status != http.StatusNotFound {
		t.Errorf("removed demo product: %s, want 404", r)
	}
	if r := anon.do("POST", "/auth/login", map[string]string{"email": acct.Email, "password": acct.Password}); r.Status == http.StatusOK {
		t.Errorf("the disabled demo customer still signs in: %s", r)
	}
	again, err := demo.Remove(ctx, demoConfig(t, env))
	if err != nil || again.Found {
		t.Errorf("a second -remove: %+v, %v; want nothing found", again, err)
	}

	// Seeding again after a removal works (the accounts are enabled again).
	if third := seedDemo(t, env); third.Existing {
		t.Error("a demo run after -remove found the removed data")
	}
	signIn(anon, acct.Email, acct.Password)
}

// TestDemoWaitsOutRateLimits: on a gateway with its default rate limits
// (login and checkout: 5 in a burst) the demo still seeds everything,
// waiting as Retry-After says.
func TestDemoWaitsOutRateLimits(t *testing.T) {
	t.Parallel()
	env := platformtest.Start(t, platformtest.Options{})
	var progress strings.Builder
	cfg := demoConfig(t, env)
	cfg.Progress = &progress
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	res, err := demo.Seed(ctx, cfg)
	t.Log(progress.String())
	if err != nil {
		t.Fatalf("demo seed with the default rate limits: %v", err)
	}
	if len(res.Orders) != 7 || res.Products != 6 {
		t.Errorf("seeded %d orders and %d products, want 7 and 6", len(res.Orders), res.Products)
	}
	if !strings.Contains(progress.String(), "rate limited: waiting as Retry-After says") {
		t.Errorf("the seeding was never rate limited (the test wants the default limits):\n%s", progress.String())
	}
}
