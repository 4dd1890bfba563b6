package contracts

import "time"

// Session revocation: the user service records, per user, a cut-off
// "access tokens issued at or before T are void" whenever the user is
// disabled, changes role, changes password or logs out everywhere, and
// announces it with EventUserSessionsRevoked. Every gateway instance keeps
// the cut-offs in memory and refuses older tokens; on start and after each
// reconnect to the broker it loads the cut-offs that can still matter with
// MethodUserRevocations.
//
// user.logout_all ends every session of the caller; user.revocations is
// for service callers only (the gateways).
const (
	MethodUserLogoutAll   = "user.logout_all"  // → {} (204)
	MethodUserRevocations = "user.revocations" // no body → RevocationsReply
)

// EventUserSessionsRevoked carries UserSessionsRevoked.
const EventUserSessionsRevoked = "user.sessions_revoked"

// Reasons of a session revocation (UserSessionsRevoked.Reason).
const (
	RevokeDisabled  = "disabled"
	RevokeRole      = "role_changed"
	RevokePassword  = "password_changed"
	RevokeLogoutAll = "logout_all"
	RevokeBootstrap = "bootstrap_admin"
)

// Revocation is one user's cut-off: every access token of UserID issued at
// or before RevokedBefore (microsecond precision; token claim iat_us, or
// iat in whole seconds for tokens without it) is void.
type Revocation struct {
	UserID        string    `json:"user_id"`
	RevokedBefore time.Time `json:"revoked_before"`
}

// UserSessionsRevoked is the data of EventUserSessionsRevoked.
type UserSessionsRevoked struct {
	Revocation
	Reason string `json:"reason"`
}

// RevocationsReply is the reply of user.revocations: the cut-offs that can
// still void an unexpired access token (those newer than the access-token
// lifetime plus a margin).
type RevocationsReply struct {
	Items []Revocation `json:"items"`
}

func init() {
	Register("user.revocations.reply", RevocationsReply{})
	Register("event.user.sessions_revoked", UserSessionsRevoked{})
}
