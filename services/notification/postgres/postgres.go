// Package postgres implements notify.Store on PostgreSQL, the notification
// service's own database (oc_notification), with its migrations embedded.
// Applying an event is idempotent through the inbox (pg.HandleOnce); the
// push and email outboxes are claimed with FOR UPDATE SKIP LOCKED, so
// instances share them without taking a row twice.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/pg"
	"github.com/opencommerce/opencommerce/services/notification/notify"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the service's SQL migrations.
func Migrations() fs.FS {
	return pg.Dir(migrationFiles, "migrations")
}

// consumer names the inbox of applied events (the service's name).
const consumer = "notification"

// Store is the PostgreSQL notify.Store; its methods keep the contracts
// documented on that interface. Safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

var _ notify.Store = Store{}

// New returns a store over a pool migrated with Migrations.
func New(pool *pgxpool.Pool) Store { return Store{pool: pool} }

func (s Store) ApplyOnce(ctx context.Context, ev contracts.Event, fn func(notify.EventTx) error) error {
	return pg.HandleOnce(ctx, s.pool, consumer, ev, func(tx pgx.Tx) error { return fn(eventTx{tx}) })
}

func (s Store) List(ctx context.Context, f notify.ListFilter) ([]contracts.Notification, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, kind, title, body, data, read_at IS NOT NULL, created_at FROM notifications
		WHERE user_id = $1 AND ($2::uuid IS NULL OR id < $2) AND (NOT $3 OR read_at IS NULL)
		ORDER BY id DESC LIMIT $4`, f.UserID, f.After, f.Unread, f.Limit+1)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (contracts.Notification, error) {
		var n contracts.Notification
		var id uuid.UUID
		err := r.Scan(&id, &n.Kind, &n.Title, &n.Body, &n.Data, &n.Read, &n.CreatedAt)
		n.ID = id.String()
		n.CreatedAt = n.CreatedAt.UTC()
		return n, err
	})
}

func (s Store) MarkRead(ctx context.Context, user, id uuid.UUID) (bool, error) {
	var found bool
	err := s.pool.QueryRow(ctx, `WITH u AS (UPDATE notifications SET read_at = coalesce(read_at, now()) WHERE id = $1 AND user_id = $2 RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM u)`, id, user).Scan(&found)
	return found, err
}

func (s Store) MarkAllRead(ctx context.Context, user uuid.UUID) error {
	_, err := s.pool.Exec(ctx, `UPDATE notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL`, user)
	return err
}

type querier interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}

func storedPreferences(ctx context.Context, q querier, user uuid.UUID) (map[string]contracts.ChannelPreferences, error) {
	rows, err := q.Query(ctx, `SELECT kind, in_app, email FROM preferences WHERE user_id = $1`, user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]contracts.ChannelPreferences{}
	for rows.Next() {
		var k string
		var p contracts.ChannelPreferences
		if err := rows.Scan(&k, &p.InApp, &p.Email); err != nil {
			return nil, err
		}
		out[k] = p
	}
	return out, rows.Err()
}

func (s Store) Preferences(ctx context.Context, user uuid.UUID) (map[string]contracts.ChannelPreferences, error) {
	return storedPreferences(ctx, s.pool, user)
}

func (s Store) UpdatePreferences(ctx context.Context, user uuid.UUID, fn func(map[string]contracts.ChannelPreferences) (map[string]contracts.ChannelPreferences, error)) error {
	return pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		// Serialise concurrent updates of one user's preferences.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7))`, user); err != nil {
			return err
		}
		cur, err := storedPreferences(ctx, tx, user)
		if err != nil {
			return err
		}
		changed, err := fn(cur)
		if err != nil {
			return err
		}
		for k, p := range changed {
			if _, err := tx.Exec(ctx, `INSERT INTO preferences (user_id, kind, in_app, email) VALUES ($1, $2, $3, $4)
				ON CONFLICT (user_id, kind) DO UPDATE SET in_app = excluded.in_app, email = excluded.email`, user, k, p.InApp, p.Email); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s Store) DisableEmail(ctx context.Context, user uuid.UUID, kind string, inApp bool) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO preferences (user_id, kind, in_app, email) VALUES ($1, $2, $3, false)
		ON CONFLICT (user_id, kind) DO UPDATE SET email = false`, user, kind, inApp)
	return err
}

func (s Store) Secret(ctx context.Context, name string, fresh []byte) ([]byte, error) {
	if _, err := s.pool.Exec(ctx, `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING`, name, fresh); err != nil {
		return nil, fmt.Errorf("store secret %s: %w", name, err)
	}
	var v []byte
	if err := s.pool.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&v); err != nil {
		return nil, fmt.Errorf("read secret %s: %w", name, err)
	}
	return v, nil
}

func (s Store) PublishPushes(ctx context.Context, max int, publish func(notify.Push) error) (int, error) {
	n := 0
	var pubErr error
	err := pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		n, pubErr = 0, nil
		rows, err := tx.Query(ctx, `SELECT notification_id, user_id, payload FROM push_outbox
			ORDER BY created_at, notification_id LIMIT $1 FOR UPDATE SKIP LOCKED`, max)
		if err != nil {
			return err
		}
		batch, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (notify.Push, error) {
			var p notify.Push
			err := r.Scan(&p.NotificationID, &p.UserID, &p.Payload)
			return p, err
		})
		if err != nil {
			return err
		}
		var done []uuid.UUID
		for _, p := range batch {
			if pubErr = publish(p); pubErr != nil {
				break
			}
			done = append(done, p.NotificationID)
		}
		n = len(done)
		if n == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `DELETE FROM push_outbox WHERE notification_id = ANY($1)`, done)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, pubErr
}

func (s Store) ClaimEmail(ctx context.Context, lease time.Duration) (notify.Outgoing, bool, error) {
	var o notify.Outgoing
	err := s.pool.QueryRow(ctx, `UPDATE emails SET attempts = attempts + 1, next_attempt_at = now() + $1 * interval '1 millisecond'
		WHERE id = (SELECT id FROM emails WHERE status = 'pending' AND next_attempt_at <= now()
		            ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING id, user_id, kind, to_addr, subject, text_body, html_body, attempts, created_at`, lease.Milliseconds()).
		Scan(&o.ID, &o.UserID, &o.Kind, &o.To, &o.Subject, &o.Text, &o.HTML, &o.Attempts, &o.Created)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, false, nil
	}
	return o, err == nil, err
}

func (s Store) EmailSent(ctx context.Context, id uuid.UUID) error {
	_, err := s.pool.Exec(ctx, `UPDATE emails SET status = 'sent', sent_at = now(), last_error = '' WHERE id = $1`, id)
	return err
}

func (s Store) EmailFailed(ctx context.Context, id uuid.UUID, why string) error {
	_, err := s.pool.Exec(ctx, `UPDATE emails SET status = 'failed', last_error = $2 WHERE id = $1`, id, why)
	return err
}

func (s Store) EmailRetry(ctx context.Context, id uuid.UUID, delay time.Duration, why string) error {
	_, err := s.pool.Exec(ctx, `UPDATE emails SET next_attempt_at = now() + $2 * interval '1 millisecond', last_error = $3 WHERE id = $1`,
		id, delay.Milliseconds(), why)
	return err
}

func (s Store) DeleteNotifications(ctx context.Context, floor uuid.UUID, batch int) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM notifications WHERE id IN (
		SELECT id FROM notifications WHERE id < $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)`, floor, batch)
	return tag.RowsAffected(), err
}

