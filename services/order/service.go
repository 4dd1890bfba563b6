// Package order is the order service: carts (Redis), checkout with
// idempotency keys, the order saga (reserve stock → charge → paid, or
// cancel), shipping, delivery, cancellation and refunds, and the sellers'
// and buyers' order lists.
//
// # The saga
//
// order.checkout prices the lines with product.lookup (never the client's
// prices), snapshots the shipping address, exchanges the card for a payment
// token, and stores the order "pending" together with order.placed in one
// transaction (outbox). The product service reserves the stock and answers
// inventory.reserved or inventory.rejected. On reserved the order moves to
// "reserved" and is charged (idempotency key = order id) → "paid" with
// order.paid, or on a decline "awaiting_payment" (status_reason
// payment_declined or insufficient_funds) with payment.failed: the stock
// stays held and the buyer may pay again with another card (order.pay,
// see pay.go) until the payment window — PendingTimeout counted from
// placement — ends; then the order is "cancelled" (payment_timeout) with
// order.cancelled, which makes the product service release the stock. On
// rejected it is "cancelled" (out_of_stock). inventory.released with reason expired (the hold ran out)
// cancels the order (reservation_expired); if the order was already paid —
// the charge landed after the hold expired, so the product service could
// not sell the units — the payment is refunded too.
//
// Every step is a state transition in PostgreSQL, made once per event
// (inbox) and only from the state it expects, so redelivered or late events
// change nothing. A crash anywhere is repaired by the recovery sweeper,
// which runs at Start and every SweepInterval:
//   - "reserved" orders whose charge lease expired (the charging process
//     died, or the provider's answer was unknown) are charged again; the
//     provider's idempotency makes the retry return the first outcome, so
//     nobody is charged twice. A charge lease records the instance holding
//     it (Config.Instance), and a restarted instance first resumes, at
//     once, the charges its previous run left in flight, without waiting
//     for their leases to run out;
//   - "pending" orders older than PendingTimeout are cancelled
//     (reservation_timeout), which releases any stock held late;
//   - "awaiting_payment" orders placed longer than PendingTimeout ago are
//     cancelled (payment_timeout), which releases their stock;
//   - cancelled or refunded orders whose payment is still "succeeded" (a
//     refund that did not finish) are refunded (idempotently per order).
//   - approved return requests whose refund lease is free or expired are
//     refunded (idempotently per return; see returns.go).
//
// Cancelling a paid order (buyer, or admin) and refunding (admin) are two
// durable steps: the status change with its event, then the refund, which
// sets the payment "refunded" and emits order.refunded.
//
// # Anatomy
//
// The order service is built like the user service, with the adapter
// files in this package rather than a sub-package (the aggregate they
// persist is this package's):
//   - the domain: the Order aggregate with its state machine and events
//     (model.go), shipments, returns, the saga and the actions; it depends
//     on the store interface it declares (store.go) and on
//     payment.Provider, never on SQL;
//   - the PostgreSQL adapter, pgStore (postgres.go): all the service's
//     SQL. An update takes a closure over the aggregate
//     (func(*Order) error); the closure records on the order the events,
//     payment attempts, shipments, return requests and idempotent answer
//     of its change, and the adapter writes them with the order in one
//     transaction (row lock, outbox) — nothing is written beside it;
//   - the transport (rpc.go): bus.Routed decodes each method's body into
//     its contract type and bus.Query parses a list's query into its
//     filter, so the domain's methods take typed values.
//
// # Access
//
// Every order has a number from a sequence ("100042", see number.go),
// shown in notifications; order.get takes it wherever it takes an id.
//
// Buyers see and cancel only their own orders (anyone else's is not_found);
// sellers see the orders that hold their products (with only their lines,
// shipments, returns and subtotal; no card, no payment attempts) and ship,
// deliver and decide returns of their own lines (shipments.go,
// returns.go); admins see and do everything. Illegal
// transitions are failed_precondition naming the current status.
package order

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/redisx"
	"github.com/opencommerce/opencommerce/internal/svc"
	"github.com/opencommerce/opencommerce/services/order/payment"
)

