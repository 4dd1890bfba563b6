// Package postgres implements account.Store on PostgreSQL (the service's own
// database, oc_user). Every change to a user writes its event to the outbox
// (pg.AddEvent) in the same transaction. Password hashes are read only into
// account.Credential and never logged.
package postgres

import (
	"context"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/pg"
	"github.com/opencommerce/opencommerce/internal/token"
	"github.com/opencommerce/opencommerce/services/user/account"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations are the schema files, for pg.Migrate / app.KitConfig.
func Migrations() fs.FS {
	return pg.Dir(migrations, "migrations")
}

// Store is the PostgreSQL account.Store. Safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	aead cipher.AEAD // seals signing keys; nil: stored in plaintext
	// now is the clock of session cut-offs: the one the service signs
	// access tokens with (their iat_us), so the two compare.
	now func() time.Time
}

var _ account.Store = (*Store)(nil)

// New returns a store over a migrated pool. kek, when not nil, is the
// 32-byte key that seals the signing keys at rest (keyseal.go).
func New(pool *pgxpool.Pool, kek []byte) (*Store, error) {
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	return &Store{pool: pool, aead: aead, now: time.Now}, nil
}

const userCols = `id::text, email, name, phone, role, disabled, created_at, updated_at, password_hash, avatar_file_id::text`

func scanCred(row pgx.Row) (account.Credential, error) {
	var c account.Credential
	var avatar *string
	err := row.Scan(&c.ID, &c.Email, &c.Name, &c.Phone, &c.Role, &c.Disabled, &c.CreatedAt, &c.UpdatedAt, &c.PasswordHash, &avatar)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, contracts.NotFound("user")
	}
	if avatar != nil {
		img := contracts.ImageOf(*avatar)
		c.Avatar = &img
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, err
}

func registered(u account.User) contracts.UserRegistered {
	return contracts.UserRegistered{UserID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role}
}

func updated(u account.User, changed []string) contracts.UserUpdated {
	return contracts.UserUpdated{UserID: u.ID, Email: u.Email, Name: u.Name, Phone: u.Phone, Role: u.Role,
		Disabled: u.Disabled, Changed: changed}
}

// avatarID is the file id of u's avatar, "" when none.
func avatarID(u account.User) string {
	if u.Avatar == nil {
		return ""
	}
	return u.Avatar.FileID
}

// ForgetAvatar removes a deleted file from the profiles that show it as
// their avatar, with a user.updated event for each. Applying it twice
// changes nothing (a redelivered file.deleted finds no profile).
func (s *Store) ForgetAvatar(ctx context.Context, fileID string) error {
	if _, err := uuid.Parse(fileID); err != nil {
		return nil // not a file id: no profile can show it
	}
	return pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE users SET avatar_file_id = NULL, updated_at = now()
			WHERE avatar_file_id = $1 RETURNING `+userCols, fileID)
		if err != nil {
			return err
		}
		var users []account.User
		for rows.Next() {
			c, err := scanCred(rows)
			if err != nil {
				rows.Close()
				return err
			}
			users = append(users, c.User)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, u := range users {
			if _, err := pg.AddEvent(ctx, tx, contracts.EventUserUpdated, updated(u, []string{"avatar"})); err != nil {
				return err
			}
		}
		return nil
	})
}

// CreateUser implements account.Store.
func (s *Store) CreateUser(ctx context.Context, u account.User, hash string) error {
	err := pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO users (id, email, name, phone, role, disabled, password_hash, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			u.ID, u.Email, u.Name, u.Phone, u.Role, u.Disabled, hash, u.CreatedAt, u.UpdatedAt); err != nil {
			return err
		}
		_, err := pg.AddEvent(ctx, tx, contracts.EventUserRegistered, registered(u))
		return err
	})
	if pg.IsUniqueViolation(err, "users_email_key") {
		return contracts.Errorf(contracts.CodeConflict, "an account with this email already exists").WithDetail("field", "email")
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// CredentialByEmail implements account.Store.
func (s *Store) CredentialByEmail(ctx context.Context, email string) (account.Credential, error) {
	return scanCred(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE lower(email) = lower($1)`, email))
}

