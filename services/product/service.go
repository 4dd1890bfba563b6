package product

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/pg"
	"github.com/opencommerce/opencommerce/internal/svc"
)

// Name is the service name: RPC queue rpc.product, database oc_product,
// events queue events.product.
const Name = "product"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the service's SQL migrations.
func Migrations() fs.FS {
	return pg.Dir(migrationFiles, "migrations")
}

// Service is the product module: catalogue, search, inventory and the
// social features, served over RPC, fed by order and file events. Start
// and Stop are not safe for concurrent use with each other.
type Service struct {
	cfg  Config
	deps svc.Deps

	kit  *svc.Kit
	core *core
	quit chan struct{}
	wg   sync.WaitGroup
}

// New validates cfg and deps; nothing is opened before Start.
func New(cfg Config, deps svc.Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Bus == nil || deps.RPC == nil || deps.Health == nil || deps.Log == nil {
		return nil, errors.New("product: deps need Bus, RPC, Health and Log")
	}
	return &Service{cfg: cfg, deps: deps}, nil
}

// Start opens and migrates the database, starts serving product.*,
// consuming order and file events, relaying events and sweeping expired
// reservations.
func (s *Service) Start(ctx context.Context) error {
	kit, err := svc.NewKit(ctx, s.deps, svc.KitConfig{Service: Name, Migrations: Migrations(), Bindings: bindings})
	if err != nil {
		return err
	}
	c := (&core{files: RPCFiles{RPC: s.deps.RPC}, log: kit.Log, cfg: s.cfg, now: time.Now}).onPostgres(kit.Pool)
	if s.deps.Redis != nil {
		c.cache = newDocCache(s.deps.Redis, s.deps.RedisPrefix, s.cfg.CacheTTL, s.cfg.TreeCacheTTL, kit.Log, s.deps.Metrics)
	}
	c.pages.off, c.facetSets.off, c.suggestions.off = !s.cfg.SearchCache, !s.cfg.SearchCache, !s.cfg.SearchCache
	for method, h := range handlers(c) {
		kit.Handle(method, h)
	}
	kit.OnEvent(c.handleEvent)
	if err := kit.Start(ctx); err != nil {
		_ = kit.Stop(ctx)
		return err
	}
	s.kit, s.core, s.quit = kit, c, make(chan struct{})
	sweepCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		go func() { <-s.quit; cancel() }()
		c.sweepLoop(sweepCtx, s.cfg.SweepInterval)
	}()
	return nil
}

// Stop stops the sweeper, then the kit (RPC server, consumer, relay, pool)
// after finishing in-flight work.
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
// commands such as seeding.
func (s *Service) Pool() *pgxpool.Pool {
	if s.kit == nil {
		return nil
	}
	return s.kit.Pool
}

// SweepExpired releases the reservations older than the configured TTL now
// (the background sweeper does the same every SweepInterval) and returns
// how many it released.
func (s *Service) SweepExpired(ctx context.Context) (int, error) {
	if s.core == nil {
		return 0, errors.New("product: not started")
	}
	return s.core.sweepExpired(ctx)
}

// RPCFiles is the FileStater that calls file.stat on the file service.
type RPCFiles struct {
	RPC *bus.Client
}

// PublishFile implements FileStater.
func (f RPCFiles) PublishFile(ctx context.Context, fileID, ownerID, purpose string) (FileInfo, error) {
	return bus.Invoke[FileInfo](ctx, f.RPC, "file", contracts.MethodFilePublish,
		contracts.FilePublishRequest{ID: fileID, OwnerID: ownerID, Purpose: purpose},
		bus.CallOptions{Actor: contracts.Actor{Role: contracts.RoleService}})
}

// StatFile implements FileStater.
func (f RPCFiles) StatFile(ctx context.Context, fileID string) (FileInfo, error) {
	return bus.Invoke[FileInfo](ctx, f.RPC, "file", "file.stat", map[string]string{"id": fileID},
		bus.CallOptions{Actor: contracts.Actor{Role: contracts.RoleService}})
}