const serviceName = "order"

// Service is the order service module. New builds it, Start connects it
// (database, consumer, RPC server, sweeper), Stop drains it.
type Service struct {
	cfg  Config
	deps svc.Deps
	log  *slog.Logger
	m    *metrics
	now  func() time.Time
	// instance is cfg.Instance or the host name: the holder this process
	// records on the charge leases it takes (see Config.Instance).
	instance string

	carts     *cartStore
	catalog   Catalog
	addresses AddressBook

	kit      *svc.Kit
	store    store
	provider payment.Provider

	// wrapProvider, when set before Start, wraps the payment provider
	// (tests simulate crashes and outages with it).
	wrapProvider func(payment.Provider) payment.Provider

	stopSweep chan struct{}
	sweepDone sync.WaitGroup
}

// New validates cfg and builds the service on deps (which must have Bus,
// RPC and Redis). Nothing is connected before Start.
func New(cfg Config, deps svc.Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Redis == nil {
		return nil, errors.New("order: needs Redis (carts)")
	}
	if deps.RPC == nil || deps.Bus == nil {
		return nil, errors.New("order: needs the bus and an RPC client")
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	prefix := deps.RedisPrefix
	if prefix == "" {
		prefix = "oc:"
	}
	instance := cfg.Instance
	if instance == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			return nil, fmt.Errorf("order: order.instance is empty and the host name is unknown (%v): set order.instance", err)
		}
		instance = host
	}
	return &Service{
		instance:  instance,
		cfg:       cfg,
		deps:      deps,
		log:       log.With("service", serviceName),
		m:         newMetrics(deps.Metrics),
		now:       time.Now,
		carts:     &cartStore{rdb: deps.Redis, prefix: prefix, ttl: cfg.CartTTL},
		catalog:   rpcCatalog{c: deps.RPC},
		addresses: rpcAddressBook{c: deps.RPC},
		stopSweep: make(chan struct{}),
	}, nil
}

// Start opens and migrates the order database, starts the outbox relay,
// the event consumer (inventory.*), the RPC server and the recovery
// sweeper (which runs once at once).
func (s *Service) Start(ctx context.Context) error {
	kit, err := svc.NewKit(ctx, s.deps, svc.KitConfig{
		Service:    serviceName,
		Migrations: Migrations,
		Bindings: []string{
			contracts.EventInventoryReserved, contracts.EventInventoryRejected, contracts.EventInventoryReleased,
		},
	})
	if err != nil {
		return err
	}
	s.kit = kit
	s.store = newPGStore(kit.Pool)
	var prov payment.Provider = payment.NewTestProvider(kit.Pool, s.now)
	if s.wrapProvider != nil {
		prov = s.wrapProvider(prov)
	}
	s.provider = prov
	s.register(kit)
	kit.OnEvent(s.handleEvent)
	if s.deps.Health != nil {
		s.deps.Health.Add("redis:"+serviceName, redisx.Ready(s.deps.Redis))
	}
	if err := kit.Start(ctx); err != nil {
		_ = kit.Stop(context.Background())
		return err
	}
	s.sweepDone.Add(1)
	go s.sweeper()
	return nil
}

// Stop stops the sweeper, then stops taking requests and events, finishes
// what is in flight and closes the database.
func (s *Service) Stop(ctx context.Context) error {
	if s.kit == nil {
		return nil
	}
	select {
	case <-s.stopSweep:
	default:
		close(s.stopSweep)
	}
	s.sweepDone.Wait()
	if s.deps.Health != nil {
		s.deps.Health.Remove("redis:" + serviceName)
	}
	return s.kit.Stop(ctx)
}

// sweeper resumes the charges this instance's previous run left in flight,
// runs sweep at once and then every SweepInterval until Stop.
func (s *Service) sweeper() {
	defer s.sweepDone.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stopSweep
		cancel()
	}()
	s.resumeHeld(ctx)
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		s.sweep(ctx)
		select {
		case <-s.stopSweep:
			return
		case <-t.C:
		}
	}
}