// CredentialByID implements account.Store.
func (s *Store) CredentialByID(ctx context.Context, id string) (account.Credential, error) {
	return scanCred(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
}

// UpdateUser implements account.Store.
func (s *Store) UpdateUser(ctx context.Context, id string, fn func(*account.User) error) (account.User, error) {
	var out account.User
	err := pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		c, err := scanCred(tx.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1 FOR NO KEY UPDATE`, id))
		if err != nil {
			return err
		}
		before := c.User
		next := before
		if err := fn(&next); err != nil {
			return err
		}
		var changed []string
		if next.Name != before.Name {
			changed = append(changed, "name")
		}
		if next.Phone != before.Phone {
			changed = append(changed, "phone")
		}
		if next.Role != before.Role {
			changed = append(changed, "role")
		}
		if next.Disabled != before.Disabled {
			changed = append(changed, "disabled")
		}
		if avatarID(next) != avatarID(before) {
			changed = append(changed, "avatar")
		}
		if len(changed) == 0 {
			out = before
			return nil
		}
		if err := tx.QueryRow(ctx, `UPDATE users SET name = $2, phone = $3, role = $4, disabled = $5,
			avatar_file_id = nullif($6, '')::uuid, updated_at = now()
			WHERE id = $1 RETURNING updated_at`, id, next.Name, next.Phone, next.Role, next.Disabled, avatarID(next)).Scan(&next.UpdatedAt); err != nil {
			return err
		}
		next.UpdatedAt = next.UpdatedAt.UTC()
		// Disabling and a role change end the user's sessions: the tokens
		// held carry the old standing.
		reason := ""
		switch {
		case next.Disabled && !before.Disabled:
			reason = contracts.RevokeDisabled
		case next.Role != before.Role:
			reason = contracts.RevokeRole
		}
		if reason != "" {
			if err := s.revokeSessions(ctx, tx, id, reason); err != nil {
				return err
			}
		}
		out = next
		_, err = pg.AddEvent(ctx, tx, contracts.EventUserUpdated, updated(next, changed))
		return err
	})
	return out, err
}

// SetPasswordHash implements account.Store.
func (s *Store) SetPasswordHash(ctx context.Context, id, hash string, revokeSessions bool) error {
	return pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1`, id, hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return contracts.NotFound("user")
		}
		if revokeSessions {
			return s.revokeSessions(ctx, tx, id, contracts.RevokePassword)
		}
		return nil
	})
}

// likePattern escapes q for LIKE and wraps it in %…%.
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(q)) + "%"
}

// ListUsers implements account.Store.
func (s *Store) ListUsers(ctx context.Context, q string, limit int, after string) ([]account.User, error) {
	var cursor *string
	if after != "" {
		cursor = &after
	}
	var rows pgx.Rows
	var err error
	if q == "" {
		rows, err = s.pool.Query(ctx, `SELECT `+userCols+` FROM users
			WHERE ($1::uuid IS NULL OR id < $1::uuid) ORDER BY id DESC LIMIT $2`, cursor, limit)
	} else {
		rows, err = s.pool.Query(ctx, `SELECT `+userCols+` FROM users
			WHERE (lower(email) || ' ' || lower(name)) LIKE $3
			  AND ($1::uuid IS NULL OR id < $1::uuid) ORDER BY id DESC LIMIT $2`, cursor, limit, likePattern(q))
	}
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []account.User
	for rows.Next() {
		c, err := scanCred(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c.User)
	}
	return out, rows.Err()
}

