package account

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"runtime"
	"time"
)

// Config configures the user service. Register flags with RegisterFlags
// (which also sets the defaults) and check with Validate.
type Config struct {
	// AccessTTL is the lifetime of access tokens. Ending a session does
	// not wait for it: the gateways refuse a revoked session's tokens
	// within a second (user.sessions_revoked).
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of a refresh token; every refresh starts a
	// new one.
	RefreshTTL time.Duration
	// Argon2 are the password hashing parameters of new hashes.
	Argon2 Argon2Params
	// HashConcurrency bounds password hashes running at once (each uses
	// Argon2.MemoryKiB of memory).
	HashConcurrency int
	// BootstrapAdminEmail and BootstrapAdminPassword, when both set, make
	// sure an admin account with that email exists at Start (created with
	// that password, or an existing account promoted; idempotent).
	BootstrapAdminEmail    string
	BootstrapAdminPassword string
	// LoginAccountFailures and LoginIPFailures are how many failed logins
	// one account (email) or one client IP may have in LoginWindow before
	// further attempts get resource_exhausted.
	LoginAccountFailures int
	LoginIPFailures      int
	LoginWindow          time.Duration
	// MaxAddresses and MaxWishlist bound a user's address book and wishlist.
	MaxAddresses int
	MaxWishlist  int
	// KeyCacheTTL is how long an instance keeps using its cached signing key
	// before checking for a rotation made elsewhere.
	KeyCacheTTL time.Duration
	// ProductTimeout bounds the product.lookup call of the wishlist.
	ProductTimeout time.Duration
	// KeyEncryptionKey, when set, is a 32-byte AES key (standard or URL
	// base64) that seals the token signing keys in the database
	// (user.key-encryption-key, OC_USER_KEY_ENCRYPTION_KEY): keys are
	// written sealed, and keys found in plaintext are sealed at start.
	// Empty: keys are stored in plaintext (development).
	KeyEncryptionKey string
}

// KEK decodes KeyEncryptionKey (nil when empty); Validate has checked it.
func (c Config) KEK() []byte {
	if c.KeyEncryptionKey == "" {
		return nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(c.KeyEncryptionKey); err == nil && len(b) == 32 {
			return b
		}
	}
	return nil
}

// DefaultConfig returns the defaults RegisterFlags sets.
func DefaultConfig() Config {
	return Config{
		AccessTTL:            15 * time.Minute,
		RefreshTTL:           30 * 24 * time.Hour,
		Argon2:               DefaultArgon2,
		HashConcurrency:      2 * runtime.GOMAXPROCS(0),
		LoginAccountFailures: 5,
		LoginIPFailures:      100,
		LoginWindow:          15 * time.Minute,
		MaxAddresses:         20,
		MaxWishlist:          500,
		KeyCacheTTL:          time.Minute,
		ProductTimeout:       2 * time.Second,
	}
}

// RegisterFlags registers the flags under "user." and sets the defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	d := DefaultConfig()
	fs.DurationVar(&c.AccessTTL, "user.access-ttl", d.AccessTTL, "lifetime of access tokens")
	fs.DurationVar(&c.RefreshTTL, "user.refresh-ttl", d.RefreshTTL, "lifetime of refresh tokens")
	c.Argon2.RegisterFlags("user.argon2.", fs)
	fs.IntVar(&c.HashConcurrency, "user.hash-concurrency", d.HashConcurrency, "password hashes running at once")
	fs.StringVar(&c.BootstrapAdminEmail, "user.bootstrap-admin-email", "", "email of the first admin, created or promoted at start")
	fs.StringVar(&c.BootstrapAdminPassword, "user.bootstrap-admin-password", "", "password of the first admin when it is created")
	fs.IntVar(&c.LoginAccountFailures, "user.login.account-failures", d.LoginAccountFailures, "failed logins per account per window")
	fs.IntVar(&c.LoginIPFailures, "user.login.ip-failures", d.LoginIPFailures, "failed logins per client IP per window")
	fs.DurationVar(&c.LoginWindow, "user.login.window", d.LoginWindow, "window of the failed-login limits")
	fs.IntVar(&c.MaxAddresses, "user.max-addresses", d.MaxAddresses, "addresses per user")
	fs.IntVar(&c.MaxWishlist, "user.max-wishlist", d.MaxWishlist, "wishlist entries per user")
	fs.DurationVar(&c.KeyCacheTTL, "user.key-cache-ttl", d.KeyCacheTTL, "how long the signing key is cached")
	fs.DurationVar(&c.ProductTimeout, "user.product-timeout", d.ProductTimeout, "timeout of product.lookup for the wishlist")
	fs.StringVar(&c.KeyEncryptionKey, "user.key-encryption-key", "", "base64 of 32 random bytes sealing the token signing keys at rest (empty: stored in plaintext)")
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.KeyEncryptionKey != "" && c.KEK() == nil {
		errs = append(errs, errors.New("user.key-encryption-key must be the base64 of exactly 32 bytes (e.g. openssl rand -base64 32)"))
	}
	if c.AccessTTL < time.Minute || c.AccessTTL > 24*time.Hour {
		errs = append(errs, fmt.Errorf("user.access-ttl %v out of range 1m..24h", c.AccessTTL))
	}
	if c.RefreshTTL < c.AccessTTL {
		errs = append(errs, errors.New("user.refresh-ttl must not be shorter than user.access-ttl"))
	}
	if err := c.Argon2.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("user.argon2: %w", err))
	}
	if c.HashConcurrency < 1 {
		errs = append(errs, errors.New("user.hash-concurrency must be at least 1"))
	}
	if (c.BootstrapAdminEmail == "") != (c.BootstrapAdminPassword == "") {
		errs = append(errs, errors.New("user.bootstrap-admin-email and -password must be set together"))
	}
	if c.BootstrapAdminEmail != "" {
		email, err := normalizeEmail(c.BootstrapAdminEmail)
		if err != nil {
			errs = append(errs, fmt.Errorf("user.bootstrap-admin-email: %w", err))
		} else if err := checkPassword("password", c.BootstrapAdminPassword, email); err != nil {
			errs = append(errs, fmt.Errorf("user.bootstrap-admin-password: %w", err))
		}
	}
	if c.LoginAccountFailures < 1 || c.LoginIPFailures < 1 || c.LoginWindow < time.Second {
		errs = append(errs, errors.New("user.login limits must be positive and the window at least 1s"))
	}
	if c.MaxAddresses < 1 || c.MaxWishlist < 1 {
		errs = append(errs, errors.New("user.max-addresses and user.max-wishlist must be positive"))
	}
	if c.KeyCacheTTL <= 0 || c.ProductTimeout <= 0 {
		errs = append(errs, errors.New("user.key-cache-ttl and user.product-timeout must be positive"))
	}
	return errors.Join(errs...)
}
