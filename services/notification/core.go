package notification

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/pg"
)

// core is the service's logic on its database.
type core struct {
	cfg  Config
	pool *pgxpool.Pool
	log  *slog.Logger
	m    *metrics
	now  func() time.Time

	wakePush chan struct{}
	wakeMail chan struct{}

	unsubKey []byte // signs one-click unsubscribe links (unsubscribe.go)
}

func newID() uuid.UUID {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.New()
	}
	return id
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// defaultPreferences: in-app for every kind; email for the account and the
// buyer's and seller's order kinds, not for social activity.
func defaultPreferences(kind string) contracts.ChannelPreferences {
	switch kind {
	case contracts.KindNewReview, contracts.KindNewQuestion, contracts.KindCommentReply:
		return contracts.ChannelPreferences{InApp: true, Email: false}
	}
	return contracts.ChannelPreferences{InApp: true, Email: true}
}

func knownKind(k string) bool {
	for _, x := range contracts.NotificationKinds {
		if x == k {
			return true
		}
	}
	return false
}

// handleEvent applies one event exactly once (pg.HandleOnce): it keeps the
// user directory current and writes each recipient's notification, push
// row and email row in one transaction, then wakes the workers.
func (c *core) handleEvent(ctx context.Context, ev contracts.Event) error {
	dels, err := c.deliveries(ev)
	if err != nil {
		return err
	}
	var user *contracts.UserUpdated
	switch ev.Type {
	case contracts.EventUserRegistered:
		var u contracts.UserRegistered
		if err := decode(ev, &u, &u.UserID); err != nil {
			return err
		}
		user = &contracts.UserUpdated{UserID: u.UserID, Email: u.Email, Name: u.Name}
	case contracts.EventUserUpdated:
		var u contracts.UserUpdated
		if err := decode(ev, &u, &u.UserID); err != nil {
			return err
		}
		user = &u
	}
	if user == nil && len(dels) == 0 {
		return nil
	}
	var pushed, mailed bool
	err = pg.HandleOnce(ctx, c.pool, Name, ev, func(tx pgx.Tx) error {
		pushed, mailed = false, false
		if user != nil {
			if _, err := tx.Exec(ctx, `INSERT INTO users (id, email, name, disabled, updated_at) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (id) DO UPDATE SET email = excluded.email, name = excluded.name, disabled = excluded.disabled, updated_at = excluded.updated_at
				WHERE users.updated_at <= excluded.updated_at`,
				user.UserID, strings.TrimSpace(user.Email), user.Name, user.Disabled, ev.OccurredAt); err != nil {
				return fmt.Errorf("upsert user: %w", err)
			}
		}
		for _, d := range dels {
			p, e, err := c.deliver(ctx, tx, d)
			if err != nil {
				return err
			}
			pushed, mailed = pushed || p, mailed || e
		}
		return nil
	})
	if err != nil {
		return err
	}
	if pushed {
		wake(c.wakePush)
	}
	if mailed {
		wake(c.wakeMail)
	}
	return nil
}