// BootstrapAdmin implements account.Store.
func (s *Store) BootstrapAdmin(ctx context.Context, u account.User, hash string) (bool, error) {
	var created bool
	err := pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO users (id, email, name, phone, role, disabled, password_hash, created_at, updated_at)
			VALUES ($1, $2, $3, '', 'admin', false, $4, $5, $5) ON CONFLICT ((lower(email))) DO NOTHING`,
			u.ID, u.Email, u.Name, hash, u.CreatedAt)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			created = true
			_, err = pg.AddEvent(ctx, tx, contracts.EventUserRegistered, registered(u))
			return err
		}
		c, err := scanCred(tx.QueryRow(ctx, `UPDATE users SET role = 'admin', disabled = false, updated_at = now()
			WHERE lower(email) = lower($1) AND (role <> 'admin' OR disabled) RETURNING `+userCols, u.Email))
		if contracts.ErrorCode(err) == contracts.CodeNotFound {
			return nil // already an enabled admin
		}
		if err != nil {
			return err
		}
		if err := s.revokeSessions(ctx, tx, c.ID, contracts.RevokeBootstrap); err != nil {
			return err
		}
		_, err = pg.AddEvent(ctx, tx, contracts.EventUserUpdated, updated(c.User, []string{"role", "disabled"}))
		return err
	})
	return created, err
}

// CreateRefresh implements account.Store.
func (s *Store) CreateRefresh(ctx context.Context, t account.RefreshToken) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO refresh_tokens (hash, family_id, user_id, expires_at) VALUES ($1, $2, $3, $4)`,
		t.Hash, t.FamilyID, t.UserID, t.ExpiresAt)
	if err != nil {
		return fmt.Errorf("store refresh token: %w", err)
	}
	return nil
}

