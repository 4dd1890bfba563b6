package notify

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/google/uuid"
)

// Retention: notifications and finished emails are deleted once older than
// Config.Retention and Config.EmailRetention; an email still pending is
// never deleted. Ids are UUIDv7 (creation time in their first 48 bits), so
// "older than" is a range of the primary key: the sweep walks the index,
// never the table. Deletes go in batches of retentionBatch rows, each its
// own short transaction, skipping rows another instance is deleting.

const retentionBatch = 1000

// v7Floor is the smallest UUIDv7 of instant t: every id created before t
// sorts below it, every id created at or after t above.
func v7Floor(t time.Time) uuid.UUID {
	var u uuid.UUID
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(t.UnixMilli()))
	copy(u[:6], ms[2:])
	return u
}

// sweepOnce deletes what has outlived its retention and returns how many
// notifications and emails it deleted.
func (c *Core) sweepOnce(ctx context.Context) (notifications, emails int64, err error) {
	now := c.now()
	if c.cfg.Retention > 0 {
		floor := v7Floor(now.Add(-c.cfg.Retention))
		notifications, err = inBatches(func() (int64, error) { return c.store.DeleteNotifications(ctx, floor, retentionBatch) })
		c.m.swept.WithLabelValues("notifications").Add(float64(notifications))
		if err != nil {
			return notifications, 0, err
		}
	}
	if c.cfg.EmailRetention > 0 {
		// Counted from when the email finished (sent, or given up).
		cut := now.Add(-c.cfg.EmailRetention)
		emails, err = inBatches(func() (int64, error) { return c.store.DeleteEmails(ctx, v7Floor(cut), cut, retentionBatch) })
		c.m.swept.WithLabelValues("emails").Add(float64(emails))
	}
	return notifications, emails, err
}

// inBatches runs a batched delete until a batch comes back short.
func inBatches(del func() (int64, error)) (int64, error) {
	var total int64
	for {
		n, err := del()
		total += n
		if err != nil || n < retentionBatch {
			return total, err
		}
	}
}

// runSweeper sweeps at start and then every RetentionInterval until ctx
// ends.
func (c *Core) runSweeper(ctx context.Context) {
	if c.cfg.Retention <= 0 && c.cfg.EmailRetention <= 0 {
		return
	}
	t := time.NewTicker(c.cfg.RetentionInterval)
	defer t.Stop()
	for {
		n, e, err := c.sweepOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			c.log.Warn("retention sweep failed", "err", err)
		case n > 0 || e > 0:
			c.log.Info("retention sweep", "notifications_deleted", n, "emails_deleted", e)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
