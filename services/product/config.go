package product

import (
	"errors"
	"flag"
	"time"
)

// Config configures the product service.
type Config struct {
	// ReservationTTL is how long stock stays held for an order that is
	// neither paid nor cancelled; the sweeper then releases it with reason
	// "expired".
	ReservationTTL time.Duration
	// SweepInterval is how often the sweeper looks for expired reservations.
	SweepInterval time.Duration
	// CacheTTL bounds the life of a cached product document.
	CacheTTL time.Duration
	// TreeCacheTTL bounds the life of the cached category tree (its product
	// counts move with every product change, which purges it too).
	TreeCacheTTL time.Duration
	// FileTimeout bounds the file.stat call made when attaching an image.
	FileTimeout time.Duration
	// SearchCache keeps recent search pages, facet counts and suggestion
	// lists in process for a few seconds (searchcache.go). Off, every
	// product.list search and product.suggest is computed: for measuring
	// the search itself (opencommerce bench-search); the Redis document
	// cache stays on either way.
	SearchCache bool
}

// RegisterFlags registers the flags, prefixed "product.", with defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.ReservationTTL, "product.reservation-ttl", 30*time.Minute, "release stock held for an order not paid or cancelled within this time")
	fs.DurationVar(&c.SweepInterval, "product.sweep-interval", 30*time.Second, "how often expired reservations are released")
	fs.DurationVar(&c.CacheTTL, "product.cache-ttl", 10*time.Minute, "TTL of cached product documents in Redis")
	fs.DurationVar(&c.TreeCacheTTL, "product.tree-cache-ttl", time.Minute, "TTL of the cached category tree in Redis")
	fs.DurationVar(&c.FileTimeout, "product.file-timeout", 3*time.Second, "timeout of file.stat calls to the file service")
	fs.BoolVar(&c.SearchCache, "product.search-cache", true, "keep recent search pages, facet counts and suggestions in process for a few seconds (false: compute every one, for benchmarks)")
}

// DefaultConfig returns the defaults RegisterFlags sets.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("", flag.ContinueOnError))
	return c
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.ReservationTTL <= 0:
		return errors.New("product.reservation-ttl: must be positive")
	case c.SweepInterval <= 0:
		return errors.New("product.sweep-interval: must be positive")
	case c.CacheTTL <= 0:
		return errors.New("product.cache-ttl: must be positive")
	case c.TreeCacheTTL <= 0:
		return errors.New("product.tree-cache-ttl: must be positive")
	case c.FileTimeout <= 0:
		return errors.New("product.file-timeout: must be positive")
	}
	return nil
}