// RotateRefresh implements account.Store.
func (s *Store) RotateRefresh(ctx context.Context, old []byte, next account.RefreshToken, now time.Time) (account.RotateResult, account.User, error) {
	var res account.RotateResult
	var u account.User
	err := pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var family string
		var expires time.Time
		var used, revoked *time.Time
		var c account.Credential
		// FOR SHARE OF u: a change that ends the user's sessions (it locks
		// the user row first) waits for this rotation, then revokes the
		// token it stores too; or this rotation waits for it and finds
		// the token revoked. Without it the next token could slip past a
		// revocation running at the same moment. (A deadlock between the
		// two is retried by InTx.)
		err := tx.QueryRow(ctx, `SELECT t.family_id::text, t.expires_at, t.used_at, t.revoked_at,
				u.id::text, u.email, u.name, u.phone, u.role, u.disabled, u.created_at, u.updated_at
			FROM refresh_tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1 FOR UPDATE OF t FOR SHARE OF u`, old).
			Scan(&family, &expires, &used, &revoked, &c.ID, &c.Email, &c.Name, &c.Phone, &c.Role, &c.Disabled, &c.CreatedAt, &c.UpdatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			res = account.RotateUnknown
			return nil
		}
		if err != nil {
			return err
		}
		c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
		u = c.User
		switch {
		case revoked != nil || !now.Before(expires):
			res = account.RotateUnknown
			return nil
		case used != nil:
			res = account.RotateReused
			return revokeFamily(ctx, tx, family)
		case c.Disabled:
			res = account.RotateDisabled
			return revokeFamily(ctx, tx, family)
		}
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET used_at = $2 WHERE hash = $1`, old, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (hash, family_id, user_id, expires_at) VALUES ($1, $2, $3, $4)`,
			next.Hash, family, c.ID, next.ExpiresAt); err != nil {
			return err
		}
		res = account.RotateOK
		return nil
	})
	if err != nil {
		return account.RotateUnknown, account.User{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	return res, u, nil
}

func revokeFamily(ctx context.Context, tx pgx.Tx, family string) error {
	_, err := tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL`, family)
	return err
}

func revokeUser(ctx context.Context, tx pgx.Tx, userID string) error {
	_, err := tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, userID)
	return err
}

// RevokeFamilyOf implements account.Store.
func (s *Store) RevokeFamilyOf(ctx context.Context, userID string, hash []byte) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = now()
		WHERE revoked_at IS NULL AND family_id = (SELECT family_id FROM refresh_tokens WHERE hash = $1 AND user_id = $2)`, hash, userID)
	if err != nil {
		return false, fmt.Errorf("revoke session: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// RevokeSessions implements account.Store.
func (s *Store) RevokeSessions(ctx context.Context, userID, reason string) error {
	return pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockUser(ctx, tx, userID); err != nil {
			return err
		}
		return s.revokeSessions(ctx, tx, userID, reason)
	})
}

// revokeSessions ends every session of userID in tx: its refresh tokens
// are revoked, its access tokens issued up to now are void (the cut-off in
// session_cutoffs, never moved back), and user.sessions_revoked goes to the
// outbox for the gateways.
func (s *Store) revokeSessions(ctx context.Context, tx pgx.Tx, userID, reason string) error {
	if err := revokeUser(ctx, tx, userID); err != nil {
		return err
	}
	var before time.Time
	if err := tx.QueryRow(ctx, `INSERT INTO session_cutoffs (user_id, revoked_before) VALUES ($1, $2)
		ON CONFLICT (user_id) DO UPDATE SET revoked_before = GREATEST(session_cutoffs.revoked_before, EXCLUDED.revoked_before)
		RETURNING revoked_before`, userID, s.now().UTC().Truncate(time.Microsecond)).Scan(&before); err != nil {
		return fmt.Errorf("record session cut-off: %w", err)
	}
	_, err := pg.AddEvent(ctx, tx, contracts.EventUserSessionsRevoked, contracts.UserSessionsRevoked{
		Revocation: contracts.Revocation{UserID: userID, RevokedBefore: before.UTC()}, Reason: reason})
	return err
}

// Revocations implements account.Store.
func (s *Store) Revocations(ctx context.Context, since time.Time) ([]contracts.Revocation, error) {
	rows, err := s.pool.Query(ctx, `SELECT user_id::text, revoked_before FROM session_cutoffs WHERE revoked_before > $1
		ORDER BY revoked_before`, since)
	if err != nil {
		return nil, fmt.Errorf("list session cut-offs: %w", err)
	}
	defer rows.Close()
	out := []contracts.Revocation{}
	for rows.Next() {
		var r contracts.Revocation
		if err := rows.Scan(&r.UserID, &r.RevokedBefore); err != nil {
			return nil, err
		}
		r.RevokedBefore = r.RevokedBefore.UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// keyLock is the advisory lock that serialises key creation and rotation.
const keyLock = 0x6f635f6b657973 // "oc_keys"

func (s *Store) scanKey(row pgx.Row) (account.SigningKey, error) {
	var k account.SigningKey
	var stored, pub []byte
	err := row.Scan(&k.KID, &stored, &pub, &k.CreatedAt, &k.RetiredAt)
	if err != nil {
		return k, err
	}
	priv, err := s.open(k.KID, stored)
	if err != nil {
		return k, err
	}
	if len(priv) != ed25519.SeedSize || len(pub) != ed25519.PublicKeySize {
		return k, fmt.Errorf("signing key %s: bad stored key", k.KID)
	}
	k.Private = ed25519.NewKeyFromSeed(priv)
	k.Public = ed25519.PublicKey(pub)
	return k, nil
}

const keyCols = `kid, private_key, public_key, created_at, retired_at`

// ActiveKey implements account.Store.
func (s *Store) ActiveKey(ctx context.Context) (account.SigningKey, error) {
	k, err := s.scanKey(s.pool.QueryRow(ctx, `SELECT `+keyCols+` FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1`))
	if err == nil || !errors.Is(err, pgx.ErrNoRows) {
		return k, err
	}
	err = pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, keyLock); err != nil {
			return err
		}
		k, err = s.scanKey(tx.QueryRow(ctx, `SELECT `+keyCols+` FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1`))
		if errors.Is(err, pgx.ErrNoRows) {
			k, err = s.insertKey(ctx, tx)
		}
		return err
	})
	return k, err
}

func (s *Store) insertKey(ctx context.Context, tx pgx.Tx) (account.SigningKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return account.SigningKey{}, err
	}
	kid := token.KeyID(pub)
	stored, err := s.seal(kid, priv.Seed())
	if err != nil {
		return account.SigningKey{}, err
	}
	return s.scanKey(tx.QueryRow(ctx, `INSERT INTO signing_keys (kid, private_key, public_key) VALUES ($1, $2, $3) RETURNING `+keyCols,
		kid, stored, []byte(pub)))
}

