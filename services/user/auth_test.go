package user_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/token"
	"github.com/opencommerce/opencommerce/services/user"
)

func TestRegisterLoginRefreshLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	u := e.register("Alice@Example.com", "Alice", "")
	if u.Email != "alice@example.com" || u.Role != contracts.RoleCustomer || u.Name != "Alice" || u.ID == "" || u.CreatedAt.IsZero() {
		t.Fatalf("registered user = %+v", u)
	}
	// The same email in another case is the same account.
	dup := e.fail(anon, contracts.MethodUserRegister, envl(contracts.RegisterRequest{Email: "ALICE@example.COM", Password: goodPassword, Name: "A2"}), contracts.CodeConflict)
	if dup.Details["field"] != "email" {
		t.Fatalf("conflict details = %v", dup.Details)
	}
	seller := e.register("seller@example.com", "Sam", contracts.RoleSeller)
	if seller.Role != contracts.RoleSeller {
		t.Fatalf("seller role = %q", seller.Role)
	}

	tok := e.login("ALICE@example.com", goodPassword)
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 900 || tok.User.ID != u.ID || tok.RefreshToken == "" {
		t.Fatalf("tokens = %+v", tok)
	}
	claims, err := token.Verify(tok.AccessToken, e.keys(), token.Options{})
	if err != nil {
		t.Fatalf("access token does not verify against user.jwks: %v", err)
	}
	if claims.Subject != u.ID || claims.Role != contracts.RoleCustomer || claims.Issuer != "opencommerce" ||
		claims.Expires-claims.IssuedAt != 900 || claims.ID == "" {
		t.Fatalf("claims = %+v", claims)
	}

	// Refresh rotates: a new pair, and the old refresh token is spent.
	st, b := e.refresh(tok.RefreshToken)
	if st != contracts.StatusOK {
		t.Fatalf("refresh: %s %s", st, b)
	}
	var tok2 contracts.Tokens
	_ = json.Unmarshal(b, &tok2)
	if tok2.RefreshToken == tok.RefreshToken || tok2.AccessToken == tok.AccessToken || tok2.User.ID != u.ID {
		t.Fatalf("refresh did not rotate: %+v", tok2)
	}
	st, b = e.refresh(tok2.RefreshToken)
	if st != contracts.StatusOK {
		t.Fatalf("second refresh: %s %s", st, b)
	}
	var tok3 contracts.Tokens
	_ = json.Unmarshal(b, &tok3)

	// Reusing a spent token revokes the whole family, including the newest.
	reuse := e.fail(anon, contracts.MethodUserRefresh, envl(contracts.RefreshRequest{RefreshToken: tok.RefreshToken}), contracts.CodeUnauthenticated)
	if !bytes.Contains([]byte(reuse.Message), []byte("already used")) {
		t.Fatalf("reuse message = %q", reuse.Message)
	}
	e.fail(anon, contracts.MethodUserRefresh, envl(contracts.RefreshRequest{RefreshToken: tok3.RefreshToken}), contracts.CodeUnauthenticated)

	// Another session is untouched by that revocation; logout ends it.
	other := e.login("alice@example.com", goodPassword)
	var rotated contracts.Tokens
	e.ok(anon, contracts.MethodUserRefresh, envl(contracts.RefreshRequest{RefreshToken: other.RefreshToken}), &rotated)
	// Someone else's logout with that token changes nothing.
	e.ok(actorOf(seller), contracts.MethodUserLogout, envl(contracts.LogoutRequest{RefreshToken: rotated.RefreshToken}), nil)
	e.ok(anon, contracts.MethodUserRefresh, envl(contracts.RefreshRequest{RefreshToken: rotated.RefreshToken}), &rotated)
	e.ok(actorOf(u), contracts.MethodUserLogout, envl(contracts.LogoutRequest{RefreshToken: rotated.RefreshToken}), nil)
	e.fail(anon, contracts.MethodUserRefresh, envl(contracts.RefreshRequest{RefreshToken: rotated.RefreshToken}), contracts.CodeUnauthenticated)
	e.fail(anon, contracts.MethodUserLogout, envl(contracts.LogoutRequest{RefreshToken: rotated.RefreshToken}), contracts.CodeUnauthenticated)

	// Logout of all sessions.
	s1, s2 := e.login("alice@example.com", goodPassword), e.login("alice@example.com", goodPassword)
	e.ok(actorOf(u), contracts.MethodUserLogout, envl(contracts.LogoutRequest{All: true}), nil)
	for _, s := range []contracts.Tokens{s1, s2} {
		e.fail(anon, contracts.MethodUserRefresh, envl(contracts.RefreshRequest{RefreshToken: s.RefreshToken}), contracts.CodeUnauthenticated)
	}
	// Garbage refresh tokens.
	for _, rt := range []string{"x", "AAAA", strings.Repeat("-", 43)} {
		e.fail(anon, contracts.MethodUserRefresh, envl(contracts.RefreshRequest{RefreshToken: rt}), contracts.CodeUnauthenticated)
	}
	// NUL characters are refused as input by the shared decoder.
	e.fail(anon, contracts.MethodUserRefresh, envl(contracts.RefreshRequest{RefreshToken: string(make([]byte, 43))}), contracts.CodeInvalidArgument)

	// Events: registered (twice) with the public fields only.
	evs := e.eventsOf(contracts.EventUserRegistered, 2)
	var reg contracts.UserRegistered
	if err := evs[0].Decode(&reg); err != nil || reg.UserID != u.ID || reg.Email != "alice@example.com" || reg.Name != "Alice" || reg.Role != "customer" {
		t.Fatalf("user.registered = %s (%v)", evs[0].Data, err)
	}
}

