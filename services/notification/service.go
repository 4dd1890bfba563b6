// Package notification is the notification service module: it wires the
// domain (services/notification/notify: which events notify whom, on which
// channels, the push and email outboxes, retention) to its PostgreSQL store
// (services/notification/postgres), the RPC methods notification.* (rpc.go)
// and the events it consumes, and runs the domain's workers.
//
// The RabbitMQ → NATS event mirror the gateway's cache purges read is not
// here: it is its own module (internal/eventmirror), run with the gateway.
package notification

import (
	"context"
	"errors"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/opencommerce/opencommerce/internal/svc"
	"github.com/opencommerce/opencommerce/services/notification/notify"
	"github.com/opencommerce/opencommerce/services/notification/postgres"
)

// Config configures the notification service (flags smtp.* and
// notification.*, see notify.Config.RegisterFlags).
type Config = notify.Config

// DefaultConfig returns the defaults RegisterFlags sets.
func DefaultConfig() Config { return notify.DefaultConfig() }

// Name is the service name: RPC queue rpc.notification, database
// <prefix>notification, events queue events.notification.
const Name = "notification"

// Service is the running notification service. Start and Stop are not safe
// to call concurrently with each other.
type Service struct {
	cfg  Config
	deps svc.Deps
	js   jetstream.JetStream

	kit    *svc.Kit
	core   *notify.Core
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New checks cfg and deps and returns a service that is not started yet.
// js is the JetStream context of the process's NATS connection (see
// natsx.Connect); cfg.NATS must name the same streams the gateway reads.
func New(cfg Config, deps svc.Deps, js jetstream.JetStream) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Bus == nil || deps.Health == nil || deps.Log == nil {
		return nil, errors.New("notification: deps need Bus, Health and Log")
	}
	if js == nil {
		return nil, errors.New("notification: a JetStream context is required")
	}
	return &Service{cfg: cfg, deps: deps, js: js}, nil
}

// Start opens and migrates the database, starts serving notification.*,
// consuming events, the push and email workers and the retention sweep.
func (s *Service) Start(ctx context.Context) error {
	kit, err := svc.NewKit(ctx, s.deps, svc.KitConfig{Service: Name, Migrations: postgres.Migrations(), Bindings: notify.ConsumedEvents})
	if err != nil {
		return err
	}
	c, err := notify.NewCore(ctx, s.cfg, postgres.New(kit.Pool), kit.Log, s.deps.Metrics)
	if err != nil {
		_ = kit.Stop(ctx)
		return err
	}
	for method, h := range handlers(c) {
		kit.Handle(method, h)
	}
	kit.OnEvent(c.HandleEvent)
	if err := kit.Start(ctx); err != nil {
		_ = kit.Stop(ctx)
		return err
	}
	s.kit, s.core = kit, c
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	for _, run := range c.Workers(s.js) {
		s.wg.Go(func() { run(wctx) })
	}
	return nil
}

// Stop stops the push and email workers, then the kit (RPC server,
// consumer) after finishing work in flight, and closes the database. Unsent
// emails and pushes stay in their outboxes for the next start.
func (s *Service) Stop(ctx context.Context) error {
	if s.kit == nil {
		return nil
	}
	// The kit's Stop closes the pool, so the workers stop first; rows that
	// events still write meanwhile wait in the outboxes.
	s.cancel()
	s.wg.Wait()
	err := s.kit.Stop(ctx)
	s.kit = nil
	return err
}

// Pool is the service's database pool (nil before Start); for tests.
func (s *Service) Pool() *pgxpool.Pool {
	if s.kit == nil {
		return nil
	}
	return s.kit.Pool
}