// PublicKeys implements account.Store. It reads public halves only (no
// Private in the result), so publishing keys never needs the
// key-encryption key.
func (s *Store) PublicKeys(ctx context.Context, since time.Time) ([]account.SigningKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT kid, public_key, created_at, retired_at FROM signing_keys
		WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at DESC`, since)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []account.SigningKey
	for rows.Next() {
		var k account.SigningKey
		var pub []byte
		if err := rows.Scan(&k.KID, &pub, &k.CreatedAt, &k.RetiredAt); err != nil {
			return nil, err
		}
		if len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("signing key %s: bad stored public key", k.KID)
		}
		k.Public = ed25519.PublicKey(pub)
		out = append(out, k)
	}
	return out, rows.Err()
}

// RotateKey implements account.Store.
func (s *Store) RotateKey(ctx context.Context) (account.SigningKey, error) {
	var k account.SigningKey
	err := pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, keyLock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE signing_keys SET retired_at = clock_timestamp() WHERE retired_at IS NULL`); err != nil {
			return err
		}
		var err error
		k, err = s.insertKey(ctx, tx)
		return err
	})
	if err != nil {
		return k, fmt.Errorf("rotate signing key: %w", err)
	}
	return k, nil
}

// RotateKey makes a new signing key active in the user service's database
// (pool must be migrated); the previous key stays published in user.jwks
// until tokens signed with it have expired. It returns the new key id.
// Running instances pick the new key up within their key cache TTL.
func RotateKey(ctx context.Context, pool *pgxpool.Pool, kek []byte) (string, error) {
	s, err := New(pool, kek)
	if err != nil {
		return "", err
	}
	if _, err := s.SealKeys(ctx); err != nil {
		return "", err
	}
	k, err := s.RotateKey(ctx)
	return k.KID, err
}

// lockUser serialises address-book and wishlist writes of one user.
func lockUser(ctx context.Context, tx pgx.Tx, userID string) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE`, userID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return contracts.Unauthenticated("account not found")
	}
	return err
}

const addrCols = `id::text, line1, line2, city, state, postal_code, country, is_default, created_at, updated_at`

func scanAddr(row pgx.Row) (account.Address, error) {
	var a account.Address
	err := row.Scan(&a.ID, &a.Line1, &a.Line2, &a.City, &a.State, &a.PostalCode, &a.Country, &a.IsDefault, &a.CreatedAt, &a.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, contracts.NotFound("address")
	}
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return a, err
}

// Addresses implements account.Store.
func (s *Store) Addresses(ctx context.Context, userID string) ([]account.Address, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+addrCols+` FROM addresses WHERE user_id = $1 ORDER BY is_default DESC, created_at, id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []account.Address{}
	for rows.Next() {
		a, err := scanAddr(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// CreateAddress implements account.Store.
func (s *Store) CreateAddress(ctx context.Context, userID string, a account.Address, max int) (account.Address, error) {
	err := pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockUser(ctx, tx, userID); err != nil {
			return err
		}
		var n int
		var hasDefault bool
		if err := tx.QueryRow(ctx, `SELECT count(*), coalesce(bool_or(is_default), false) FROM addresses WHERE user_id = $1`, userID).
			Scan(&n, &hasDefault); err != nil {
			return err
		}
		if n >= max {
			return contracts.Errorf(contracts.CodeFailedPrecondition, "address book is full (%d addresses)", max)
		}
		if !hasDefault {
			a.IsDefault = true
		}
		if a.IsDefault && hasDefault {
			if _, err := tx.Exec(ctx, `UPDATE addresses SET is_default = false WHERE user_id = $1 AND is_default`, userID); err != nil {
				return err
			}
		}
		var err error
		a, err = scanAddr(tx.QueryRow(ctx, `INSERT INTO addresses (id, user_id, line1, line2, city, state, postal_code, country, is_default, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING `+addrCols,
			a.ID, userID, a.Line1, a.Line2, a.City, a.State, a.PostalCode, a.Country, a.IsDefault, a.CreatedAt))
		return err
	})
	return a, err
}

