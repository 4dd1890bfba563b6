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
	// Sign-in throttling (the package doc states the scheme). Failures are
	// counted in windows of LoginWindow from a key's first failure.
	// LoginFreeFailures failures of one (account, client IP) pair pass
	// undelayed; each further one doubles the wait of that pair, from
	// LoginDelay up to LoginMaxDelay. LoginIPFailures bounds the failures
	// of one client IP over every account, and LoginAccountFailures the
	// failures of one account from IPs not known to it; past either,
	// attempts from unknown IPs wait for the window's end. A successful
	// sign-in makes its IP known to the account for LoginKnownFor: a
	// known IP is throttled only by its own failures on that account.
	LoginAccountFailures int
	LoginIPFailures      int
	LoginWindow          time.Duration
	LoginFreeFailures    int
	LoginDelay           time.Duration
	LoginMaxDelay        time.Duration
	LoginKnownFor        time.Duration
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
		LoginAccountFailures: 50,
		LoginIPFailures:      100,
		LoginWindow:          15 * time.Minute,
		LoginFreeFailures:    3,
		LoginDelay:           time.Second,
		LoginMaxDelay:        5 * time.Minute,
		LoginKnownFor:        30 * 24 * time.Hour,
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
	fs.IntVar(&c.LoginAccountFailures, "user.login.account-failures", d.LoginAccountFailures, "failed sign-ins per account per window from client IPs not known to it; past it, unknown IPs wait for the window's end (known IPs are not affected)")
	fs.IntVar(&c.LoginIPFailures, "user.login.ip-failures", d.LoginIPFailures, "failed sign-ins per client IP per window over every account; past it, the IP waits for the window's end (except on accounts it is known to)")
	fs.DurationVar(&c.LoginWindow, "user.login.window", d.LoginWindow, "window of the failed sign-in counters, from a counter's first failure")
	fs.IntVar(&c.LoginFreeFailures, "user.login.free-failures", d.LoginFreeFailures, "failed sign-ins of one (account, client IP) pair per window before that pair is slowed down")
	fs.DurationVar(&c.LoginDelay, "user.login.delay", d.LoginDelay, "first wait of a slowed (account, client IP) pair; doubles with each further failure")
	fs.DurationVar(&c.LoginMaxDelay, "user.login.max-delay", d.LoginMaxDelay, "longest wait of a slowed (account, client IP) pair")
	fs.DurationVar(&c.LoginKnownFor, "user.login.known-for", d.LoginKnownFor, "how long a successful sign-in makes its client IP known to the account (throttled only by its own failures)")
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
	if c.LoginFreeFailures < 1 || c.LoginDelay < time.Millisecond || c.LoginMaxDelay < c.LoginDelay {
		errs = append(errs, errors.New("user.login.free-failures must be positive, user.login.delay at least 1ms and user.login.max-delay at least user.login.delay"))
	}
	if c.LoginKnownFor < time.Minute {
		errs = append(errs, errors.New("user.login.known-for must be at least 1m"))
	}
	if c.MaxAddresses < 1 || c.MaxWishlist < 1 {
		errs = append(errs, errors.New("user.max-addresses and user.max-wishlist must be positive"))
	}
	if c.KeyCacheTTL <= 0 || c.ProductTimeout <= 0 {
		errs = append(errs, errors.New("user.key-cache-ttl and user.product-timeout must be positive"))
	}
	return errors.Join(errs...)
}
