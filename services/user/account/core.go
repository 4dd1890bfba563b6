package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/token"
)

// Core is the user service's domain: accounts, credentials, sessions,
// signing keys, address book and wishlist. It checks every input and every
// actor; the RPC layer only decodes and encodes. Safe for concurrent use.
type Core struct {
	cfg      Config
	store    Store
	products Products
	files    Files // nil: avatars cannot be set
	log      *slog.Logger
	hash     *hasher
	now      func() time.Time

	mu        sync.Mutex
	key       SigningKey
	keyLoaded time.Time
}

// NewCore returns the domain over store. products may be nil (the wishlist
// then shows every entry without details).
func NewCore(cfg Config, store Store, products Products, log *slog.Logger) (*Core, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h, err := newHasher(cfg.Argon2, cfg.HashConcurrency)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Core{cfg: cfg, store: store, products: products, log: log, hash: h, now: time.Now}, nil
}

// SetFiles gives the core the file service, which avatars need. Call it
// before the core serves.
func (c *Core) SetFiles(f Files) { c.files = f }

var (
	errBadLogin    = contracts.Unauthenticated("invalid email or password")
	errBadRefresh  = contracts.Unauthenticated("refresh token is invalid or expired")
	errReused      = contracts.Unauthenticated("refresh token was already used; the session has been revoked")
	errDisabled    = contracts.PermissionDenied("account is disabled")
	errNoActor     = contracts.Unauthenticated("sign in required")
	errAdminOnly   = contracts.PermissionDenied("admin only")
	errBadPassword = contracts.InvalidArgument("current_password", "current password is wrong")
)

// cloneErr returns a copy of a shared error value so callers can add details.
func cloneErr(e *contracts.Error) *contracts.Error { c := *e; return &c }

// self returns the id of the signed-in user acting on their own resources.
func self(a contracts.Actor) (string, error) {
	if a.ID == "" || a.IsService() {
		return "", cloneErr(errNoActor)
	}
	id, err := uuid.Parse(a.ID)
	if err != nil {
		return "", cloneErr(errNoActor)
	}
	return id.String(), nil
}

func admin(a contracts.Actor) error {
	if _, err := self(a); err != nil {
		return err
	}
	if !a.IsAdmin() {
		return cloneErr(errAdminOnly)
	}
	return nil
}

