// Package user is the user service module: it wires the account domain
// (services/user/account) to its PostgreSQL store (services/user/postgres),
// the RPC methods user.* (rpc.go, routed by edge/routes.go), the outbox relay of
// its events (user.registered, user.updated) and the product service (for
// wishlist details, by product.lookup).
//
// Start it in process with New(cfg, deps) and Start(ctx); tests use
// internal/svc/svctest for deps. The token package (internal/token)
// is what the gateway imports to verify access tokens against user.jwks.
package user

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/pg"
	"github.com/opencommerce/opencommerce/internal/svc"
	"github.com/opencommerce/opencommerce/services/user/account"
	"github.com/opencommerce/opencommerce/services/user/postgres"
)

// Name is the service name: RPC queue rpc.user, database <prefix>user.
const Name = "user"

// Config configures the user service (flags under "user.", see
// account.Config.RegisterFlags).
type Config = account.Config

// DefaultConfig returns the defaults that RegisterFlags sets.
func DefaultConfig() Config { return account.DefaultConfig() }

// cleanupInterval is how often expired sessions and counters are purged.
const cleanupInterval = 10 * time.Minute

// Service is the running user service. Start and Stop are not safe to call
// concurrently with each other.
type Service struct {
	cfg  Config
	deps svc.Deps

	kit  *svc.Kit
	core *account.Core
	quit chan struct{}
	wg   sync.WaitGroup
}

// New checks cfg and returns a service that is not started yet.
func New(cfg Config, deps svc.Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Bus == nil || deps.RPC == nil || deps.Health == nil || deps.Log == nil {
		return nil, errors.New("user: deps need Bus, RPC, Health and Log")
	}
	return &Service{cfg: cfg, deps: deps}, nil
}

// Start opens and migrates the database, makes sure a signing key exists,
// creates or promotes the bootstrap admin when configured, and starts
// serving user.* and relaying events.
func (s *Service) Start(ctx context.Context) error {
	// file.deleted: an avatar whose file was deleted leaves the profile.
	kit, err := svc.NewKit(ctx, s.deps, svc.KitConfig{Service: Name, Migrations: postgres.Migrations(),
		Bindings: []string{contracts.EventFileDeleted}})
	if err != nil {
		return err
	}
	store, err := postgres.New(kit.Pool, s.cfg.KEK())
	if err != nil {
		_ = kit.Stop(ctx)
		return err
	}
	kit.OnEvent(func(ctx context.Context, ev contracts.Event) error {
		if ev.Type != contracts.EventFileDeleted {
			return nil
		}
		var f contracts.FileDeleted
		if err := ev.Decode(&f); err != nil {
			return bus.Permanent(err)
		}
		return store.ForgetAvatar(ctx, f.FileID)
	})
	// Seal keys left in plaintext (the key-encryption key was just set);
	// fail here if a sealed key does not open with the configured key, or
	// is found with none configured.
	if n, err := store.SealKeys(ctx); err != nil {
		_ = kit.Stop(ctx)
		return fmt.Errorf("user: %w", err)
	} else if n > 0 {
		kit.Log.Info("sealed signing keys stored in plaintext", "keys", n)
	}
	if s.cfg.KEK() == nil {
		kit.Log.Warn("token signing keys are stored unsealed: set user.key-encryption-key in production")
	}
	core, err := account.NewCore(s.cfg, store, Products{RPC: s.deps.RPC}, kit.Log)
	if err != nil {
		_ = kit.Stop(ctx)
		return err
	}
	core.SetFiles(Files{RPC: s.deps.RPC})
	if _, err := core.JWKS(ctx); err != nil { // creates the first signing key
		_ = kit.Stop(ctx)
		return fmt.Errorf("user: signing key: %w", err)
	}
	if s.cfg.BootstrapAdminEmail != "" {
		if _, err := core.BootstrapAdmin(ctx, s.cfg.BootstrapAdminEmail, s.cfg.BootstrapAdminPassword); err != nil {
			_ = kit.Stop(ctx)
			return fmt.Errorf("user: bootstrap admin: %w", err)
		}
	}
	for method, h := range handlers(core) {
		kit.Handle(method, h)
	}
	if err := kit.Start(ctx); err != nil {
		_ = kit.Stop(ctx)
		return err
	}
	s.kit, s.core, s.quit = kit, core, make(chan struct{})
	s.wg.Add(1)
	go s.janitor()
	return nil
}