func TestLoginSameAnswerForUnknownEmailAndWrongPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register("known@example.com", "Known", "")
	st1, b1 := e.call(anon, contracts.MethodUserLogin, envl(contracts.LoginRequest{Email: "known@example.com", Password: "Wrong-Passw0rd"}))
	st2, b2 := e.call(anon, contracts.MethodUserLogin, envl(contracts.LoginRequest{Email: "nobody@example.com", Password: "Wrong-Passw0rd"}))
	if st1 != string(contracts.CodeUnauthenticated) || st1 != st2 || !bytes.Equal(b1, b2) {
		t.Fatalf("answers differ:\n%s %s\n%s %s", st1, b1, st2, b2)
	}
}

func TestDisabledUserCannotRefreshOrLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAdmin)
	adm := e.admin()
	u := e.register("bob@example.com", "Bob", "")
	tok := e.login("bob@example.com", goodPassword)

	var got contracts.User
	e.ok(adm, contracts.MethodUserAdminUpdate, envl(map[string]any{"disabled": true}, "id", u.ID), &got)
	if !got.Disabled {
		t.Fatalf("not disabled: %+v", got)
	}
	e.fail(anon, contracts.MethodUserRefresh, envl(contracts.RefreshRequest{RefreshToken: tok.RefreshToken}), contracts.CodeUnauthenticated)
	e.fail(anon, contracts.MethodUserLogin, envl(contracts.LoginRequest{Email: "bob@example.com", Password: goodPassword}), contracts.CodePermissionDenied)
	e.fail(actorOf(u), contracts.MethodUserMeGet, envl(nil), contracts.CodePermissionDenied)

	e.ok(adm, contracts.MethodUserAdminUpdate, envl(map[string]any{"disabled": false}, "id", u.ID), &got)
	e.login("bob@example.com", goodPassword)
	upd := e.eventsOf(contracts.EventUserUpdated, 2)
	var ev contracts.UserUpdated
	if err := upd[0].Decode(&ev); err != nil || ev.UserID != u.ID || !ev.Disabled || len(ev.Changed) != 1 || ev.Changed[0] != "disabled" {
		t.Fatalf("user.updated = %s", upd[0].Data)
	}
}

func TestDisabledUserRefreshFailsWhileSessionLive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAdmin)
	u := e.register("carol@example.com", "Carol", "")
	tok := e.login("carol@example.com", goodPassword)
	// Disable straight in the database (as an operator would), leaving the
	// refresh token unrevoked: the refresh must still fail at once.
	if _, err := e.svc.Pool().Exec(t.Context(), `UPDATE users SET disabled = true WHERE id = $1`, u.ID); err != nil {
		t.Fatal(err)
	}
	e.fail(anon, contracts.MethodUserRefresh, envl(contracts.RefreshRequest{RefreshToken: tok.RefreshToken}), contracts.CodePermissionDenied)
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAdmin)
	adm := e.admin()
	e.register("frank@example.com", "Frank", "")
	before := e.login("frank@example.com", goodPassword)
	oldKeys := e.keys()
	if len(oldKeys) != 1 {
		t.Fatalf("keys before rotation = %d", len(oldKeys))
	}

	cust := actorOf(before.User)
	e.fail(cust, contracts.MethodUserAdminRotateKey, envl(nil), contracts.CodePermissionDenied)
	var rk contracts.RotateKeyReply
	e.ok(adm, contracts.MethodUserAdminRotateKey, envl(nil), &rk)
	if _, ok := oldKeys[rk.KID]; ok || rk.KID == "" {
		t.Fatalf("new kid %q not new", rk.KID)
	}
	after := e.login("frank@example.com", goodPassword)
	keys := e.keys()
	if len(keys) != 2 {
		t.Fatalf("keys after rotation = %d, want old and new", len(keys))
	}
	// Old tokens still verify; new ones are signed by the new key.
	for _, tok := range []string{before.AccessToken, after.AccessToken} {
		if _, err := token.Verify(tok, keys, token.Options{}); err != nil {
			t.Fatalf("verify after rotation: %v", err)
		}
	}
	if _, err := token.Verify(after.AccessToken, oldKeys, token.Options{}); !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("new token verified by the old key set: %v", err)
	}

	// A key retired longer ago than an access token lives is unpublished.
	if _, err := e.svc.Pool().Exec(t.Context(), `UPDATE signing_keys SET retired_at = now() - interval '1 day' WHERE retired_at IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	if ks := e.keys(); len(ks) != 1 {
		t.Fatalf("keys after grace = %d", len(ks))
	} else if _, ok := ks[rk.KID]; !ok {
		t.Fatal("active key missing from jwks")
	}
}

func TestConcurrentRefreshOfOneTokenSucceedsOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register("race@example.com", "Race", "")
	tok := e.login("race@example.com", goodPassword)
	body, _ := json.Marshal(envl(contracts.RefreshRequest{RefreshToken: tok.RefreshToken}))
	const n = 8
	statuses := make(chan string, n)
	for range n {
		go func() {
			rep, err := e.deps.RPC.Call(t.Context(), user.Name, contracts.MethodUserRefresh, body, bus.CallOptions{})
			if err != nil {
				statuses <- err.Error()
				return
			}
			statuses <- rep.Status
		}()
	}
	ok := 0
	for range n {
		switch st := <-statuses; st {
		case contracts.StatusOK:
			ok++
		case string(contracts.CodeUnauthenticated):
		default:
			t.Errorf("status %s", st)
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent refreshes of one token succeeded, want exactly 1", ok)
	}
}