// Register creates an account. Role may be customer (default) or seller.
func (c *Core) Register(ctx context.Context, req contracts.RegisterRequest) (User, error) {
	email, err := normalizeEmail(req.Email)
	if err != nil {
		return User{}, err
	}
	name, err := cleanText("name", req.Name, 1, maxNameLen)
	if err != nil {
		return User{}, err
	}
	phone, err := normalizePhone(req.Phone)
	if err != nil {
		return User{}, err
	}
	role := req.Role
	switch role {
	case "":
		role = contracts.RoleCustomer
	case contracts.RoleCustomer, contracts.RoleSeller:
	default:
		return User{}, contracts.InvalidArgument("role", "role must be customer or seller")
	}
	if err := checkPassword("password", req.Password, email); err != nil {
		return User{}, err
	}
	hash, err := c.hash.hash(ctx, req.Password)
	if err != nil {
		return User{}, fmt.Errorf("hash password: %w", err)
	}
	now := c.now().UTC().Truncate(time.Microsecond)
	u := User{ID: newID(), Email: email, Name: name, Phone: phone, Role: role, CreatedAt: now, UpdatedAt: now}
	if err := c.store.CreateUser(ctx, u, hash); err != nil {
		return User{}, err
	}
	return u, nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// Login checks email and password and starts a session. Unknown emails and
// wrong passwords get the same answer after the same work. ip is the
// client's IP (may be empty). Failures are throttled by (account, IP) pair,
// by IP and, for IPs not known to the account, by account (see the package
// doc); a throttled attempt gets resource_exhausted with
// details.retry_after in seconds, whatever the password.
func (c *Core) Login(ctx context.Context, req contracts.LoginRequest, ip string) (contracts.Tokens, error) {
	email, err := validLogin(req)
	if err != nil {
		return contracts.Tokens{}, err
	}
	now := c.now()
	att, err := c.loginThrottle(ctx, email, ip, now)
	if err != nil {
		return contracts.Tokens{}, err
	}
	cred, ok, err := c.checkPassword(ctx, email, req.Password)
	if err != nil {
		return contracts.Tokens{}, err
	}
	if !ok {
		if err := c.store.AddLoginFailure(ctx, att.failureKeys(), c.cfg.LoginWindow, now); err != nil {
			c.log.Warn("count login failure", "err", err)
		}
		return contracts.Tokens{}, cloneErr(errBadLogin)
	}
	if cred.Disabled {
		return contracts.Tokens{}, cloneErr(errDisabled)
	}
	c.loginSucceeded(ctx, att, now)
	// The token is dated before the credential was read: a revocation
	// (disable, role change) committed after that read dates later, so it
	// voids this token although the read still saw the old standing.
	return c.issue(ctx, cred.User, newID(), now)
}

// validLogin checks a login request's shape and returns its normalized
// email.
func validLogin(req contracts.LoginRequest) (string, error) {
	email, err := normalizeEmail(req.Email)
	if err != nil {
		return "", err
	}
	if req.Password == "" {
		return "", contracts.InvalidArgument("password", "password is required")
	}
	if len(req.Password) > 4*maxPasswordLen {
		return "", contracts.InvalidArgument("password", "password must be at most %d characters", maxPasswordLen)
	}
	return email, nil
}

// checkPassword loads the credential of email and verifies password
// against it, with the same work for an unknown email (ok false, no
// error). A hash made with outdated parameters is upgraded on success.
func (c *Core) checkPassword(ctx context.Context, email, password string) (cred Credential, ok bool, err error) {
	cred, err = c.store.CredentialByEmail(ctx, email)
	switch {
	case contracts.ErrorCode(err) == contracts.CodeNotFound:
		c.hash.burn(ctx, password)
		return Credential{}, false, nil
	case err != nil:
		return Credential{}, false, err
	}
	ok, rehash, err := c.hash.verify(ctx, cred.PasswordHash, password)
	if err != nil {
		return Credential{}, false, fmt.Errorf("verify password of %s: %w", cred.ID, err)
	}
	if ok && rehash {
		if h, err := c.hash.hash(ctx, password); err == nil {
			if err := c.store.SetPasswordHash(ctx, cred.ID, h, false); err != nil {
				c.log.Warn("upgrade password hash", "user_id", cred.ID, "err", err)
			}
		}
	}
	return cred, ok, nil
}

// issue signs an access token for u, dated now, and stores a new refresh
// token of the session family.
func (c *Core) issue(ctx context.Context, u User, family string, now time.Time) (contracts.Tokens, error) {
	rt, hash := newRefreshToken()
	if err := c.store.CreateRefresh(ctx, RefreshToken{Hash: hash, FamilyID: family, UserID: u.ID, ExpiresAt: now.Add(c.cfg.RefreshTTL)}); err != nil {
		return contracts.Tokens{}, err
	}
	return c.tokens(ctx, u, rt, now)
}

func (c *Core) tokens(ctx context.Context, u User, refresh string, now time.Time) (contracts.Tokens, error) {
	key, err := c.signingKey(ctx)
	if err != nil {
		return contracts.Tokens{}, err
	}
	at, err := token.Sign(key.Private, key.KID, token.Claims{
		Subject: u.ID, Role: u.Role, IssuedAt: now.Unix(), Expires: now.Add(c.cfg.AccessTTL).Unix(),
		IssuedAtMicros: now.UnixMicro(),
	})
	if err != nil {
		return contracts.Tokens{}, err
	}
	return contracts.Tokens{AccessToken: at, RefreshToken: refresh, TokenType: contracts.TokenTypeBearer,
		ExpiresIn: int64(c.cfg.AccessTTL / time.Second), User: u}, nil
}

func newRefreshToken() (string, []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	s := base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256(b[:])
	return s, sum[:]
}

// refreshHash decodes an opaque refresh token and returns its SHA-256.
func refreshHash(s string) ([]byte, bool) {
	if len(s) != 43 {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 32 {
		return nil, false
	}
	sum := sha256.Sum256(b)
	return sum[:], true
}

// Refresh exchanges a refresh token for a new pair. A token used twice
// revokes its whole family; a disabled user's refresh fails.
func (c *Core) Refresh(ctx context.Context, req contracts.RefreshRequest) (contracts.Tokens, error) {
	if req.RefreshToken == "" {
		return contracts.Tokens{}, contracts.InvalidArgument("refresh_token", "refresh_token is required")
	}
	old, ok := refreshHash(req.RefreshToken)
	if !ok {
		return contracts.Tokens{}, cloneErr(errBadRefresh)
	}
	rt, hash := newRefreshToken()
	now := c.now()
	res, u, err := c.store.RotateRefresh(ctx, old, RefreshToken{Hash: hash, ExpiresAt: now.Add(c.cfg.RefreshTTL)}, now)
	if err != nil {
		return contracts.Tokens{}, err
	}
	switch res {
	case RotateOK:
		return c.tokens(ctx, u, rt, now)
	case RotateReused:
		c.log.Warn("refresh token reused; session revoked", "user_id", u.ID)
		return contracts.Tokens{}, cloneErr(errReused)
	case RotateDisabled:
		return contracts.Tokens{}, cloneErr(errDisabled)
	default:
		return contracts.Tokens{}, cloneErr(errBadRefresh)
	}
}

// Logout ends the actor's session of the given refresh token, or all their
// sessions. A token of another user, or an unknown one, changes nothing
// (and says nothing).
func (c *Core) Logout(ctx context.Context, a contracts.Actor, req contracts.LogoutRequest) error {
	id, err := self(a)
	if err != nil {
		return err
	}
	if req.All {
		return c.store.RevokeSessions(ctx, id, contracts.RevokeLogoutAll)
	}
	if req.RefreshToken == "" {
		return contracts.InvalidArgument("refresh_token", "refresh_token is required (or all: true)")
	}
	hash, ok := refreshHash(req.RefreshToken)
	if !ok {
		return nil
	}
	_, err = c.store.RevokeFamilyOf(ctx, id, hash)
	return err
}

// LogoutAll ends every session of the actor: refresh tokens revoked, and
// every access token issued until now refused by the gateways within a
// second (user.sessions_revoked).
func (c *Core) LogoutAll(ctx context.Context, a contracts.Actor) error {
	id, err := self(a)
	if err != nil {
		return err
	}
	return c.store.RevokeSessions(ctx, id, contracts.RevokeLogoutAll)
}

// Revocations returns the session cut-offs that can still void an
// unexpired access token, for a gateway (service callers only) that starts
// or reconnected and may have missed user.sessions_revoked events.
func (c *Core) Revocations(ctx context.Context, a contracts.Actor) (contracts.RevocationsReply, error) {
	if !a.IsService() {
		return contracts.RevocationsReply{}, contracts.PermissionDenied("service callers only")
	}
	items, err := c.store.Revocations(ctx, c.now().Add(-c.keyGrace()))
	return contracts.RevocationsReply{Items: items}, err
}

// signingKey returns the active key, cached for KeyCacheTTL.
func (c *Core) signingKey(ctx context.Context) (SigningKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.key.KID != "" && c.now().Sub(c.keyLoaded) < c.cfg.KeyCacheTTL {
		return c.key, nil
	}
	k, err := c.store.ActiveKey(ctx)
	if err != nil {
		if c.key.KID != "" {
			c.log.Warn("reload signing key; keeping the cached one", "err", err)
			return c.key, nil
		}
		return SigningKey{}, err
	}
	c.key, c.keyLoaded = k, c.now()
	return k, nil
}

// keyGrace is how long after its retirement a key stays published: tokens
// signed with it live AccessTTL, and an instance may sign with a cached key
// for KeyCacheTTL after a rotation elsewhere.
func (c *Core) keyGrace() time.Duration { return c.cfg.AccessTTL + 2*c.cfg.KeyCacheTTL + time.Minute }

// JWKS returns every public key whose tokens may still be valid.
func (c *Core) JWKS(ctx context.Context) (contracts.JWKS, error) {
	if _, err := c.signingKey(ctx); err != nil { // make sure one exists
		return contracts.JWKS{}, err
	}
	keys, err := c.store.PublicKeys(ctx, c.now().Add(-c.keyGrace()))
	if err != nil {
		return contracts.JWKS{}, err
	}
	out := contracts.JWKS{Keys: make([]contracts.JWK, 0, len(keys))}
	for _, k := range keys {
		out.Keys = append(out.Keys, token.PublicJWK(k.KID, k.Public))
	}
	return out, nil
}

// RotateKey makes a new signing key active (admin only); the old one stays
// published for its tokens' lifetime.
func (c *Core) RotateKey(ctx context.Context, a contracts.Actor) (contracts.RotateKeyReply, error) {
	if err := admin(a); err != nil {
		return contracts.RotateKeyReply{}, err
	}
	k, err := c.store.RotateKey(ctx)
	if err != nil {
		return contracts.RotateKeyReply{}, err
	}
	c.mu.Lock()
	c.key, c.keyLoaded = k, c.now()
	c.mu.Unlock()
	c.log.Info("signing key rotated", "kid", k.KID, "by", a.ID)
	return contracts.RotateKeyReply{KID: k.KID}, nil
}

// Me returns the actor's profile.
func (c *Core) Me(ctx context.Context, a contracts.Actor) (User, error) {
	id, err := self(a)
	if err != nil {
		return User{}, err
	}
	cred, err := c.store.CredentialByID(ctx, id)
	if contracts.ErrorCode(err) == contracts.CodeNotFound {
		return User{}, cloneErr(errNoActor)
	}
	if err != nil {
		return User{}, err
	}
	if cred.Disabled {
		return User{}, cloneErr(errDisabled)
	}
	return cred.User, nil
}

// UpdateMe changes the actor's name and phone.
func (c *Core) UpdateMe(ctx context.Context, a contracts.Actor, req contracts.UpdateProfileRequest) (User, error) {
	id, err := self(a)
	if err != nil {
		return User{}, err
	}
	var name, phone string
	if req.Name != nil {
		if name, err = cleanText("name", *req.Name, 1, maxNameLen); err != nil {
			return User{}, err
		}
	}
	if req.Phone != nil {
		if phone, err = normalizePhone(*req.Phone); err != nil {
			return User{}, err
		}
	}
	var avatar *contracts.Image
	if req.AvatarFileID != nil && *req.AvatarFileID != "" {
		if avatar, err = c.attachAvatar(ctx, id, *req.AvatarFileID); err != nil {
			return User{}, err
		}
	}
	u, err := c.store.UpdateUser(ctx, id, func(u *User) error {
		if u.Disabled {
			return cloneErr(errDisabled)
		}
		if req.Name != nil {
			u.Name = name
		}
		if req.Phone != nil {
			u.Phone = phone
		}
		if req.AvatarFileID != nil {
			u.Avatar = avatar
		}
		return nil
	})
	if contracts.ErrorCode(err) == contracts.CodeNotFound {
		return User{}, cloneErr(errNoActor)
	}
	return u, err
}

// attachAvatar checks that fileID is an image the user uploaded as an
// avatar and makes it public (the file service checks owner, purpose and
// type), before the profile is written.
func (c *Core) attachAvatar(ctx context.Context, userID, fileID string) (*contracts.Image, error) {
	fid, err := uuid.Parse(fileID)
	if err != nil {
		return nil, contracts.InvalidArgument("avatar_file_id", "avatar_file_id must be a file id (UUID) or \"\" to remove the avatar")
	}
	if c.files == nil {
		return nil, contracts.Errorf(contracts.CodeUnavailable, "the file service is not available")
	}
	if err := c.files.PublishAvatar(ctx, fid.String(), userID); err != nil {
		e := contracts.AsError(err)
		switch e.Code {
		case contracts.CodeNotFound:
			return nil, contracts.InvalidArgument("avatar_file_id", "file %s not found", fid)
		case contracts.CodePermissionDenied:
			return nil, contracts.PermissionDenied("file %s is not yours", fid)
		case contracts.CodeInvalidArgument:
			return nil, contracts.InvalidArgument("avatar_file_id", "%s", e.Message)
		case contracts.CodeUnavailable, contracts.CodeDeadlineExceeded:
			return nil, contracts.Errorf(contracts.CodeUnavailable, "the file service is unavailable; try again")
		}
		return nil, fmt.Errorf("publish avatar %s: %w", fid, err)
	}
	img := contracts.ImageOf(fid.String())
	return &img, nil
}

// ChangePassword checks the current password, sets the new one and ends
// every session of the user. Wrong current passwords count as failed logins.
func (c *Core) ChangePassword(ctx context.Context, a contracts.Actor, req contracts.ChangePasswordRequest) error {
	id, err := self(a)
	if err != nil {
		return err
	}
	if req.CurrentPassword == "" || len(req.CurrentPassword) > 4*maxPasswordLen {
		return contracts.InvalidArgument("current_password", "current_password is required")
	}
	cred, err := c.store.CredentialByID(ctx, id)
	if contracts.ErrorCode(err) == contracts.CodeNotFound {
		return cloneErr(errNoActor)
	}
	if err != nil {
		return err
	}
	if cred.Disabled {
		return cloneErr(errDisabled)
	}
	if err := checkPassword("new_password", req.NewPassword, cred.Email); err != nil {
		return err
	}
	if req.NewPassword == req.CurrentPassword {
		return contracts.InvalidArgument("new_password", "new password must differ from the current one")
	}
	now := c.now()
	// Counted apart from sign-ins: only the signed-in owner reaches here,
	// so failed sign-ins by others never keep them from changing it.
	acct := "pwchange:" + id
	if err := c.checkLimit(ctx, acct, maxPasswordChangeFailures, now); err != nil {
		return err
	}
	ok, _, err := c.hash.verify(ctx, cred.PasswordHash, req.CurrentPassword)
	if err != nil {
		return fmt.Errorf("verify password of %s: %w", id, err)
	}
	if !ok {
		if err := c.store.AddLoginFailure(ctx, []string{acct}, c.cfg.LoginWindow, now); err != nil {
			c.log.Warn("count password failure", "err", err)
		}
		return cloneErr(errBadPassword)
	}
	hash, err := c.hash.hash(ctx, req.NewPassword)
	if err != nil {
		return err
	}
	return c.store.SetPasswordHash(ctx, id, hash, true)
}

// Addresses lists the actor's address book.
func (c *Core) Addresses(ctx context.Context, a contracts.Actor) (contracts.List[Address], error) {
	id, err := self(a)
	if err != nil {
		return contracts.List[Address]{}, err
	}
	items, err := c.store.Addresses(ctx, id)
	if items == nil {
		items = []Address{}
	}
	return contracts.List[Address]{Items: items}, err
}

// CreateAddress adds an address to the actor's book.
func (c *Core) CreateAddress(ctx context.Context, a contracts.Actor, in contracts.AddressInput) (Address, error) {
	id, err := self(a)
	if err != nil {
		return Address{}, err
	}
	now := c.now().UTC().Truncate(time.Microsecond)
	addr := Address{ID: newID(), Line1: in.Line1, Line2: in.Line2, City: in.City, State: in.State,
		PostalCode: in.PostalCode, Country: in.Country, IsDefault: in.IsDefault, CreatedAt: now, UpdatedAt: now}
	if err := checkAddress(&addr); err != nil {
		return Address{}, err
	}
	return c.store.CreateAddress(ctx, id, addr, c.cfg.MaxAddresses)
}

// UpdateAddress changes one of the actor's addresses; another user's
// address is not_found.
func (c *Core) UpdateAddress(ctx context.Context, a contracts.Actor, addressID string, p contracts.AddressPatch) (Address, error) {
	id, err := self(a)
	if err != nil {
		return Address{}, err
	}
	if addressID, err = parseID("id", addressID); err != nil {
		return Address{}, err
	}
	return c.store.UpdateAddress(ctx, id, addressID, func(addr *Address) error {
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		set(&addr.Line1, p.Line1)
		set(&addr.Line2, p.Line2)
		set(&addr.City, p.City)
		set(&addr.State, p.State)
		set(&addr.PostalCode, p.PostalCode)
		set(&addr.Country, p.Country)
		if p.IsDefault != nil {
			addr.IsDefault = *p.IsDefault
		}
		addr.UpdatedAt = c.now().UTC().Truncate(time.Microsecond)
		return checkAddress(addr)
	})
}

// DeleteAddress removes one of the actor's addresses.
func (c *Core) DeleteAddress(ctx context.Context, a contracts.Actor, addressID string) error {
	id, err := self(a)
	if err != nil {
		return err
	}
	if addressID, err = parseID("id", addressID); err != nil {
		return err
	}
	return c.store.DeleteAddress(ctx, id, addressID)
}

// Wishlist lists a page of the actor's wishlist with the products' details
// from one product.lookup call. A product that no longer exists is shown
// "unavailable" (with its last known name when it was deleted); if the product service cannot answer, every entry is shown
// "unavailable_details" instead of failing.
func (c *Core) Wishlist(ctx context.Context, a contracts.Actor, page contracts.Page) (contracts.List[contracts.WishlistItem], error) {
	var out contracts.List[contracts.WishlistItem]
	id, err := self(a)
	if err != nil {
		return out, err
	}
	page = page.Normalize()
	var after *WishlistCursor
	if page.Cursor != "" {
		cur, err := parseWishlistCursor(page.Cursor)
		if err != nil {
			return out, err
		}
		after = &cur
	}
	entries, err := c.store.Wishlist(ctx, id, page.Limit+1, after)
	if err != nil {
		return out, err
	}
	if len(entries) > page.Limit {
		entries = entries[:page.Limit]
		last := entries[len(entries)-1]
		out.NextCursor = WishlistCursor{AddedAt: last.AddedAt, ProductID: last.ProductID}.String()
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ProductID
	}
	info, lerr := c.lookup(ctx, ids)
	out.Items = make([]contracts.WishlistItem, len(entries))
	for i, e := range entries {
		out.Items[i] = wishlistItem(e, info, lerr)
	}
	return out, nil
}

func (c *Core) lookup(ctx context.Context, ids []string) (map[string]ProductInfo, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if c.products == nil {
		return nil, errors.New("no product service configured")
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ProductTimeout)
	defer cancel()
	info, err := c.products.Lookup(ctx, ids)
	if err != nil {
		c.log.Warn("product.lookup failed; wishlist shown without details", "err", err)
	}
	return info, err
}

func wishlistItem(e WishlistEntry, info map[string]ProductInfo, lerr error) contracts.WishlistItem {
	it := contracts.WishlistItem{ProductID: e.ProductID, AddedAt: e.AddedAt}
	p, ok := info[e.ProductID]
	switch {
	case lerr != nil || (!ok && info == nil):
		it.Availability = contracts.WishlistUnknown
	case ok && p.Deleted:
		// Removed from the catalogue: shown unavailable under the name the
		// shopper saved it by, rather than as a nameless line.
		it.Availability, it.Name = contracts.WishlistUnavailable, p.Name
	case !ok || !p.Exists || p.Status == contracts.ProductDraft:
		// A draft is hidden from all but its seller: nothing of it shows.
		it.Availability = contracts.WishlistUnavailable
	default:
		it.Availability = contracts.WishlistAvailable
		it.Name, it.ImageURL, it.Status, it.StockStatus = p.Name, p.ImageURL, p.Status, p.StockStatus
		price := p.Price
		it.Price = &price
	}
	return it
}

// AddWishlist adds a product to the actor's wishlist. A product the product
// service says does not exist (or is a draft) is not_found; if the product service cannot
// answer, the entry is added without details.
func (c *Core) AddWishlist(ctx context.Context, a contracts.Actor, req contracts.WishlistAddRequest) (contracts.WishlistItem, error) {
	id, err := self(a)
	if err != nil {
		return contracts.WishlistItem{}, err
	}
	pid, err := parseID("product_id", req.ProductID)
	if err != nil {
		return contracts.WishlistItem{}, err
	}
	info, lerr := c.lookup(ctx, []string{pid})
	if lerr == nil {
		if p, ok := info[pid]; !ok || !p.Exists || p.Status == contracts.ProductDraft {
			return contracts.WishlistItem{}, contracts.NotFound("product")
		}
	}
	e, err := c.store.AddWishlist(ctx, id, pid, c.cfg.MaxWishlist)
	if err != nil {
		return contracts.WishlistItem{}, err
	}
	return wishlistItem(e, info, lerr), nil
}

// RemoveWishlist removes a product from the actor's wishlist.
func (c *Core) RemoveWishlist(ctx context.Context, a contracts.Actor, productID string) error {
	id, err := self(a)
	if err != nil {
		return err
	}
	pid, err := parseID("product_id", productID)
	if err != nil {
		return err
	}
	return c.store.RemoveWishlist(ctx, id, pid)
}

// AdminList searches users by email or name (admin only).
func (c *Core) AdminList(ctx context.Context, a contracts.Actor, q string, page contracts.Page) (contracts.List[User], error) {
	var out contracts.List[User]
	if err := admin(a); err != nil {
		return out, err
	}
	q = strings.TrimSpace(q)
	if len(q) > 100 {
		return out, contracts.InvalidArgument("q", "q must be at most 100 characters")
	}
	page = page.Normalize()
	var after string
	if page.Cursor != "" {
		var err error
		if after, err = parseID("cursor", page.Cursor); err != nil {
			return out, contracts.InvalidArgument("cursor", "cursor is not valid")
		}
	}
	users, err := c.store.ListUsers(ctx, q, page.Limit+1, after)
	if err != nil {
		return out, err
	}
	if len(users) > page.Limit {
		users = users[:page.Limit]
		out.NextCursor = users[len(users)-1].ID
	}
	if users == nil {
		users = []User{}
	}
	out.Items = users
	return out, nil
}

// AdminUpdate changes a user's role or disabled flag (admin only). Admins
// cannot demote or disable themselves, so the platform never loses its last
// admin by accident. Disabling ends the user's sessions at once.
func (c *Core) AdminUpdate(ctx context.Context, a contracts.Actor, userID string, req contracts.AdminUpdateUserRequest) (User, error) {
	if err := admin(a); err != nil {
		return User{}, err
	}
	id, err := parseID("id", userID)
	if err != nil {
		return User{}, err
	}
	if req.Role != nil {
		if err := checkRole("role", *req.Role); err != nil {
			return User{}, err
		}
	}
	if id == a.ID && ((req.Role != nil && *req.Role != contracts.RoleAdmin) || (req.Disabled != nil && *req.Disabled)) {
		return User{}, contracts.Errorf(contracts.CodeFailedPrecondition, "admins cannot demote or disable themselves")
	}
	return c.store.UpdateUser(ctx, id, func(u *User) error {
		if req.Role != nil {
			u.Role = *req.Role
		}
		if req.Disabled != nil {
			u.Disabled = *req.Disabled
		}
		return nil
	})
}

// BootstrapAdmin makes sure an admin with email exists: it creates the
// account with password, or promotes (and re-enables) an existing account
// without touching its password. It is idempotent.
func (c *Core) BootstrapAdmin(ctx context.Context, email, password string) (User, error) {
	email, err := normalizeEmail(email)
	if err != nil {
		return User{}, err
	}
	if err := checkPassword("password", password, email); err != nil {
		return User{}, err
	}
	hash, err := c.hash.hash(ctx, password)
	if err != nil {
		return User{}, err
	}
	now := c.now().UTC().Truncate(time.Microsecond)
	u := User{ID: newID(), Email: email, Name: "Administrator", Role: contracts.RoleAdmin, CreatedAt: now, UpdatedAt: now}
	created, err := c.store.BootstrapAdmin(ctx, u, hash)
	if err != nil {
		return User{}, err
	}
	cred, err := c.store.CredentialByEmail(ctx, email)
	if err != nil {
		return User{}, err
	}
	c.log.Info("bootstrap admin ready", "user_id", cred.ID, "created", created)
	return cred.User, nil
}

// Cleanup removes expired sessions, stale login counters and keys nobody
// can hold tokens of any more.
func (c *Core) Cleanup(ctx context.Context) error {
	now := c.now()
	return c.store.Cleanup(ctx, now, now.Add(-c.keyGrace()))
}
