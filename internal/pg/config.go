package pg

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultURL is the server a developer machine runs.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/?sslmode=disable"

// Config configures the connection to a PostgreSQL server. The zero value is
// not useful; start from RegisterFlags' defaults (or fill every field).
type Config struct {
	// URL names the server (and optionally the maintenance database, default
	// "postgres"). Each service opens its own database on it with Open.
	URL string
	// MaxConns bounds the pool of each opened database.
	MaxConns int32
	// MinConns connections are kept open even when idle.
	MinConns int32
	// MaxConnLifetime closes connections older than this (with jitter), so
	// load rebalances after a failover and server memory stays bounded.
	MaxConnLifetime time.Duration
	// MaxConnIdleTime closes connections idle for longer than this.
	MaxConnIdleTime time.Duration
	// HealthCheckPeriod is how often idle connections are checked.
	HealthCheckPeriod time.Duration
	// ConnectTimeout bounds establishing one connection.
	ConnectTimeout time.Duration
	// AcquireTimeout bounds the wait for a pooled connection (a free one,
	// a new one, or the liveness ping of one long idle); past it the query
	// fails with context.DeadlineExceeded, which Unavailable classifies as
	// unavailable. 0 leaves only the caller's deadline.
	AcquireTimeout time.Duration
	// ExecMode is pgx's query execution mode: "cache_statement" (default:
	// prepared statements cached per connection), "cache_describe",
	// "describe_exec", "exec" or "simple_protocol" (for PgBouncer in
	// transaction mode).
	ExecMode string
	// StatementCacheCapacity is the number of prepared statements cached per
	// connection in cache_statement mode.
	StatementCacheCapacity int
	// ApplicationName is reported in pg_stat_activity.
	ApplicationName string
}

// RegisterFlags registers the config's flags, prefixed "pg.", with their
// defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.URL, "pg.url", DefaultURL, "PostgreSQL server URL; each service uses its own database on it (the URL's database is the maintenance database, default postgres)")
	c.MaxConns = 10
	fs.Var((*int32Value)(&c.MaxConns), "pg.max-conns", "maximum connections per service database pool")
	c.MinConns = 1
	fs.Var((*int32Value)(&c.MinConns), "pg.min-conns", "connections kept open per service database pool")
	fs.DurationVar(&c.MaxConnLifetime, "pg.max-conn-lifetime", time.Hour, "close connections older than this")
	fs.DurationVar(&c.MaxConnIdleTime, "pg.max-conn-idle-time", 10*time.Minute, "close connections idle longer than this")
	fs.DurationVar(&c.HealthCheckPeriod, "pg.health-check-period", 30*time.Second, "how often idle connections are checked")
	fs.DurationVar(&c.ConnectTimeout, "pg.connect-timeout", 5*time.Second, "timeout to establish one connection")
	fs.DurationVar(&c.AcquireTimeout, "pg.acquire-timeout", DefaultAcquireTimeout, "longest wait for a pooled connection before a query fails unavailable (503), well under the route timeout; 0: the request's deadline only")
	fs.StringVar(&c.ExecMode, "pg.exec-mode", "cache_statement", "pgx query exec mode: cache_statement, cache_describe, describe_exec, exec, simple_protocol (PgBouncer transaction pooling)")
	fs.IntVar(&c.StatementCacheCapacity, "pg.statement-cache", 512, "prepared statements cached per connection")
	fs.StringVar(&c.ApplicationName, "pg.application-name", "opencommerce", "application_name reported to the server")
}

// DefaultConfig returns the defaults RegisterFlags sets.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("", flag.ContinueOnError))
	return c
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	if c.URL == "" {
		return errors.New("pg.url: required")
	}
	if _, err := pgconn.ParseConfig(c.URL); err != nil {
		return fmt.Errorf("pg.url: %w", err)
	}
	if c.MaxConns < 1 {
		return fmt.Errorf("pg.max-conns: must be at least 1, got %d", c.MaxConns)
	}
	if c.MinConns < 0 || c.MinConns > c.MaxConns {
		return fmt.Errorf("pg.min-conns: must be between 0 and pg.max-conns (%d), got %d", c.MaxConns, c.MinConns)
	}
	if c.MaxConnLifetime < 0 || c.MaxConnIdleTime < 0 || c.HealthCheckPeriod < 0 || c.ConnectTimeout < 0 || c.AcquireTimeout < 0 {
		return errors.New("pg: durations must not be negative")
	}
	if _, err := parseExecMode(c.ExecMode); err != nil {
		return err
	}
	if c.StatementCacheCapacity < 0 {
		return fmt.Errorf("pg.statement-cache: must not be negative, got %d", c.StatementCacheCapacity)
	}
	return nil
}

func parseExecMode(s string) (pgx.QueryExecMode, error) {
	switch s {
	case "", "cache_statement":
		return pgx.QueryExecModeCacheStatement, nil
	case "cache_describe":
		return pgx.QueryExecModeCacheDescribe, nil
	case "describe_exec":
		return pgx.QueryExecModeDescribeExec, nil
	case "exec":
		return pgx.QueryExecModeExec, nil
	case "simple_protocol":
		return pgx.QueryExecModeSimpleProtocol, nil
	}
	return 0, fmt.Errorf("pg.exec-mode: unknown mode %q", s)
}