// DeleteEmails counts an email's age from when it finished: sent_at, or
// the last attempt (next_attempt_at) for failed and skipped ones; the id
// range (created before the cut-off) keeps the scan on the index.
func (s Store) DeleteEmails(ctx context.Context, floor uuid.UUID, cut time.Time, batch int) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM emails WHERE id IN (
		SELECT id FROM emails WHERE id < $1 AND status <> 'pending' AND coalesce(sent_at, next_attempt_at) < $3
		ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)`, floor, batch, cut)
	return tag.RowsAffected(), err
}

// eventTx is notify.EventTx in the transaction of pg.HandleOnce.
type eventTx struct{ tx pgx.Tx }

func (t eventTx) UpsertUser(ctx context.Context, u contracts.UserUpdated, at time.Time) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO users (id, email, name, disabled, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET email = excluded.email, name = excluded.name, disabled = excluded.disabled, updated_at = excluded.updated_at
		WHERE users.updated_at <= excluded.updated_at`,
		u.UserID, strings.TrimSpace(u.Email), u.Name, u.Disabled, at)
	return err
}

func (t eventTx) KindPreferences(ctx context.Context, user, kind string) (contracts.ChannelPreferences, bool, error) {
	var p contracts.ChannelPreferences
	err := t.tx.QueryRow(ctx, `SELECT in_app, email FROM preferences WHERE user_id = $1 AND kind = $2`, user, kind).Scan(&p.InApp, &p.Email)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, false, nil
	}
	return p, err == nil, err
}

func (t eventTx) Address(ctx context.Context, user string) (string, bool, bool, error) {
	var to string
	var disabled bool
	err := t.tx.QueryRow(ctx, `SELECT email, disabled FROM users WHERE id = $1`, user).Scan(&to, &disabled)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, false, nil
	}
	return to, disabled, err == nil, err
}

func (t eventTx) AddNotification(ctx context.Context, user string, n contracts.Notification, payload []byte) error {
	if _, err := t.tx.Exec(ctx, `INSERT INTO notifications (id, user_id, kind, title, body, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		n.ID, user, n.Kind, n.Title, n.Body, n.Data, n.CreatedAt); err != nil {
		return fmt.Errorf("insert notification: %w", err)
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO push_outbox (notification_id, user_id, payload) VALUES ($1, $2, $3)`,
		n.ID, user, payload); err != nil {
		return fmt.Errorf("insert push: %w", err)
	}
	return nil
}

func (t eventTx) AddEmail(ctx context.Context, e notify.Email) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO emails (id, user_id, notification_id, kind, to_addr, subject, text_body, html_body, status, last_error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		e.ID, e.UserID, e.NotificationID, e.Kind, e.To, e.Subject, e.Text, e.HTML, e.Status, e.LastError)
	return err
}
