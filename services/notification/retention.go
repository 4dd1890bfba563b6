package notification

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
func (c *core) sweepOnce(ctx context.Context) (notifications, emails int64, err error) {
	now := c.now()
	if c.cfg.Retention > 0 {
		notifications, err = c.deleteBefore(ctx, `DELETE FROM notifications WHERE id IN (
			SELECT id FROM notifications WHERE id < $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)`,
			v7Floor(now.Add(-c.cfg.Retention)))
		c.m.swept.WithLabelValues("notifications").Add(float64(notifications))
		if err != nil {
			return notifications, 0, err
		}
	}
	if c.cfg.EmailRetention > 0 {
		// Counted from when the email finished: sent_at, or the last
		// attempt (next_attempt_at) for failed and skipped ones; the id
		// range (created before the cut-off) keeps the scan on the index.
		cut := now.Add(-c.cfg.EmailRetention)
		emails, err = c.deleteBefore(ctx, `DELETE FROM emails WHERE id IN (
			SELECT id FROM emails WHERE id < $1 AND status <> 'pending' AND coalesce(sent_at, next_attempt_at) < $3
			ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)`,
			v7Floor(cut), cut)
		c.m.swept.WithLabelValues("emails").Add(float64(emails))
	}
	return notifications, emails, err
}

// deleteBefore runs the batched delete until a batch comes back short.
func (c *core) deleteBefore(ctx context.Context, sql string, floor uuid.UUID, more ...any) (int64, error) {
	var total int64
	args := append([]any{floor, retentionBatch}, more...)
	for {
		tag, err := c.pool.Exec(ctx, sql, args...)
		if err != nil {
			return total, err
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < retentionBatch {
			return total, nil
		}
	}
}

// runSweeper sweeps at start and then every RetentionInterval until ctx
// ends.
func (c *core) runSweeper(ctx context.Context) {
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
