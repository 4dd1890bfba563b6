package files

import (
	"context"
	"time"
)

// SweepStats counts what a sweep removed.
type SweepStats struct {
	OrphanBlobs int // blob files no file refers to
	StaleTemps  int // upload temporaries not written for maxAge
}

// sweepBatch is how many blobs a sweep checks against the store at once.
const sweepBatch = 500

// Sweep removes orphan blobs (left by a crash between publishing a blob and
// committing its file, or between a last delete's commit and the removal)
// and upload temporaries not written for maxAge. Each orphan is checked
// again under its blob lock, so a blob that an upload is committing right
// now is never taken. Safe to run while serving, on any instance.
func (c *Core) Sweep(ctx context.Context, maxAge time.Duration, now time.Time) (SweepStats, error) {
	var st SweepStats
	n, err := c.blobs.StaleTemps(maxAge, now)
	st.StaleTemps = n
	if err != nil {
		return st, err
	}
	var batch []string
	err = c.blobs.Walk(func(sum string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch = append(batch, sum)
		if len(batch) < sweepBatch {
			return nil
		}
		removed, err := c.removeOrphans(ctx, batch)
		st.OrphanBlobs += removed
		batch = batch[:0]
		return err
	})
	if err == nil {
		var removed int
		removed, err = c.removeOrphans(ctx, batch)
		st.OrphanBlobs += removed
	}
	return st, err
}

// removeOrphans removes the blobs among sums that no file references and
// returns how many it removed.
func (c *Core) removeOrphans(ctx context.Context, sums []string) (int, error) {
	if len(sums) == 0 {
		return 0, nil
	}
	orphans, err := c.store.Unreferenced(ctx, sums)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, sum := range orphans {
		removed, err := c.store.IfUnreferenced(ctx, sum, func() (bool, error) {
			if !c.blobs.Exists(sum) {
				return false, nil
			}
			return true, c.blobs.Remove(sum)
		})
		if err != nil {
			return n, err
		}
		if removed {
			n++
		}
	}
	return n, nil
}
