package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/services/user/postgres"
)

// A remembered sign-in place is known to its account only, until it
// expires; a later remembrance extends it; Cleanup forgets expired ones
// and keeps live ones.
func TestKnownSignInPlacesExpireAndAreCleanedUp(t *testing.T) {
	pool := testenv.PGPool(t, postgres.Migrations())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := postgres.New(pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	known := func(acct, ip string, at time.Time) bool {
		t.Helper()
		k, err := store.KnownLogin(ctx, acct, ip, at)
		must(err)
		return k
	}
	must(store.RememberLogin(ctx, "ann@example.com", "198.51.100.1", now.Add(time.Hour)))
	must(store.RememberLogin(ctx, "ann@example.com", "198.51.100.2", now.Add(-time.Minute)))
	if !known("ann@example.com", "198.51.100.1", now) {
		t.Error("a remembered place is not known")
	}
	if known("bob@example.com", "198.51.100.1", now) || known("ann@example.com", "198.51.100.3", now) {
		t.Error("a place is known to another account, or an unseen place is known")
	}
	if known("ann@example.com", "198.51.100.1", now.Add(2*time.Hour)) || known("ann@example.com", "198.51.100.2", now) {
		t.Error("an expired place is still known")
	}
	// A shorter remembrance does not cut a longer one short.
	must(store.RememberLogin(ctx, "ann@example.com", "198.51.100.1", now.Add(time.Minute)))
	if !known("ann@example.com", "198.51.100.1", now.Add(30*time.Minute)) {
		t.Error("a later, shorter remembrance shortened the known period")
	}

	must(store.Cleanup(ctx, now, now.Add(-time.Hour)))
	var ips []string
	rows, err := pool.Query(ctx, `SELECT ip FROM login_known ORDER BY ip`)
	must(err)
	for rows.Next() {
		var ip string
		must(rows.Scan(&ip))
		ips = append(ips, ip)
	}
	must(rows.Err())
	if len(ips) != 1 || ips[0] != "198.51.100.1" {
		t.Errorf("known places after clean-up = %v, want [198.51.100.1]", ips)
	}
}
