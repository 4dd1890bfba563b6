package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/services/user/account"
	"github.com/opencommerce/opencommerce/services/user/postgres"
)

// TestCleanupDeletesExpiredAndRevokedSessions runs the janitor's query on
// real rows: expired refresh tokens, tokens revoked more than a day ago,
// stale login counters, long-retired keys and session cut-offs older than
// any token go; live ones stay.
func TestCleanupDeletesExpiredAndRevokedSessions(t *testing.T) {
	pool := testenv.PGPool(t, postgres.Migrations())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := postgres.New(pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	u := account.User{ID: uuid.NewString(), Email: "clean@example.com", Name: "Clean", Role: contracts.RoleCustomer,
		CreatedAt: now, UpdatedAt: now}
	if err := store.CreateUser(ctx, u, "x"); err != nil {
		t.Fatal(err)
	}
	old2 := account.User{ID: uuid.NewString(), Email: "old@example.com", Name: "Old", Role: contracts.RoleCustomer,
		CreatedAt: now, UpdatedAt: now}
	if err := store.CreateUser(ctx, old2, "x"); err != nil {
		t.Fatal(err)
	}
	if err := store.RevokeSessions(ctx, u.ID, contracts.RevokeLogoutAll); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO session_cutoffs (user_id, revoked_before) VALUES ($1, $2)`,
		old2.ID, now.Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	tokens := map[string]struct {
		expires time.Time
		revoked *time.Time
		keep    bool
	}{
		"live":            {expires: now.Add(time.Hour), keep: true},
		"expired":         {expires: now.Add(-time.Minute)},
		"revoked-long":    {expires: now.Add(time.Hour), revoked: ptr(now.Add(-25 * time.Hour))},
		"revoked-lately":  {expires: now.Add(time.Hour), revoked: ptr(now.Add(-time.Hour)), keep: true},
		"expired-revoked": {expires: now.Add(-time.Hour), revoked: ptr(now.Add(-time.Hour))},
	}
	for name, tk := range tokens {
		if _, err := pool.Exec(ctx, `INSERT INTO refresh_tokens (hash, family_id, user_id, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5)`,
			[]byte(name), uuid.NewString(), u.ID, tk.expires, tk.revoked); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `INSERT INTO login_failures (key, window_start, count) VALUES ('acct:old', $1, 3), ('acct:new', $2, 1)`,
		now.Add(-48*time.Hour), now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := store.ActiveKey(ctx); err != nil {
		t.Fatal(err)
	}
	active, err := store.RotateKey(ctx) // retires the first key
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NOT NULL`, now.Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}

	if err := store.Cleanup(ctx, now, now.Add(-time.Hour)); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}

	for name, tk := range tokens {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM refresh_tokens WHERE hash = $1`, []byte(name)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if kept := n == 1; kept != tk.keep {
			t.Errorf("refresh token %q kept = %v, want %v", name, kept, tk.keep)
		}
	}
	var keys []string
	rows, err := pool.Query(ctx, `SELECT key FROM login_failures ORDER BY key`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if rows.Err() != nil || len(keys) != 1 || keys[0] != "acct:new" {
		t.Errorf("login failures after clean-up = %v (%v), want [acct:new]", keys, rows.Err())
	}
	var nkeys int
	var activeLeft bool
	if err := pool.QueryRow(ctx, `SELECT count(*), bool_or(kid = $1) FROM signing_keys`, active.KID).Scan(&nkeys, &activeLeft); err != nil {
		t.Fatal(err)
	}
	if nkeys != 1 || !activeLeft {
		t.Errorf("signing keys after clean-up: %d (active kept %v), want only the active one", nkeys, activeLeft)
	}
	cuts, err := store.Revocations(ctx, now.Add(-72*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(cuts) != 1 || cuts[0].UserID != u.ID {
		t.Errorf("session cut-offs after clean-up: %+v, want only the recent one of %s", cuts, u.ID)
	}
}

func ptr[T any](v T) *T { return &v }
