package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/edge/auth"
	"github.com/opencommerce/opencommerce/internal/token"
)

// signAt returns a customer token of sub issued at (with iat_us unless
// secondsOnly, as tokens before iat_us were).
func signAt(t testing.TB, src *source, sub string, at time.Time, secondsOnly bool) string {
	t.Helper()
	c := token.Claims{Subject: sub, Role: contracts.RoleCustomer, IssuedAt: at.Unix(), Expires: at.Add(time.Hour).Unix()}
	if !secondsOnly {
		c.IssuedAtMicros = at.UnixMicro()
	}
	return src.SignClaims(t, c)
}

// TestRevokedSessionIsRefused: after Revoke, a token of the user issued at
// or before the cut-off is refused (also when already verified and
// remembered) with a message telling the user to sign in again; one issued
// after it, in the same second too, is accepted; other users are not
// affected; a cut-off never moves back.
func TestRevokedSessionIsRefused(t *testing.T) {
	src := newSource(t)
	v, clk := newVerifier(src, time.Minute)
	ctx := context.Background()
	cut := clk.now().Truncate(time.Second).Add(500 * time.Millisecond)
	old := signAt(t, src, "u1", cut.Add(-time.Minute), false)
	other := signAt(t, src, "u2", cut.Add(-time.Minute), false)
	for _, tok := range []string{old, other} {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("before the revocation: %v", err)
		}
	}
	v.Revoke("u1", cut)
	_, err := v.Verify(ctx, old)
	wantCode(t, "remembered token after the revocation", err, contracts.CodeUnauthenticated)
	if !auth.IsRevoked(err) || !strings.Contains(contracts.AsError(err).Message, "sign in again") {
		t.Fatalf("refusal %v does not say the session ended", err)
	}
	if _, err := v.Verify(ctx, other); err != nil {
		t.Fatalf("another user's token: %v", err)
	}
	clk.advance(5 * time.Second) // every token below is in the past
	for _, tc := range []struct {
		what    string
		tok     string
		revoked bool
	}{
		{"issued 1µs before the cut-off, same second", signAt(t, src, "u1", cut.Add(-time.Microsecond), false), true},
		{"issued at the cut-off", signAt(t, src, "u1", cut, false), true},
		{"issued 1µs after the cut-off, same second", signAt(t, src, "u1", cut.Add(time.Microsecond), false), false},
		{"issued later", signAt(t, src, "u1", cut.Add(2*time.Second), false), false},
		{"iat only, same second (counts as its start)", signAt(t, src, "u1", cut.Add(100*time.Millisecond), true), true},
		{"iat only, next second", signAt(t, src, "u1", cut.Add(time.Second), true), false},
	} {
		_, err := v.Verify(ctx, tc.tok)
		if got := auth.IsRevoked(err); got != tc.revoked || (!tc.revoked && err != nil) {
			t.Errorf("%s: error %v, want revoked %v", tc.what, err, tc.revoked)
		}
	}
	v.Revoke("u1", cut.Add(-time.Hour)) // an older (re-delivered) cut-off
	if _, err := v.Verify(ctx, signAt(t, src, "u1", cut.Add(-time.Microsecond), false)); !auth.IsRevoked(err) {
		t.Fatalf("an older cut-off moved the cut-off back: %v", err)
	}
}

// TestRevocationFeedOutOfStep: while the feed is down no token is accepted
// (503, not 401: a retry will do); once it is up again, tokens issued after
// that are checked as usual while older ones wait for the load; the load
// puts it in step unless the feed went down meanwhile.
func TestRevocationFeedOutOfStep(t *testing.T) {
	src := newSource(t)
	v, clk := newVerifier(src, time.Minute)
	ctx := context.Background()
	before := signAt(t, src, "u1", clk.now().Add(-time.Minute), false)
	beforeOther := signAt(t, src, "u2", clk.now().Add(-time.Minute), false)

	v.RevocationsDown()
	_, err := v.Verify(ctx, before)
	wantCode(t, "feed down", err, contracts.CodeUnavailable)
	if contracts.AsError(err).Details["retry_after"] == nil {
		t.Fatalf("no retry_after in %v", err)
	}

	gen := v.RevocationsUp()
	_, err = v.Verify(ctx, before)
	wantCode(t, "token from before the reconnection, revocations not loaded", err, contracts.CodeUnavailable)
	clk.advance(time.Second)
	if _, err := v.Verify(ctx, signAt(t, src, "u1", clk.now(), false)); err != nil {
		t.Fatalf("token issued after the reconnection: %v", err)
	}

	stale := v.RevocationsUp() // a reconnection while the first load ran
	if v.LoadRevocations(nil, gen) {
		t.Fatal("a load of an older connection put the feed in step")
	}
	if !v.LoadRevocations([]contracts.Revocation{{UserID: "u1", RevokedBefore: clk.now().Add(-time.Second)}}, stale) {
		t.Fatal("the load did not put the feed in step")
	}
	if _, err := v.Verify(ctx, before); !auth.IsRevoked(err) {
		t.Fatalf("a revocation loaded after reconnecting: %v", err)
	}
	if _, err := v.Verify(ctx, beforeOther); err != nil {
		t.Fatalf("an unrevoked token from before the reconnection: %v", err)
	}
}

// TestSignedInCheckDoesNotAllocate: the session check runs on every
// signed-in request; a remembered token costs no allocation, with
// revocations installed.
func TestSignedInCheckDoesNotAllocate(t *testing.T) {
	src := newSource(t)
	v, clk := newVerifier(src, time.Minute)
	for i := range 1000 {
		v.Revoke("user-"+string(rune('a'+i%26))+time.Duration(i).String(), clk.now())
	}
	v.LoadRevocations(nil, v.RevocationsUp())
	tok := src.sign(t, "u1")
	ctx := context.Background()
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("a signed-in request's token check allocates %.1f times", allocs)
	}
}