// UpdateAddress implements account.Store.
func (s *Store) UpdateAddress(ctx context.Context, userID, id string, fn func(*account.Address) error) (account.Address, error) {
	var out account.Address
	err := pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockUser(ctx, tx, userID); err != nil {
			return err
		}
		a, err := scanAddr(tx.QueryRow(ctx, `SELECT `+addrCols+` FROM addresses WHERE id = $1 AND user_id = $2`, id, userID))
		if err != nil {
			return err
		}
		wasDefault := a.IsDefault
		if err := fn(&a); err != nil {
			return err
		}
		if a.IsDefault && !wasDefault {
			if _, err := tx.Exec(ctx, `UPDATE addresses SET is_default = false WHERE user_id = $1 AND is_default`, userID); err != nil {
				return err
			}
		}
		out, err = scanAddr(tx.QueryRow(ctx, `UPDATE addresses SET line1 = $3, line2 = $4, city = $5, state = $6, postal_code = $7,
				country = $8, is_default = $9, updated_at = $10 WHERE id = $1 AND user_id = $2 RETURNING `+addrCols,
			id, userID, a.Line1, a.Line2, a.City, a.State, a.PostalCode, a.Country, a.IsDefault, a.UpdatedAt))
		return err
	})
	return out, err
}

// DeleteAddress implements account.Store.
func (s *Store) DeleteAddress(ctx context.Context, userID, id string) error {
	return pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockUser(ctx, tx, userID); err != nil {
			return err
		}
		var wasDefault bool
		err := tx.QueryRow(ctx, `DELETE FROM addresses WHERE id = $1 AND user_id = $2 RETURNING is_default`, id, userID).Scan(&wasDefault)
		if errors.Is(err, pgx.ErrNoRows) {
			return contracts.NotFound("address")
		}
		if err != nil || !wasDefault {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE addresses SET is_default = true WHERE id =
			(SELECT id FROM addresses WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1)`, userID)
		return err
	})
}

// Wishlist implements account.Store.
func (s *Store) Wishlist(ctx context.Context, userID string, limit int, after *account.WishlistCursor) ([]account.WishlistEntry, error) {
	var rows pgx.Rows
	var err error
	if after == nil {
		rows, err = s.pool.Query(ctx, `SELECT product_id::text, added_at FROM wishlist WHERE user_id = $1
			ORDER BY added_at DESC, product_id DESC LIMIT $2`, userID, limit)
	} else {
		rows, err = s.pool.Query(ctx, `SELECT product_id::text, added_at FROM wishlist WHERE user_id = $1
			AND (added_at, product_id) < ($3, $4::uuid) ORDER BY added_at DESC, product_id DESC LIMIT $2`,
			userID, limit, after.AddedAt, after.ProductID)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []account.WishlistEntry
	for rows.Next() {
		var e account.WishlistEntry
		if err := rows.Scan(&e.ProductID, &e.AddedAt); err != nil {
			return nil, err
		}
		e.AddedAt = e.AddedAt.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// AddWishlist implements account.Store.
func (s *Store) AddWishlist(ctx context.Context, userID, productID string, max int) (account.WishlistEntry, error) {
	e := account.WishlistEntry{ProductID: productID}
	err := pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockUser(ctx, tx, userID); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `SELECT added_at FROM wishlist WHERE user_id = $1 AND product_id = $2`, userID, productID).Scan(&e.AddedAt)
		if err == nil || !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM wishlist WHERE user_id = $1`, userID).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return contracts.Errorf(contracts.CodeFailedPrecondition, "wishlist is full (%d products)", max)
		}
		return tx.QueryRow(ctx, `INSERT INTO wishlist (user_id, product_id, added_at) VALUES ($1, $2, date_trunc('microseconds', clock_timestamp()))
			RETURNING added_at`, userID, productID).Scan(&e.AddedAt)
	})
	e.AddedAt = e.AddedAt.UTC()
	return e, err
}

