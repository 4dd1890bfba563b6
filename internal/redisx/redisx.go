// Package redisx opens the process's Redis client from flags: caches, carts
// and rate-limit state live there. Every key a service writes starts with
// Config.Prefix ("oc:" by default), so several deployments (or tests) can
// share one Redis without clashing.
//
// The client fails fast when Redis is down or hung: dialling, reading,
// writing and waiting for a pooled connection are bounded by timeouts well
// under a route's (hundreds of milliseconds), and a circuit breaker
// (breaker.go) opens after Config.BreakerFailures consecutive failures, so
// that every command then fails at once with an error wrapping
// ErrUnavailable (503 with Retry-After at the gateway) until, after
// Config.BreakerCooldown, one probe command succeeds again.
package redisx

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultURL is the server a developer machine runs.
const DefaultURL = "redis://127.0.0.1:6379/0"

// Config configures the Redis client.
type Config struct {
	// URL is a redis:// or rediss:// URL (see redis.ParseURL for options
	// such as ?pool_size=…; the timeouts below replace ?dial_timeout=…
	// and the like).
	URL string
	// Prefix starts every key the platform writes.
	Prefix string
	// DialTimeout, ReadTimeout, WriteTimeout bound connecting and each
	// network read and write of a command (a caller's shorter context
	// deadline wins); PoolTimeout bounds the wait for a pooled connection.
	// They replace the URL's options of the same meaning. Each is well
	// under the gateway's route timeout, so a hung Redis is detected in
	// time to answer 503 rather than 504.
	DialTimeout, ReadTimeout, WriteTimeout, PoolTimeout time.Duration
	// BreakerFailures consecutive commands failing on Redis (network
	// errors, timeouts) open the circuit breaker; BreakerCooldown later
	// one command probes Redis, and closes the breaker if it succeeds.
	BreakerFailures int
	BreakerCooldown time.Duration
}

// Defaults of the timeouts and the breaker.
const (
	DefaultDialTimeout     = 300 * time.Millisecond
	DefaultReadTimeout     = 300 * time.Millisecond
	DefaultWriteTimeout    = 300 * time.Millisecond
	DefaultPoolTimeout     = 500 * time.Millisecond
	DefaultBreakerFailures = 5
	DefaultBreakerCooldown = time.Second
)

// RegisterFlags registers the flags, prefixed "redis.", with their defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.URL, "redis.url", DefaultURL, "Redis URL (redis:// or rediss://)")
	fs.StringVar(&c.Prefix, "redis.prefix", "oc:", "prefix of every Redis key")
	fs.DurationVar(&c.DialTimeout, "redis.dial-timeout", DefaultDialTimeout, "bound on connecting to Redis")
	fs.DurationVar(&c.ReadTimeout, "redis.read-timeout", DefaultReadTimeout, "bound on each network read of a Redis command")
	fs.DurationVar(&c.WriteTimeout, "redis.write-timeout", DefaultWriteTimeout, "bound on each network write of a Redis command")
	fs.DurationVar(&c.PoolTimeout, "redis.pool-timeout", DefaultPoolTimeout, "bound on waiting for a pooled Redis connection")
	fs.IntVar(&c.BreakerFailures, "redis.breaker-failures", DefaultBreakerFailures, "consecutive Redis failures (errors, timeouts) that open the circuit breaker (commands then fail at once)")
	fs.DurationVar(&c.BreakerCooldown, "redis.breaker-cooldown", DefaultBreakerCooldown, "how long the open breaker fails commands before one probes Redis")
}

// withDefaults fills zero timeouts and breaker settings (a Config built
// in code rather than from flags).
func (c Config) withDefaults() Config {
	for _, f := range []struct {
		v *time.Duration
		d time.Duration
	}{{&c.DialTimeout, DefaultDialTimeout}, {&c.ReadTimeout, DefaultReadTimeout}, {&c.WriteTimeout, DefaultWriteTimeout}, {&c.PoolTimeout, DefaultPoolTimeout}, {&c.BreakerCooldown, DefaultBreakerCooldown}} {
		if *f.v == 0 {
			*f.v = f.d
		}
	}
	if c.BreakerFailures == 0 {
		c.BreakerFailures = DefaultBreakerFailures
	}
	return c
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	if c.URL == "" {
		return errors.New("redis.url: required")
	}
	if _, err := redis.ParseURL(c.URL); err != nil {
		return fmt.Errorf("redis.url: %w", err)
	}
	if strings.ContainsAny(c.Prefix, " \r\n") {
		return fmt.Errorf("redis.prefix: must not contain spaces or newlines")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"dial-timeout", c.DialTimeout}, {"read-timeout", c.ReadTimeout}, {"write-timeout", c.WriteTimeout}, {"pool-timeout", c.PoolTimeout}, {"breaker-cooldown", c.BreakerCooldown}} {
		if d.v < 0 {
			return fmt.Errorf("redis.%s: must not be negative", d.name)
		}
	}
	if c.BreakerFailures < 0 {
		return errors.New("redis.breaker-failures: must not be negative")
	}
	return nil
}

// Key joins parts onto the prefix with ':' (Key("cart", id) = "oc:cart:<id>").
func (c Config) Key(parts ...string) string {
	return c.Prefix + strings.Join(parts, ":")
}

// Open returns a client for cfg.URL after a successful PING within ctx. The
// client is safe for concurrent use; the caller closes it. Zero timeouts
// and breaker settings take their defaults.
func Open(ctx context.Context, cfg Config) (*redis.Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("redis: ping %s: %w", c.Options().Addr, err)
	}
	return c, nil
}

// newClient returns cfg's client (with its breaker hook) without
// contacting Redis.
func newClient(cfg Config) (*redis.Client, error) {
	cfg = cfg.withDefaults()
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redis.url: %w", err)
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout, opts.PoolTimeout = cfg.DialTimeout, cfg.ReadTimeout, cfg.WriteTimeout, cfg.PoolTimeout
	// A context's deadline bounds the network reads and writes too, not
	// only the wait for a pooled connection: a request's deadline (or the
	// rate limiter's few milliseconds) holds even on a connection that
	// died without a FIN.
	opts.ContextTimeoutEnabled = true
	c := redis.NewClient(opts)
	// First hook: the breaker wraps the client's retries, so a command
	// counts once however many attempts it took.
	c.AddHook(newBreaker(cfg.BreakerFailures, cfg.BreakerCooldown))
	return c, nil
}

// Ready returns a readiness check for /readyz: nil when PING succeeds
// within ctx.
func Ready(c *redis.Client) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if err := c.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
		return nil
	}
}

// DeleteKeys removes every key starting with prefix (SCAN + UNLINK in
// batches), for tools and tests that wrote under a unique prefix.
func DeleteKeys(ctx context.Context, rdb redis.UniversalClient, prefix string) error {
	if prefix == "" {
		return errors.New("redisx: refusing to delete keys without a prefix")
	}
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		return rdb.Unlink(ctx, batch...).Err()
	}
	return nil
}