// deliver writes one delivery on the channels the recipient chose.
func (c *core) deliver(ctx context.Context, tx pgx.Tx, d delivery) (pushed, mailed bool, err error) {
	prefs := defaultPreferences(d.Kind)
	err = tx.QueryRow(ctx, `SELECT in_app, email FROM preferences WHERE user_id = $1 AND kind = $2`, d.UserID, d.Kind).
		Scan(&prefs.InApp, &prefs.Email)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return false, false, fmt.Errorf("preferences: %w", err)
	}
	id := newID()
	if prefs.InApp {
		n := contracts.Notification{
			ID: id.String(), Kind: d.Kind, Title: d.Msg.Title, Body: d.Msg.Intro,
			Data: mustJSON(d.Data), CreatedAt: c.now().UTC().Truncate(time.Microsecond),
		}
		if _, err := tx.Exec(ctx, `INSERT INTO notifications (id, user_id, kind, title, body, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			id, d.UserID, n.Kind, n.Title, n.Body, n.Data, n.CreatedAt); err != nil {
			return false, false, fmt.Errorf("insert notification: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO push_outbox (notification_id, user_id, payload) VALUES ($1, $2, $3)`,
			id, d.UserID, mustJSON(n)); err != nil {
			return false, false, fmt.Errorf("insert push: %w", err)
		}
		c.m.created.WithLabelValues(d.Kind, "in_app").Inc()
		pushed = true
	}
	if !prefs.Email {
		return pushed, false, nil
	}
	var to string
	var disabled bool
	err = tx.QueryRow(ctx, `SELECT email, disabled FROM users WHERE id = $1`, d.UserID).Scan(&to, &disabled)
	status, why := "pending", ""
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// The user service has no method to look an address up for a
		// service; the address arrives with user.registered/updated.
		status, why = "skipped", "no email address known for this user"
	case err != nil:
		return false, false, fmt.Errorf("user address: %w", err)
	case disabled:
		status, why = "skipped", "account disabled"
	case to == "":
		status, why = "skipped", "empty email address"
	}
	text, html, err := render(d.Msg)
	if err != nil {
		return false, false, fmt.Errorf("render %s: %w", d.Kind, err)
	}
	var nid *uuid.UUID
	if prefs.InApp {
		nid = &id
	}
	if _, err := tx.Exec(ctx, `INSERT INTO emails (id, user_id, notification_id, kind, to_addr, subject, text_body, html_body, status, last_error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		newID(), d.UserID, nid, d.Kind, to, d.Msg.Subject, text, html, status, why); err != nil {
		return false, false, fmt.Errorf("insert email: %w", err)
	}
	c.m.created.WithLabelValues(d.Kind, "email").Inc()
	if status == "skipped" {
		c.m.emails.WithLabelValues("skipped").Inc()
		c.log.Info("email skipped", "user_id", d.UserID, "kind", d.Kind, "why", why)
	}
	return pushed, status == "pending", nil
}

// actorID returns the signed-in user's id or unauthenticated.
func actorID(a contracts.Actor) (uuid.UUID, error) {
	id, err := uuid.Parse(a.ID)
	if a.ID == "" || err != nil {
		return uuid.Nil, contracts.Unauthenticated("sign in to see your notifications")
	}
	return id, nil
}

// list returns a page of the filter's notifications, newest first.
func (c *core) list(ctx context.Context, f listFilter) (contracts.List[contracts.Notification], error) {
	var out contracts.List[contracts.Notification]
	rows, err := c.pool.Query(ctx, `SELECT id, kind, title, body, data, read_at IS NOT NULL, created_at FROM notifications
		WHERE user_id = $1 AND ($2::uuid IS NULL OR id < $2) AND (NOT $3 OR read_at IS NULL)
		ORDER BY id DESC LIMIT $4`, f.UserID, f.After, f.Unread, f.Limit+1)
	if err != nil {
		return out, fmt.Errorf("list notifications: %w", err)
	}
	out.Items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (contracts.Notification, error) {
		var n contracts.Notification
		var id uuid.UUID
		err := r.Scan(&id, &n.Kind, &n.Title, &n.Body, &n.Data, &n.Read, &n.CreatedAt)
		n.ID = id.String()
		n.CreatedAt = n.CreatedAt.UTC()
		return n, err
	})
	if err != nil {
		return out, fmt.Errorf("list notifications: %w", err)
	}
	if len(out.Items) > f.Limit {
		out.Items = out.Items[:f.Limit]
		out.NextCursor = cursorOf(uuid.MustParse(out.Items[f.Limit-1].ID))
	}
	if out.Items == nil {
		out.Items = []contracts.Notification{}
	}
	return out, nil
}

// markRead marks one of the actor's notifications read (idempotent).
func (c *core) markRead(ctx context.Context, a contracts.Actor, idStr string) error {
	uid, err := actorID(a)
	if err != nil {
		return err
	}
	id, err := uuid.Parse(idStr)
	if err != nil {
		return contracts.NotFound("notification")
	}
	var found bool
	err = c.pool.QueryRow(ctx, `WITH u AS (UPDATE notifications SET read_at = coalesce(read_at, now()) WHERE id = $1 AND user_id = $2 RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM u)`, id, uid).Scan(&found)
	if err != nil {
		return fmt.Errorf("mark read: %w", err)
	}
	if !found {
		return contracts.NotFound("notification")
	}
	return nil
}

// markAllRead marks every unread notification of the actor read.
func (c *core) markAllRead(ctx context.Context, a contracts.Actor) error {
	uid, err := actorID(a)
	if err != nil {
		return err
	}
	if _, err := c.pool.Exec(ctx, `UPDATE notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL`, uid); err != nil {
		return fmt.Errorf("mark all read: %w", err)
	}
	return nil
}

func (c *core) preferences(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, uid uuid.UUID) (contracts.NotificationPreferences, error) {
	out := contracts.NotificationPreferences{Kinds: map[string]contracts.ChannelPreferences{}}
	for _, k := range contracts.NotificationKinds {
		out.Kinds[k] = defaultPreferences(k)
	}
	rows, err := q.Query(ctx, `SELECT kind, in_app, email FROM preferences WHERE user_id = $1`, uid)
	if err != nil {
		return out, fmt.Errorf("preferences: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var p contracts.ChannelPreferences
		if err := rows.Scan(&k, &p.InApp, &p.Email); err != nil {
			return out, err
		}
		if knownKind(k) {
			out.Kinds[k] = p
		}
	}
	return out, rows.Err()
}

// getPreferences returns the actor's preferences with defaults filled in.
func (c *core) getPreferences(ctx context.Context, a contracts.Actor) (contracts.NotificationPreferences, error) {
	uid, err := actorID(a)
	if err != nil {
		return contracts.NotificationPreferences{}, err
	}
	return c.preferences(ctx, c.pool, uid)
}

// updatePreferences applies a partial update and returns the result.
func (c *core) updatePreferences(ctx context.Context, a contracts.Actor, in contracts.NotificationPreferencesUpdate) (contracts.NotificationPreferences, error) {
	var out contracts.NotificationPreferences
	uid, err := actorID(a)
	if err != nil {
		return out, err
	}
	if in.Kinds == nil {
		return out, contracts.InvalidArgument("kinds", "kinds is required: {\"kinds\":{\"<kind>\":{\"email\":false}}}")
	}
	for k := range in.Kinds {
		if !knownKind(k) {
			return out, contracts.InvalidArgument("kinds."+k, "unknown notification kind %q (known: %s)", k, strings.Join(contracts.NotificationKinds, ", "))
		}
	}
	err = pg.InTx(ctx, c.pool, func(tx pgx.Tx) error {
		// Serialise concurrent updates of one user's preferences.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7))`, uid); err != nil {
			return err
		}
		cur, err := c.preferences(ctx, tx, uid)
		if err != nil {
			return err
		}
		for k, patch := range in.Kinds {
			p := cur.Kinds[k]
			if patch.InApp != nil {
				p.InApp = *patch.InApp
			}
			if patch.Email != nil {
				p.Email = *patch.Email
			}
			cur.Kinds[k] = p
			if _, err := tx.Exec(ctx, `INSERT INTO preferences (user_id, kind, in_app, email) VALUES ($1, $2, $3, $4)
				ON CONFLICT (user_id, kind) DO UPDATE SET in_app = excluded.in_app, email = excluded.email`, uid, k, p.InApp, p.Email); err != nil {
				return err
			}
		}
		out = cur
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("update preferences: %w", err)
	}
	return out, nil
}