// RemoveWishlist implements account.Store.
func (s *Store) RemoveWishlist(ctx context.Context, userID, productID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM wishlist WHERE user_id = $1 AND product_id = $2`, userID, productID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return contracts.NotFound("wishlist entry")
	}
	return nil
}

// LoginFailures implements account.Store.
func (s *Store) LoginFailures(ctx context.Context, key string, window time.Duration, now time.Time) (account.Failures, error) {
	var f account.Failures
	err := s.pool.QueryRow(ctx, `SELECT count, window_start, coalesce(last_at, window_start) FROM login_failures WHERE key = $1 AND window_start > $2`,
		key, now.Add(-window)).Scan(&f.Count, &f.Since, &f.Last)
	if errors.Is(err, pgx.ErrNoRows) {
		return account.Failures{}, nil
	}
	return f, err
}

// AddLoginFailure implements account.Store.
func (s *Store) AddLoginFailure(ctx context.Context, keys []string, window time.Duration, now time.Time) error {
	keys = slices.Clone(keys)
	slices.Sort(keys) // a stable lock order
	_, err := s.pool.Exec(ctx, `INSERT INTO login_failures (key, window_start, count, last_at) SELECT k, $2, 1, $2 FROM unnest($1::text[]) AS k
		ON CONFLICT (key) DO UPDATE SET
			count = CASE WHEN login_failures.window_start > $3 THEN login_failures.count + 1 ELSE 1 END,
			window_start = CASE WHEN login_failures.window_start > $3 THEN login_failures.window_start ELSE $2 END,
			last_at = $2`,
		keys, now, now.Add(-window))
	return err
}

// ClearLoginFailures implements account.Store.
func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM login_failures WHERE key = $1`, key)
	return err
}

// KnownLogin implements account.Store.
func (s *Store) KnownLogin(ctx context.Context, acct, ip string, now time.Time) (bool, error) {
	var known bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM login_known WHERE account = $1 AND ip = $2 AND expires_at > $3)`,
		acct, ip, now).Scan(&known)
	return known, err
}

// RememberLogin implements account.Store.
func (s *Store) RememberLogin(ctx context.Context, acct, ip string, until time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO login_known (account, ip, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (account, ip) DO UPDATE SET expires_at = greatest(login_known.expires_at, excluded.expires_at)`,
		acct, ip, until)
	return err
}

// cleanupGrace is how long a revoked refresh token and a stale login
// counter are kept after they stopped mattering (for an investigation).
const cleanupGrace = 24 * time.Hour

// Cleanup implements account.Store. The cut-off times are computed here and
// passed as typed timestamps: `$1 - interval '1 day'` leaves PostgreSQL to
// guess the parameter's type, and it guesses interval (the query then fails
// with "operator does not exist: timestamp with time zone < interval").
func (s *Store) Cleanup(ctx context.Context, now, keysBefore time.Time) error {
	stale := now.Add(-cleanupGrace)
	if _, err := s.pool.Exec(ctx, `DELETE FROM refresh_tokens WHERE expires_at < $1 OR revoked_at < $2`, now, stale); err != nil {
		return fmt.Errorf("clean up refresh tokens: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM login_failures WHERE window_start < $1`, stale); err != nil {
		return fmt.Errorf("clean up login failures: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM login_known WHERE expires_at < $1`, now); err != nil {
		return fmt.Errorf("clean up known sign-in places: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM signing_keys WHERE retired_at < $1`, keysBefore); err != nil {
		return fmt.Errorf("clean up signing keys: %w", err)
	}
	// A cut-off older than any token signed with a published key voids
	// nothing any more.
	if _, err := s.pool.Exec(ctx, `DELETE FROM session_cutoffs WHERE revoked_before < $1`, keysBefore); err != nil {
		return fmt.Errorf("clean up session cut-offs: %w", err)
	}
	return nil
}