func (s *Service) janitor() {
	defer s.wg.Done()
	t := time.NewTicker(cleanupInterval)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if err := s.core.Cleanup(ctx); err != nil {
				s.kit.Log.Warn("user cleanup", "err", err)
			}
			cancel()
		}
	}
}

// Stop stops taking requests, finishes those in flight, flushes the outbox
// relay and closes the database.
func (s *Service) Stop(ctx context.Context) error {
	if s.kit == nil {
		return nil
	}
	close(s.quit)
	s.wg.Wait()
	err := s.kit.Stop(ctx)
	s.kit = nil
	return err
}

// Pool is the service's database pool (nil before Start); for tests and
// commands.
func (s *Service) Pool() *pgxpool.Pool {
	if s.kit == nil {
		return nil
	}
	return s.kit.Pool
}

// RotateKey makes a new signing key active in the user database behind pool
// (migrating it first) and returns its key id; the previous key stays
// published in user.jwks until its tokens have expired. Running instances
// pick the new key up within their key cache TTL (user.key-cache-ttl). The
// lead wires it as `opencommerce user rotate-key`.
func RotateKey(ctx context.Context, pool *pgxpool.Pool, cfg Config) (string, error) {
	if err := cfg.Validate(); err != nil {
		return "", err
	}
	if err := pg.Migrate(ctx, pool, postgres.Migrations()); err != nil {
		return "", err
	}
	return postgres.RotateKey(ctx, pool, cfg.KEK())
}

// BootstrapAdmin creates the admin account email with password, or promotes
// and re-enables an existing account (its password unchanged), in the user
// database behind pool (migrating it first). Idempotent; for a command.
func BootstrapAdmin(ctx context.Context, pool *pgxpool.Pool, cfg Config, email, password string) (contracts.User, error) {
	if err := pg.Migrate(ctx, pool, postgres.Migrations()); err != nil {
		return contracts.User{}, err
	}
	store, err := postgres.New(pool, cfg.KEK())
	if err != nil {
		return contracts.User{}, err
	}
	core, err := account.NewCore(cfg, store, nil, nil)
	if err != nil {
		return contracts.User{}, err
	}
	return core.BootstrapAdmin(ctx, email, password)
}

// Files asks the file service by RPC on the service's own behalf.
type Files struct {
	RPC *bus.Client
}

// PublishAvatar implements account.Files.
func (f Files) PublishAvatar(ctx context.Context, fileID, ownerID string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := bus.Invoke[contracts.File](ctx, f.RPC, "file", contracts.MethodFilePublish,
		contracts.FilePublishRequest{ID: fileID, OwnerID: ownerID, Purpose: contracts.PurposeAvatar},
		bus.CallOptions{Actor: contracts.Actor{Role: contracts.RoleService}})
	return err
}

// Products asks the product service by RPC (product.lookup, one batched
// call per page) on the service's own behalf.
type Products struct {
	RPC *bus.Client
}

// Lookup implements account.Products.
func (p Products) Lookup(ctx context.Context, ids []string) (map[string]account.ProductInfo, error) {
	rep, err := bus.Invoke[contracts.LookupReply](ctx, p.RPC, "product", contracts.MethodProductLookup,
		contracts.LookupRequest{IDs: ids}, bus.CallOptions{Actor: contracts.Actor{Role: contracts.RoleService}})
	if err != nil {
		return nil, err
	}
	out := make(map[string]account.ProductInfo, len(rep.Items))
	for _, it := range rep.Items {
		out[it.ID] = account.ProductInfo{ID: it.ID, Exists: it.Exists, Deleted: it.Deleted, Name: it.Name, Price: it.Price,
			ImageURL: it.ImageURL, Status: it.Status, StockStatus: it.StockStatus}
	}
	return out, nil
}
