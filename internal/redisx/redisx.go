// Package redisx opens the process's Redis client from flags: caches, carts
// and rate-limit state live there. Every key a service writes starts with
// Config.Prefix ("oc:" by default), so several deployments (or tests) can
// share one Redis without clashing.
package redisx

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// DefaultURL is the server a developer machine runs.
const DefaultURL = "redis://127.0.0.1:6379/0"

// Config configures the Redis client.
type Config struct {
	// URL is a redis:// or rediss:// URL (see redis.ParseURL for options
	// such as ?pool_size=… and ?dial_timeout=…).
	URL string
	// Prefix starts every key the platform writes.
	Prefix string
}

// RegisterFlags registers the flags, prefixed "redis.", with their defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.URL, "redis.url", DefaultURL, "Redis URL (redis:// or rediss://)")
	fs.StringVar(&c.Prefix, "redis.prefix", "oc:", "prefix of every Redis key")
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
	return nil
}

// Key joins parts onto the prefix with ':' (Key("cart", id) = "oc:cart:<id>").
func (c Config) Key(parts ...string) string {
	return c.Prefix + strings.Join(parts, ":")
}

// Open returns a client for cfg.URL after a successful PING within ctx. The
// client is safe for concurrent use; the caller closes it.
func Open(ctx context.Context, cfg Config) (*redis.Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redis.url: %w", err)
	}
	// A context's deadline bounds the network reads and writes too, not
	// only the wait for a pooled connection: a request's deadline (or the
	// rate limiter's few milliseconds) holds even on a connection that
	// died without a FIN.
	opts.ContextTimeoutEnabled = true
	c := redis.NewClient(opts)
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("redis: ping %s: %w", opts.Addr, err)
	}
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
