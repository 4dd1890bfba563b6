package notify

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencommerce/opencommerce/contracts"
)

// Core is the service's logic; it reaches its data only through its Store.
// Its methods are safe for concurrent use (the RPC server and the event
// consumer call them from many goroutines).
type Core struct {
	cfg   Config
	store Store
	log   *slog.Logger
	m     *metrics
	now   func() time.Time

	wakePush chan struct{}
	wakeMail chan struct{}

	unsubKey []byte // signs one-click unsubscribe links (unsubscribe.go)
	mailer   *mailer
}

// NewCore returns the domain on store: it checks the mail settings and
// loads the unsubscribe key (made and stored by the first instance when
// none is configured). reg may be nil.
func NewCore(ctx context.Context, cfg Config, store Store, log *slog.Logger, reg prometheus.Registerer) (*Core, error) {
	c := &Core{
		cfg: cfg, store: store, log: log, m: newMetrics(reg), now: time.Now,
		wakePush: make(chan struct{}, 1), wakeMail: make(chan struct{}, 1),
	}
	var err error
	if c.unsubKey, err = loadUnsubscribeKey(ctx, store, cfg.UnsubscribeKey); err != nil {
		return nil, err
	}
	if c.mailer, err = newMailer(c); err != nil {
		return nil, err
	}
	return c, nil
}

