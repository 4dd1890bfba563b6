package svc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/pg"
)

// Deps are the process-wide resources handed to every module. In "all" mode
// every module shares them; under Nomad each process has its own.
type Deps struct {
	Log     *slog.Logger
	Metrics prometheus.Registerer
	Health  *Health
	// Bus is the process's supervised AMQP connection.
	Bus *bus.Conn
	// RPC is the shared client for calls to other services.
	RPC *bus.Client
	// PG names the PostgreSQL server; each service opens its own database
	// DBPrefix+service on it.
	PG       pg.Config
	DBPrefix string
	// Redis is nil in processes that do not use it; keys start with
	// RedisPrefix.
	Redis       *redis.Client
	RedisPrefix string
	// Server and Consumer are the defaults for every service's RPC server and
	// event consumer (prefetch, workers, retry bound).
	Server   bus.ServerConfig
	Consumer bus.ConsumerConfig
	// Relay configures every service's outbox relay.
	Relay pg.RelayConfig
}

// Database is the name of service's own database.
func (d Deps) Database(service string) string {
	p := d.DBPrefix
	if p == "" {
		p = "oc_"
	}
	return p + service
}

// KitConfig describes a service's plumbing.
type KitConfig struct {
	// Service names the service: its RPC queue, its database, its events
	// queue and its metrics label.
	Service string
	// Migrations are the service's embedded NNNN_name.sql files.
	Migrations fs.FS
	// Bindings are the event routing keys the service consumes; none means
	// no consumer.
	Bindings []string
}

// Kit owns a service's database pool, RPC server, outbox relay and event
// consumer, so a service adds only its own logic. Register handlers with
// Handle and OnEvent before Start.
type Kit struct {
	Pool   *pgxpool.Pool
	Server *bus.Server
	Log    *slog.Logger
	Deps   Deps

	cfg      KitConfig
	relay    *pg.Relay
	pub      *bus.Publisher
	consumer *bus.Consumer
	onEvent  bus.EventHandler
}

// NewKit opens (creating if missing) and migrates the service's database and
// builds its RPC server, event publisher and outbox relay. Unless
// deps.Server.Classify is set, the RPC server classifies handler errors
// with pg.Unavailable: a database or Redis that is down or hung is
// answered unavailable (503 with Retry-After at the gateway), not internal.
func NewKit(ctx context.Context, deps Deps, cfg KitConfig) (*Kit, error) {
	if cfg.Service == "" {
		return nil, errors.New("app: kit needs a service name")
	}
	log := deps.Log.With("service", cfg.Service)
	pool, err := pg.Open(ctx, deps.PG, deps.Database(cfg.Service), log)
	if err != nil {
		return nil, err
	}
	if err := pg.Migrate(ctx, pool, cfg.Migrations); err != nil {
		pool.Close()
		return nil, fmt.Errorf("migrate %s: %w", cfg.Service, err)
	}
	pub, err := bus.NewPublisher(deps.Bus, log, deps.Metrics)
	if err != nil {
		pool.Close()
		return nil, err
	}
	scfg := deps.Server
	scfg.Service = cfg.Service
	if scfg.Classify == nil {
		// One mapping for every service: a database (or Redis) that is
		// down or hung is unavailable (503 + Retry-After), not internal.
		scfg.Classify = pg.Unavailable
	}
	k := &Kit{
		Pool:   pool,
		Server: bus.NewServer(deps.Bus, scfg, log, deps.Metrics),
		Log:    log,
		Deps:   deps,
		cfg:    cfg,
		pub:    pub,
	}
	rcfg := deps.Relay
	rcfg.Service = cfg.Service
	k.relay = pg.NewRelay(pool, pub, rcfg, log, deps.Metrics)
	deps.Health.Add("pg:"+cfg.Service, pg.Ready(pool))
	return k, nil
}

// Handle registers an RPC method; call before Start.
func (k *Kit) Handle(method string, h bus.Handler) { k.Server.Handle(method, h) }

// OnEvent sets the handler of the events bound in KitConfig.Bindings. The
// handler should make its effect idempotent with pg.HandleOnce.
func (k *Kit) OnEvent(h bus.EventHandler) { k.onEvent = h }

// Start starts the outbox relay, the event consumer and the RPC server.
func (k *Kit) Start(ctx context.Context) error {
	if err := k.relay.Start(ctx); err != nil {
		return fmt.Errorf("outbox relay: %w", err)
	}
	if len(k.cfg.Bindings) > 0 {
		if k.onEvent == nil {
			return fmt.Errorf("app: %s binds events but has no OnEvent handler", k.cfg.Service)
		}
		ccfg := k.Deps.Consumer
		ccfg.Service = k.cfg.Service
		ccfg.Bindings = k.cfg.Bindings
		k.consumer = bus.NewConsumer(k.Deps.Bus, ccfg, k.onEvent, k.Log, k.Deps.Metrics)
		// A consuming service's inbox duplicates series exists from the
		// start (at 0), before the first redelivery it absorbs.
		pg.InboxDuplicates(k.cfg.Service)
		if err := k.consumer.Start(ctx); err != nil {
			return fmt.Errorf("event consumer: %w", err)
		}
	}
	if err := k.Server.Start(ctx); err != nil {
		return fmt.Errorf("rpc server: %w", err)
	}
	return nil
}

// Stop stops taking requests and events, finishes what is in flight, lets
// the relay flush, and closes the pool.
func (k *Kit) Stop(ctx context.Context) error {
	var errs []error
	if err := k.Server.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("rpc server: %w", err))
	}
	if k.consumer != nil {
		if err := k.consumer.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("event consumer: %w", err))
		}
	}
	if err := k.relay.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("outbox relay: %w", err))
	}
	_ = k.pub.Close()
	k.Deps.Health.Remove("pg:" + k.cfg.Service)
	k.Pool.Close()
	return errors.Join(errs...)
}
