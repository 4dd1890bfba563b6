package user_test

import (
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/token"
)

// TestEndingSessionsRecordsCutoffs: log out everywhere, a password change,
// disabling and a role change each revoke the user's refresh tokens and
// record a cut-off after every token the user holds, announced as
// user.sessions_revoked (with the reason) and listed by user.revocations
// for service callers only; a profile edit ends nothing; a token issued
// after the cut-off is dated after it.
func TestEndingSessionsRecordsCutoffs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAdmin)
	adm := e.admin()
	keys := e.keys()
	issued := func(tok contracts.Tokens) int64 {
		t.Helper()
		c, err := token.Verify(tok.AccessToken, keys, token.Options{})
		if err != nil || c.IssuedAtMicros == 0 {
			t.Fatalf("access token claims %+v: %v", c, err)
		}
		return c.Issued()
	}
	users := map[string]contracts.User{}
	toks := map[string]contracts.Tokens{}
	for _, reason := range []string{contracts.RevokeLogoutAll, contracts.RevokePassword, contracts.RevokeDisabled, contracts.RevokeRole} {
		email := uniqueEmail(reason)
		users[reason] = e.register(email, "Sess "+reason, "")
		toks[reason] = e.login(email, goodPassword)
	}
	name := "Renamed"
	e.ok(actorOf(users[contracts.RevokeRole]), contracts.MethodUserMeUpdate, envl(contracts.UpdateProfileRequest{Name: &name}), nil)
	e.ok(actorOf(users[contracts.RevokeLogoutAll]), contracts.MethodUserLogoutAll, envl(nil), nil)
	e.ok(actorOf(users[contracts.RevokePassword]), contracts.MethodUserPasswordChange,
		envl(contracts.ChangePasswordRequest{CurrentPassword: goodPassword, NewPassword: "Another-Horse-42"}), nil)
	e.ok(adm, contracts.MethodUserAdminUpdate, envl(map[string]any{"disabled": true}, "id", users[contracts.RevokeDisabled].ID), nil)
	e.ok(adm, contracts.MethodUserAdminUpdate, envl(map[string]any{"role": contracts.RoleSeller}, "id", users[contracts.RevokeRole].ID), nil)

	evs := e.eventsOf(contracts.EventUserSessionsRevoked, 4)
	cuts := map[string]time.Time{}
	for _, ev := range evs {
		var d contracts.UserSessionsRevoked
		if err := ev.Decode(&d); err != nil {
			t.Fatal(err)
		}
		u, ok := users[d.Reason]
		if !ok || u.ID != d.UserID {
			t.Fatalf("unexpected revocation %+v", d)
		}
		if d.RevokedBefore.UnixMicro() < issued(toks[d.Reason]) {
			t.Errorf("%s: cut-off %v before the token it should void", d.Reason, d.RevokedBefore)
		}
		cuts[d.UserID] = d.RevokedBefore
		st, _ := e.refresh(toks[d.Reason].RefreshToken)
		if st == contracts.StatusOK {
			t.Errorf("%s: the refresh token still works", d.Reason)
		}
	}
	if len(cuts) != 4 {
		t.Fatalf("revocations of %d users, want 4 (a profile edit must end nothing): %v", len(cuts), cuts)
	}

	loggedOut := cuts[users[contracts.RevokeLogoutAll].ID]
	var rep contracts.RevocationsReply
	e.ok(contracts.Actor{Role: contracts.RoleService}, contracts.MethodUserRevocations, nil, &rep)
	for _, r := range rep.Items {
		if want, ok := cuts[r.UserID]; ok && !r.RevokedBefore.Equal(want) {
			t.Errorf("user.revocations: %s at %v, event said %v", r.UserID, r.RevokedBefore, want)
		}
		delete(cuts, r.UserID)
	}
	if len(cuts) != 0 {
		t.Errorf("user.revocations misses %v", cuts)
	}
	e.fail(actorOf(users[contracts.RevokeLogoutAll]), contracts.MethodUserRevocations, nil, contracts.CodePermissionDenied)

	again := e.login(users[contracts.RevokeLogoutAll].Email, goodPassword)
	if issued(again) <= loggedOut.UnixMicro() {
		t.Errorf("a token issued after log out everywhere is dated at or before its cut-off %v", loggedOut)
	}
}
