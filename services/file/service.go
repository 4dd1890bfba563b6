package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencommerce/opencommerce/internal/svc"
	"github.com/opencommerce/opencommerce/services/file/disk"
	"github.com/opencommerce/opencommerce/services/file/files"
	"github.com/opencommerce/opencommerce/services/file/postgres"
)

// Name is the service name: RPC queue rpc.file, database oc_file.
const Name = "file"

// Migrations returns the service's SQL migrations (services/file/postgres).
func Migrations() fs.FS { return postgres.Migrations() }

// Service is the file module: metadata over RPC, bytes over the HTTP data
// port. Start and Stop are not safe for concurrent use with each other;
// everything else is.
type Service struct {
	cfg  Config
	deps svc.Deps
	log  *slog.Logger

	metrics *metrics

	kit   *svc.Kit
	blobs *disk.Dir
	core  *files.Core
	// live is core for the metrics, which a scrape may read while Start
	// sets it.
	live atomic.Pointer[files.Core]
	ln   net.Listener
	http *http.Server
	quit chan struct{}
	wg   sync.WaitGroup
}

// New validates cfg and deps; nothing is opened before Start.
func New(cfg Config, deps svc.Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Bus == nil || deps.Health == nil || deps.Log == nil {
		return nil, errors.New("file: deps need Bus, Health and Log")
	}
	s := &Service{cfg: cfg, deps: deps, log: deps.Log.With("service", Name)}
	s.metrics = newMetrics(deps.Metrics, func() files.DecodeStats {
		if c := s.live.Load(); c != nil {
			return c.DecodeStats()
		}
		return files.DecodeStats{}
	})
	return s, nil
}

// Start opens the blob directory, opens and migrates the database, listens
// on the data port (so a taken port fails Start at once), sweeps orphans
// and stale temporaries once, and starts serving RPC and HTTP.
func (s *Service) Start(ctx context.Context) error {
	blobs, err := disk.Open(s.cfg.Dir)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.cfg.DataAddr)
	if err != nil {
		return fmt.Errorf("file data port: %w", err)
	}
	kit, err := svc.NewKit(ctx, s.deps, svc.KitConfig{Service: Name, Migrations: Migrations()})
	if err != nil {
		_ = ln.Close()
		return err
	}
	s.blobs, s.core, s.kit, s.ln = blobs, files.New(s.cfg.limits(), postgres.New(kit.Pool), blobs), kit, ln
	s.live.Store(s.core)
	if _, err := s.Sweep(ctx); err != nil {
		s.log.Warn("initial sweep failed", "err", err)
	}
	for method, h := range s.handlers() {
		kit.Handle(method, h)
	}
	if err := kit.Start(ctx); err != nil {
		_ = kit.Stop(ctx)
		_ = ln.Close()
		s.kit = nil
		return err
	}
	if s.cfg.InternalToken == "" {
		s.log.Warn("file data port has no internal token (file.internal-token): anyone who reaches it can act as any user; dev only", "addr", ln.Addr().String())
	}
	s.http = &http.Server{
		Handler:           s.dataHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.deps.Health.Add("file:blobs", func(context.Context) error {
		_, err := os.Stat(blobs.Temp())
		return err
	})
	s.quit = make(chan struct{})
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("file data port stopped", "err", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		s.sweepLoop()
	}()
	s.log.Info("file service started", "data_addr", ln.Addr().String(), "dir", blobs.Path())
	return nil
}

// DataAddr is the data port's listen address (host:port; the real port
// when file.data-addr asked for :0). Empty before Start. The lead registers
// its port as the data_port meta in Consul.
func (s *Service) DataAddr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Stop stops taking uploads and downloads, lets the ones in flight finish
// (until ctx ends, then cuts them), stops the sweeper, then the kit (RPC
// server, relay, pool).
func (s *Service) Stop(ctx context.Context) error {
	if s.kit == nil {
		return nil
	}
	var errs []error
	if err := s.http.Shutdown(ctx); err != nil {
		_ = s.http.Close()
		errs = append(errs, fmt.Errorf("data port: %w", err))
	}
	close(s.quit)
	s.wg.Wait()
	s.deps.Health.Remove("file:blobs")
	errs = append(errs, s.kit.Stop(ctx))
	s.kit = nil
	return errors.Join(errs...)
}

// Pool is the service's database pool (nil before Start), for tests and
// tools.
func (s *Service) Pool() *pgxpool.Pool {
	if s.kit == nil {
		return nil
	}
	return s.kit.Pool
}

// Sweep removes orphan blobs and upload temporaries not written for
// file.temp-max-age (see files.Core.Sweep), counting and logging what it
// removed. Safe to run while serving.
func (s *Service) Sweep(ctx context.Context) (SweepStats, error) {
	st, err := s.core.Sweep(ctx, s.cfg.TempMaxAge, time.Now())
	s.metrics.swept.WithLabelValues("temp").Add(float64(st.StaleTemps))
	s.metrics.swept.WithLabelValues("blob").Add(float64(st.OrphanBlobs))
	if st.OrphanBlobs+st.StaleTemps > 0 {
		s.log.Info("file sweep", "orphan_blobs", st.OrphanBlobs, "stale_temps", st.StaleTemps)
	}
	return st, err
}

// SweepStats counts what a sweep removed.
type SweepStats = files.SweepStats

func (s *Service) sweepLoop() {
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.SweepInterval)
			go func() {
				select {
				case <-s.quit:
					cancel()
				case <-ctx.Done():
				}
			}()
			if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("file sweep failed", "err", err)
			}
			cancel()
		}
	}
}
