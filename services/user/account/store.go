package account

import (
	"context"
	"crypto/ed25519"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
)

// User and Address are the wire shapes; the domain uses them as they are
// (plain data, no credential in them). A password hash only ever lives in a
// Credential, which never leaves this package and the store.
type (
	User    = contracts.User
	Address = contracts.Address
)

// Credential is a user with their password hash. It is never serialized.
type Credential struct {
	User
	PasswordHash string
}

// RefreshToken is a stored refresh token: only the SHA-256 of the opaque
// token is kept. Tokens of one login share a FamilyID; every refresh marks
// the presented token used and issues the next of the family.
type RefreshToken struct {
	Hash      []byte
	FamilyID  string
	UserID    string
	ExpiresAt time.Time
}

// RotateResult is the outcome of Store.RotateRefresh.
type RotateResult int

// Outcomes of a refresh rotation.
const (
	// RotateOK: the old token was valid and is now used; the new one stored.
	RotateOK RotateResult = iota
	// RotateUnknown: no such token (or expired, or its family revoked).
	RotateUnknown
	// RotateReused: the token was already used; its whole family is now
	// revoked (and this revocation is committed).
	RotateReused
	// RotateDisabled: the user is disabled; the family is now revoked.
	RotateDisabled
)

// SigningKey is an Ed25519 key of the token signer.
type SigningKey struct {
	KID       string
	Private   ed25519.PrivateKey
	Public    ed25519.PublicKey
	CreatedAt time.Time
	RetiredAt *time.Time
}

// WishlistEntry is a stored wishlist entry.
type WishlistEntry struct {
	ProductID string
	AddedAt   time.Time
}

// Failures counts failed login attempts of one key in a window.
type Failures struct {
	Count int
	Since time.Time // start of the current window
	Last  time.Time // the latest failure
}

