// Package notification is the notification service module. It consumes
// order, product-social and user events (idempotently, pg.HandleOnce) and
// turns them into notifications for the buyer, the seller or the user, on
// the channels each chose per kind (notification.preferences.*):
//
//   - in-app: stored, listed newest first with keyset pages and an unread
//     filter, marked read one by one or all at once (notification.*);
//   - push: every in-app notification is also published to NATS
//     notify.user.<id> (JetStream stream NOTIFY) through a push outbox, for
//     the gateway's SSE and WebSocket streams (edge/stream);
//   - email: rendered at event time (plain text and HTML) into an email
//     outbox that a worker sends over SMTP; see mail.go for the delivery
//     contract and its one at-least-once corner.
//
// It keeps its own copy of users' email addresses from user.registered and
// user.updated: the user service has no service-to-service lookup, so an
// email to a user whose address it never learned is recorded as skipped.
//
// Notifications older than notification.retention (90 days) and finished
// emails older than notification.email-retention (30 days) are deleted by
// an hourly sweep (retention.go); pending emails are kept until sent.
//
// The RabbitMQ → NATS event mirror the gateway's cache purges read is not
// here: it is its own module (internal/eventmirror), run with the gateway.
package notification

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/opencommerce/opencommerce/internal/svc"
)

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
	core   *core
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
	kit, err := svc.NewKit(ctx, s.deps, svc.KitConfig{Service: Name, Migrations: Migrations(), Bindings: consumedEvents})
	if err != nil {
		return err
	}
	c := &core{
		cfg: s.cfg, store: pgStore{pool: kit.Pool}, log: kit.Log, m: newMetrics(s.deps.Metrics), now: time.Now,
		wakePush: make(chan struct{}, 1), wakeMail: make(chan struct{}, 1),
	}
	if c.unsubKey, err = loadUnsubscribeKey(ctx, c.store, s.cfg.UnsubscribeKey); err != nil {
		_ = kit.Stop(ctx)
		return err
	}
	ml, err := newMailer(c)
	if err != nil {
		_ = kit.Stop(ctx)
		return err
	}
	for method, h := range handlers(c) {
		kit.Handle(method, h)
	}
	kit.OnEvent(c.handleEvent)
	if err := kit.Start(ctx); err != nil {
		_ = kit.Stop(ctx)
		return err
	}
	s.kit, s.core = kit, c
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	p := &pusher{c: c, js: s.js}
	s.wg.Go(func() { p.run(wctx) })
	s.wg.Go(func() { ml.run(wctx) })
	s.wg.Go(func() { c.runSweeper(wctx) })
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