// Workers are the background loops, each running until its ctx ends: the
// push outbox to js, the email outbox over SMTP, the retention sweep.
// Run each once.
func (c *Core) Workers(js jetstream.JetStream) []func(ctx context.Context) {
	p := &pusher{c: c, js: js}
	return []func(context.Context){p.run, c.mailer.run, c.runSweeper}
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

// HandleEvent applies one event exactly once (Store.ApplyOnce): it keeps
// the user directory current and writes each recipient's notification, push
// row and email row in one transaction, then wakes the workers.
func (c *Core) HandleEvent(ctx context.Context, ev contracts.Event) error {
	dels, err := c.deliveries(ev)
	if err != nil {
		return err
	}
	user, err := userChange(ev)
	if err != nil {
		return err
	}
	if user == nil && len(dels) == 0 {
		return nil
	}
	var pushed, mailed bool
	err = c.store.ApplyOnce(ctx, ev, func(tx EventTx) error {
		pushed, mailed = false, false
		if user != nil {
			if err := tx.UpsertUser(ctx, *user, ev.OccurredAt); err != nil {
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

// userChange is what a user event tells the directory of addresses (nil
// for other events).
func userChange(ev contracts.Event) (*contracts.UserUpdated, error) {
	switch ev.Type {
	case contracts.EventUserRegistered:
		var u contracts.UserRegistered
		if err := decode(ev, &u, &u.UserID); err != nil {
			return nil, err
		}
		return &contracts.UserUpdated{UserID: u.UserID, Email: u.Email, Name: u.Name}, nil
	case contracts.EventUserUpdated:
		var u contracts.UserUpdated
		if err := decode(ev, &u, &u.UserID); err != nil {
			return nil, err
		}
		return &u, nil
	}
	return nil, nil
}

// deliver writes one delivery on the channels the recipient chose.
func (c *Core) deliver(ctx context.Context, tx EventTx, d delivery) (pushed, mailed bool, err error) {
	prefs, found, err := tx.KindPreferences(ctx, d.UserID, d.Kind)
	if err != nil {
		return false, false, fmt.Errorf("preferences: %w", err)
	}
	if !found {
		prefs = defaultPreferences(d.Kind)
	}
	id := newID()
	var nid *uuid.UUID
	if prefs.InApp {
		n := contracts.Notification{
			ID: id.String(), Kind: d.Kind, Title: d.Msg.Title, Body: d.Msg.Intro,
			Data: mustJSON(d.Data), CreatedAt: c.now().UTC().Truncate(time.Microsecond),
		}
		if err := tx.AddNotification(ctx, d.UserID, n, mustJSON(n)); err != nil {
			return false, false, err
		}
		c.m.created.WithLabelValues(d.Kind, "in_app").Inc()
		pushed, nid = true, &id
	}
	if !prefs.Email {
		return pushed, false, nil
	}
	e, err := c.email(ctx, tx, d, nid)
	if err != nil {
		return false, false, err
	}
	if err := tx.AddEmail(ctx, e); err != nil {
		return false, false, fmt.Errorf("insert email: %w", err)
	}
	c.m.created.WithLabelValues(d.Kind, "email").Inc()
	if e.Status == "skipped" {
		c.m.emails.WithLabelValues("skipped").Inc()
		c.log.Info("email skipped", "user_id", d.UserID, "kind", d.Kind, "why", e.LastError)
	}
	return pushed, e.Status == "pending", nil
}

// email renders d's email, pending, or skipped when it cannot be sent: the
// user service has no method to look an address up for a service, so the
// address is the one user.registered/updated brought, if any.
func (c *Core) email(ctx context.Context, tx EventTx, d delivery, nid *uuid.UUID) (Email, error) {
	to, disabled, found, err := tx.Address(ctx, d.UserID)
	if err != nil {
		return Email{}, fmt.Errorf("user address: %w", err)
	}
	status, why := "pending", ""
	switch {
	case !found:
		status, why = "skipped", "no email address known for this user"
	case disabled:
		status, why = "skipped", "account disabled"
	case to == "":
		status, why = "skipped", "empty email address"
	}
	text, html, err := render(d.Msg)
	if err != nil {
		return Email{}, fmt.Errorf("render %s: %w", d.Kind, err)
	}
	return Email{ID: newID(), UserID: d.UserID, NotificationID: nid, Kind: d.Kind, To: to,
		Subject: d.Msg.Subject, Text: text, HTML: html, Status: status, LastError: why}, nil
}

// actorID returns the signed-in user's id or unauthenticated.
func actorID(a contracts.Actor) (uuid.UUID, error) {
	id, err := uuid.Parse(a.ID)
	if a.ID == "" || err != nil {
		return uuid.Nil, contracts.Unauthenticated("sign in to see your notifications")
	}
	return id, nil
}

// List returns a page of the filter's notifications, newest first.
func (c *Core) List(ctx context.Context, f ListFilter) (contracts.List[contracts.Notification], error) {
	var out contracts.List[contracts.Notification]
	items, err := c.store.List(ctx, f)
	if err != nil {
		return out, fmt.Errorf("list notifications: %w", err)
	}
	out.Items = items
	if len(out.Items) > f.Limit {
		out.Items = out.Items[:f.Limit]
		out.NextCursor = cursorOf(uuid.MustParse(out.Items[f.Limit-1].ID))
	}
	if out.Items == nil {
		out.Items = []contracts.Notification{}
	}
	return out, nil
}

// MarkRead marks one of the actor's notifications read (idempotent).
func (c *Core) MarkRead(ctx context.Context, a contracts.Actor, idStr string) error {
	uid, err := actorID(a)
	if err != nil {
		return err
	}
	id, err := uuid.Parse(idStr)
	if err != nil {
		return contracts.NotFound("notification")
	}
	found, err := c.store.MarkRead(ctx, uid, id)
	if err != nil {
		return fmt.Errorf("mark read: %w", err)
	}
	if !found {
		return contracts.NotFound("notification")
	}
	return nil
}

// MarkAllRead marks every unread notification of the actor read.
func (c *Core) MarkAllRead(ctx context.Context, a contracts.Actor) error {
	uid, err := actorID(a)
	if err != nil {
		return err
	}
	if err := c.store.MarkAllRead(ctx, uid); err != nil {
		return fmt.Errorf("mark all read: %w", err)
	}
	return nil
}

// withDefaults is every kind's preferences: the stored ones of known
// kinds, the defaults for the others.
func withDefaults(stored map[string]contracts.ChannelPreferences) contracts.NotificationPreferences {
	out := contracts.NotificationPreferences{Kinds: map[string]contracts.ChannelPreferences{}}
	for _, k := range contracts.NotificationKinds {
		out.Kinds[k] = defaultPreferences(k)
		if p, ok := stored[k]; ok {
			out.Kinds[k] = p
		}
	}
	return out
}

// Preferences returns the actor's preferences with defaults filled in.
func (c *Core) Preferences(ctx context.Context, a contracts.Actor) (contracts.NotificationPreferences, error) {
	uid, err := actorID(a)
	if err != nil {
		return contracts.NotificationPreferences{}, err
	}
	stored, err := c.store.Preferences(ctx, uid)
	if err != nil {
		return contracts.NotificationPreferences{}, fmt.Errorf("preferences: %w", err)
	}
	return withDefaults(stored), nil
}

// UpdatePreferences applies a partial update and returns the result.
func (c *Core) UpdatePreferences(ctx context.Context, a contracts.Actor, in contracts.NotificationPreferencesUpdate) (contracts.NotificationPreferences, error) {
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
	err = c.store.UpdatePreferences(ctx, uid, func(stored map[string]contracts.ChannelPreferences) (map[string]contracts.ChannelPreferences, error) {
		out = withDefaults(stored)
		changed := map[string]contracts.ChannelPreferences{}
		for k, patch := range in.Kinds {
			p := out.Kinds[k]
			if patch.InApp != nil {
				p.InApp = *patch.InApp
			}
			if patch.Email != nil {
				p.Email = *patch.Email
			}
			out.Kinds[k], changed[k] = p, p
		}
		return changed, nil
	})
	if err != nil {
		return out, fmt.Errorf("update preferences: %w", err)
	}
	return out, nil
}
