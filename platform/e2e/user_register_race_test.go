package e2e_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/opencommerce/opencommerce/platform/platformtest"
)

// Issue 4: concurrent registrations with the same email (in any letter
// case) through the gateway: exactly one account is created, every other
// attempt is a 409, and the one account can sign in.
func TestUserConcurrentRegistrationSameEmail(t *testing.T) {
	t.Parallel()
	env := platformtest.Start(t, platformtest.Options{WideRateLimits: true})
	c := newClient(t, env)
	const n = 20
	emails := []string{"race@example.com", "RACE@example.com", "Race@Example.COM", "race@EXAMPLE.com"}
	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make([]response, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			results[i] = c.do("POST", "/auth/register", map[string]string{
				"email": emails[i%len(emails)], "password": "Corr3ct-Horse-Battery", "name": "Racer",
			})
		}(i)
	}
	close(start)
	wg.Wait()
	created, conflicts := 0, 0
	for _, r := range results {
		switch {
		case r.Status == http.StatusCreated:
			created++
		case r.Status == http.StatusConflict && r.ErrCode() == "conflict":
			conflicts++
		default:
			t.Errorf("unexpected answer: %s", r)
		}
	}
	if created != 1 || conflicts != n-1 {
		t.Fatalf("created %d, conflicts %d; want exactly 1 and %d", created, conflicts, n-1)
	}
	tok := c.login("race@example.com", "Corr3ct-Horse-Battery")
	me := c.as(tok).must(http.StatusOK, "GET", "/users/me", nil).Map(t)
	if !strings.EqualFold(me["email"].(string), "race@example.com") {
		t.Fatalf("profile = %v", me)
	}
	// The admin search finds exactly one account for the address.
	admin := c.as(c.login(platformtest.AdminEmail, platformtest.AdminPassword))
	var list struct {
		Items []map[string]any `json:"items"`
	}
	admin.must(http.StatusOK, "GET", "/admin/users?q=race%40example", nil).JSON(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("admin search found %d accounts for the raced email: %v", len(list.Items), list.Items)
	}
}
