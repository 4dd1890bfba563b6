package pg

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/opencommerce/opencommerce/contracts"
)

// HandleOnce applies an event's effect at most once per consumer: in one
// transaction it records (consumer, ev.ID) in oc_inbox and runs fn. When the
// pair is already recorded the event is a duplicate: fn is not called,
// oc_inbox_duplicates_total{service=consumer} is incremented and HandleOnce
// returns nil. When fn returns an error nothing is recorded (the
// transaction rolls back) and the error is returned, so a redelivery applies
// the effect. Two concurrent deliveries of one event serialise on the
// inbox row: the second waits for the first and becomes a duplicate if it
// committed.
//
// fn may run more than once on serialization failures or deadlocks (see
// InTx); its effects outside tx must be safe to repeat. consumer is usually
// the service name; ev.ID must be non-empty (invalid_argument otherwise).
func HandleOnce(ctx context.Context, pool *pgxpool.Pool, consumer string, ev contracts.Event, fn func(tx pgx.Tx) error) error {
	if consumer == "" {
		return contracts.InvalidArgument("consumer", "consumer is required")
	}
	if ev.ID == "" || len(ev.ID) > 200 {
		return contracts.InvalidArgument("id", "event id must be 1 to 200 characters")
	}
	var dup bool
	err := InTx(ctx, pool, func(tx pgx.Tx) error {
		first, err := MarkHandled(ctx, tx, consumer, ev.ID)
		if err != nil {
			return err
		}
		if dup = !first; dup {
			return nil
		}
		return fn(tx)
	})
	if err == nil && dup {
		inboxDuplicates.WithLabelValues(consumer).Inc()
	}
	return err
}

// MarkHandled is the inbox step of HandleOnce for callers that manage their
// own transaction (other options, several events in one tx): it records
// (consumer, eventID) in tx and reports whether this is the first time. On
// false the caller must skip the effect (and may count a duplicate); the
// record only holds if tx commits. It does not validate its arguments.
func MarkHandled(ctx context.Context, tx pgx.Tx, consumer, eventID string) (first bool, err error) {
	tag, err := tx.Exec(ctx, "INSERT INTO oc_inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", consumer, eventID)
	if err != nil {
		return false, fmt.Errorf("inbox: record %s: %w", eventID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// PurgeInbox deletes inbox rows handled more than olderThan ago, at most
// limit rows per call (limit <= 0 means 10000), and returns how many it
// deleted. Relays call it periodically.
func PurgeInbox(ctx context.Context, pool *pgxpool.Pool, olderThan time.Duration, limit int) (int64, error) {
	if limit <= 0 {
		limit = 10000
	}
	tag, err := pool.Exec(ctx, `DELETE FROM oc_inbox WHERE ctid = ANY (ARRAY(
		SELECT ctid FROM oc_inbox WHERE handled_at < now() - $1 * interval '1 microsecond' LIMIT $2))`, olderThan.Microseconds(), limit)
	if err != nil {
		return 0, fmt.Errorf("inbox: purge: %w", err)
	}
	return tag.RowsAffected(), nil
}