type int32Value int32

func (v *int32Value) String() string { return strconv.FormatInt(int64(*v), 10) }
func (v *int32Value) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return err
	}
	*v = int32Value(n)
	return nil
}

// validDatabase reports whether name is a database name Open accepts:
// lower-case letters, digits and underscores, starting with a letter or
// underscore, at most 63 bytes (PostgreSQL's identifier limit), so the name
// never needs quoting and never gets truncated.
func validDatabase(name string) bool {
	if name == "" || len(name) > 63 {
		return false
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r == '_':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Open connects to cfg's server, creates database when it does not exist,
// and returns a pool on it after a successful ping. database "" opens the
// database named in cfg.URL as it is (nothing is created).
//
// Creation is race-safe: several instances starting at once may all try to
// create the database; "already exists" (duplicate_database, 42P04) counts as success. If
// the maintenance database cannot be reached (a role without access to it),
// Open still tries the target database, which may have been created by an
// operator.
//
// The pool caches prepared statements per connection (cfg.ExecMode), checks
// idle connections every cfg.HealthCheckPeriod and recycles them after
// cfg.MaxConnLifetime. The caller closes the pool.
func Open(ctx context.Context, cfg Config, database string, log *slog.Logger) (*pgxpool.Pool, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	pcfg, err := poolConfig(cfg)
	if err != nil {
		return nil, err
	}
	if database != "" {
		if !validDatabase(database) {
			return nil, fmt.Errorf("pg: invalid database name %q (want [a-z_][a-z0-9_]*, at most 63 bytes)", database)
		}
		maint := pcfg.ConnConfig.Copy()
		if maint.Database == "" {
			maint.Database = "postgres"
		}
		if maint.Database != database {
			if err := ensureDatabase(ctx, maint, database, log); err != nil {
				if ctx.Err() != nil {
					return nil, err
				}
				log.Warn("pg: cannot ensure database exists; trying it anyway", "database", database, "err", err)
			}
		}
		pcfg.ConnConfig.Database = database
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("pg: open %s: %w", pcfg.ConnConfig.Database, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pg: ping %s: %w", pcfg.ConnConfig.Database, err)
	}
	log.Debug("pg: pool open", "database", pcfg.ConnConfig.Database, "max_conns", pcfg.MaxConns)
	return pool, nil
}

func poolConfig(cfg Config) (*pgxpool.Config, error) {
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("pg.url: %w", err)
	}
	mode, err := parseExecMode(cfg.ExecMode)
	if err != nil {
		return nil, err
	}
	// Settings given in the URL (pool_max_conns=…) win over flags only when
	// the flag is left at zero; flags are the documented interface.
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = cfg.MaxConns
	}
	if cfg.MinConns > 0 {
		pcfg.MinConns = cfg.MinConns
	}
	if cfg.MaxConnLifetime > 0 {
		pcfg.MaxConnLifetime = cfg.MaxConnLifetime
		pcfg.MaxConnLifetimeJitter = cfg.MaxConnLifetime / 10
	}
	if cfg.MaxConnIdleTime > 0 {
		pcfg.MaxConnIdleTime = cfg.MaxConnIdleTime
	}
	if cfg.HealthCheckPeriod > 0 {
		pcfg.HealthCheckPeriod = cfg.HealthCheckPeriod
	}
	if cfg.ConnectTimeout > 0 {
		pcfg.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	}
	pcfg.ConnConfig.DefaultQueryExecMode = mode
	if cfg.AcquireTimeout > 0 && pcfg.ConnConfig.Tracer == nil {
		pcfg.ConnConfig.Tracer = acquireTimeout{cfg.AcquireTimeout}
	}
	if cfg.StatementCacheCapacity > 0 {
		pcfg.ConnConfig.StatementCacheCapacity = cfg.StatementCacheCapacity
	}
	if cfg.ApplicationName != "" {
		if _, set := pcfg.ConnConfig.RuntimeParams["application_name"]; !set {
			pcfg.ConnConfig.RuntimeParams["application_name"] = cfg.ApplicationName
		}
	}
	return pcfg, nil
}

func ensureDatabase(ctx context.Context, maint *pgx.ConnConfig, database string, log *slog.Logger) error {
	conn, err := pgx.ConnectConfig(ctx, maint)
	if err != nil {
		return fmt.Errorf("connect to maintenance database %s: %w", maint.Database, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", database).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", database, err)
	}
	if exists {
		return nil
	}
	// CREATE DATABASE takes no parameters; the name was validated to need
	// no quoting, and Sanitize quotes it anyway.
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{database}.Sanitize())
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		log.Info("pg: created database", "database", database)
		return nil
	case errors.As(err, &pgErr) && (pgErr.Code == "42P04" || pgErr.Code == "23505"):
		// duplicate_database, or unique_violation on pg_database when two
		// CREATE DATABASE race past each other's catalog check.
		return nil
	default:
		return fmt.Errorf("create database %s: %w", database, err)
	}
}

// Ready returns a readiness check for /readyz: nil when the pool can reach
// the database within ctx.
func Ready(pool *pgxpool.Pool) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if err := pool.Ping(ctx); err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		return nil
	}
}