// Store is the persistence the user service needs. Methods that change a
// user write the matching event (user.registered, user.updated) to the
// outbox in the same transaction. Not-found conditions are returned as
// *contracts.Error not_found; a duplicate email as conflict.
// Implementations are safe for concurrent use.
type Store interface {
	// CreateUser inserts u (ID, CreatedAt set by the caller) with hash.
	CreateUser(ctx context.Context, u User, hash string) error
	// CredentialByEmail finds a user by email (case-insensitively).
	CredentialByEmail(ctx context.Context, email string) (Credential, error)
	// CredentialByID finds a user by id.
	CredentialByID(ctx context.Context, id string) (Credential, error)
	// UpdateUser loads the user, calls fn, and stores the result with a
	// user.updated event naming the changed fields (none changed: no write).
	// When the update disables the user or changes their role, their
	// sessions end in the same transaction (as RevokeSessions).
	UpdateUser(ctx context.Context, id string, fn func(*User) error) (User, error)
	// SetPasswordHash replaces the hash; with revokeSessions, every session
	// of the user ends in the same transaction (as RevokeSessions).
	SetPasswordHash(ctx context.Context, id, hash string, revokeSessions bool) error
	// ListUsers lists users newest first, filtered by q over email and name
	// (case-insensitive substring), after the cursor (an id).
	ListUsers(ctx context.Context, q string, limit int, after string) ([]User, error)
	// BootstrapAdmin creates the admin account or promotes (and enables) it;
	// a promotion ends the account's sessions.
	BootstrapAdmin(ctx context.Context, u User, hash string) (created bool, err error)

	// CreateRefresh stores a new refresh token.
	CreateRefresh(ctx context.Context, t RefreshToken) error
	// RotateRefresh marks the token with hash old used and stores next in
	// its family, unless it is unknown, expired, revoked, already used (then
	// the family is revoked), or its user disabled. It returns the user.
	RotateRefresh(ctx context.Context, old []byte, next RefreshToken, now time.Time) (RotateResult, User, error)
	// RevokeFamilyOf revokes the family of the token with this hash, if the
	// token belongs to userID; it reports whether one was revoked.
	RevokeFamilyOf(ctx context.Context, userID string, hash []byte) (bool, error)
	// RevokeSessions ends every session of userID: its refresh tokens are
	// revoked, its access tokens issued until now are void (a cut-off,
	// never moved back), and user.sessions_revoked (contracts.
	// UserSessionsRevoked with reason) is written to the outbox, all in one
	// transaction.
	RevokeSessions(ctx context.Context, userID, reason string) error
	// Revocations lists the cut-offs later than since.
	Revocations(ctx context.Context, since time.Time) ([]contracts.Revocation, error)

	// ActiveKey returns the newest unretired signing key, creating one if
	// there is none.
	ActiveKey(ctx context.Context) (SigningKey, error)
	// PublicKeys returns every key unretired or retired after since, public
	// halves only (Private is nil).
	PublicKeys(ctx context.Context, since time.Time) ([]SigningKey, error)
	// RotateKey retires the active keys and creates a new active key.
	RotateKey(ctx context.Context) (SigningKey, error)

	// Addresses lists a user's addresses, default first then oldest first.
	Addresses(ctx context.Context, userID string) ([]Address, error)
	// CreateAddress stores a; the first address of a user, or one with
	// IsDefault, becomes the only default. max bounds the address book.
	CreateAddress(ctx context.Context, userID string, a Address, max int) (Address, error)
	// UpdateAddress loads the user's address id (not_found otherwise), calls
	// fn and stores it, keeping at most one default.
	UpdateAddress(ctx context.Context, userID, id string, fn func(*Address) error) (Address, error)
	// DeleteAddress deletes the user's address id (not_found otherwise); if
	// it was the default, the newest remaining address becomes the default.
	DeleteAddress(ctx context.Context, userID, id string) error

	// Wishlist lists a user's entries newest first, after the cursor when
	// not nil.
	Wishlist(ctx context.Context, userID string, limit int, after *WishlistCursor) ([]WishlistEntry, error)
	// AddWishlist adds an entry (idempotent: an existing entry is returned
	// unchanged). max bounds the list.
	AddWishlist(ctx context.Context, userID, productID string, max int) (WishlistEntry, error)
	// RemoveWishlist removes an entry; removing a missing one is not_found.
	RemoveWishlist(ctx context.Context, userID, productID string) error

	// LoginFailures returns the failures of key in the window ending now.
	LoginFailures(ctx context.Context, key string, window time.Duration, now time.Time) (Failures, error)
	// AddLoginFailure counts one failure of each key, dated now (a key's
	// window starts again when the last one ended).
	AddLoginFailure(ctx context.Context, keys []string, window time.Duration, now time.Time) error
	// ClearLoginFailures forgets the failures of key.
	ClearLoginFailures(ctx context.Context, key string) error
	// KnownLogin reports whether account acct (a normalized email) signed
	// in successfully from client IP ip recently enough that the
	// remembrance has not expired at now.
	KnownLogin(ctx context.Context, acct, ip string, now time.Time) (bool, error)
	// RememberLogin records a successful sign-in of acct from ip, known
	// until the given time (a later remembrance is kept).
	RememberLogin(ctx context.Context, acct, ip string, until time.Time) error
	// Cleanup deletes expired refresh tokens, stale login counters, expired
	// known sign-in places, and keys retired and session cut-offs made
	// before keysBefore.
	Cleanup(ctx context.Context, now, keysBefore time.Time) error
}

// ProductInfo is what the wishlist shows of a product.
type ProductInfo struct {
	ID     string
	Exists bool
	// Deleted: the product was removed from the catalogue; Name is its
	// last known name (Exists is false).
	Deleted     bool
	Name        string
	Price       contracts.Money
	ImageURL    string
	Status      string
	StockStatus string
}

// Files asks the file service about files.
type Files interface {
	// PublishAvatar makes ownerID's image fileID, uploaded with purpose
	// avatar, public (file.publish). It returns a *contracts.Error:
	// not_found, permission_denied (another owner's file), invalid_argument
	// (another purpose, not an image), unavailable.
	PublishAvatar(ctx context.Context, fileID, ownerID string) error
}

// Products asks the product service about products. Lookup returns an entry
// per id it was asked (Exists false for unknown products); an error means
// the product service could not answer.
type Products interface {
	Lookup(ctx context.Context, ids []string) (map[string]ProductInfo, error)
}
