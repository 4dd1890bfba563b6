package file

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SweepStats counts what a sweep removed.
type SweepStats struct {
	OrphanBlobs int // blob files no blobs row refers to
	StaleTemps  int // upload temporaries not written for file.temp-max-age
}

// Sweep removes orphan blobs (left by a crash between publishing a blob and
// committing its row, or between a last delete's commit and the removal)
// and stale upload temporaries. Each orphan is re-checked under its blob
// lock, so a blob that an upload is committing right now is never taken.
// Safe to run while serving, on any instance.
func (s *Service) Sweep(ctx context.Context) (SweepStats, error) {
	var st SweepStats
	n, err := s.store.staleTemps(s.cfg.TempMaxAge, time.Now())
	st.StaleTemps = n
	s.metrics.swept.WithLabelValues("temp").Add(float64(n))
	if err != nil {
		return st, err
	}
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		rows, err := s.meta.pool.Query(ctx, `SELECT sha256 FROM blobs WHERE sha256 = ANY($1)`, batch)
		if err != nil {
			return err
		}
		known, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		have := make(map[string]bool, len(known))
		for _, k := range known {
			have[k] = true
		}
		for _, sum := range batch {
			if have[sum] {
				continue
			}
			removed, err := s.removeIfOrphan(ctx, sum)
			if err != nil {
				return err
			}
			if removed {
				st.OrphanBlobs++
				s.metrics.swept.WithLabelValues("blob").Inc()
			}
		}
		batch = batch[:0]
		return nil
	}
	err = s.store.walk(func(sum string) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		batch = append(batch, sum)
		if len(batch) >= 500 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if st.OrphanBlobs+st.StaleTemps > 0 {
		s.log.Info("file sweep", "orphan_blobs", st.OrphanBlobs, "stale_temps", st.StaleTemps)
	}
	return st, err
}

func (s *Service) removeIfOrphan(ctx context.Context, sum string) (bool, error) {
	removed := false
	err := s.meta.withBlobLocks(ctx, []string{sum}, func(conn *pgxpool.Conn) error {
		var one int
		err := conn.QueryRow(ctx, `SELECT 1 FROM blobs WHERE sha256 = $1`, sum).Scan(&one)
		if err == nil {
			return nil // referenced after all (committed meanwhile)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if !s.store.exists(sum) {
			return nil
		}
		removed = true
		return s.store.remove(sum)
	})
	return removed, err
}

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
