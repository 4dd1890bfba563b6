package notify

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
)

// Store is the persistence the notification domain needs; postgres.go
// implements it on the service's own database (pgStore). Not-found is
// reported by a result (found bool), never by a database error type, so
// the domain imports no driver. Implementations are safe for concurrent
// use.
type Store interface {
	// ApplyOnce runs fn in one transaction, once per event id: a
	// redelivered event the store has already applied is skipped (fn is
	// not called) and nil returned.
	ApplyOnce(ctx context.Context, ev contracts.Event, fn func(EventTx) error) error

	// List returns up to f.Limit+1 notifications of f.UserID, newest
	// first, after f.After, unread only with f.Unread.
	List(ctx context.Context, f ListFilter) ([]contracts.Notification, error)
	// MarkRead marks one of user's notifications read (keeping the first
	// read time) and reports whether it exists.
	MarkRead(ctx context.Context, user, id uuid.UUID) (found bool, err error)
	// MarkAllRead marks every unread notification of user read.
	MarkAllRead(ctx context.Context, user uuid.UUID) error

	// Preferences returns user's stored preferences by kind (kinds never
	// set are absent).
	Preferences(ctx context.Context, user uuid.UUID) (map[string]contracts.ChannelPreferences, error)
	// UpdatePreferences runs fn on user's stored preferences, serialised
	// with other updates of that user, and stores the kinds fn returns.
	UpdatePreferences(ctx context.Context, user uuid.UUID, fn func(stored map[string]contracts.ChannelPreferences) (map[string]contracts.ChannelPreferences, error)) error
	// DisableEmail turns email off for user and kind; a kind never set
	// gets inApp for its in-app channel.
	DisableEmail(ctx context.Context, user uuid.UUID, kind string, inApp bool) error
	// Secret returns the secret named name, storing fresh first when there
	// is none (so every instance gets the one the first stored).
	Secret(ctx context.Context, name string, fresh []byte) ([]byte, error)

	// PublishPushes hands up to max push rows, oldest first, to publish in
	// turn and deletes those it accepted; it stops at the first refusal
	// and returns how many were published and that refusal. Rows being
	// published by another instance are skipped.
	PublishPushes(ctx context.Context, max int, publish func(Push) error) (int, error)

	// ClaimEmail takes the next due pending email and leases it (no other
	// instance takes it before lease has passed); ok is false when none is
	// due.
	ClaimEmail(ctx context.Context, lease time.Duration) (o Outgoing, ok bool, err error)
	// EmailSent, EmailFailed and EmailRetry record an attempt's outcome:
	// sent (final), refused for good (final, with why), or to try again
	// after delay (with why).
	EmailSent(ctx context.Context, id uuid.UUID) error
	EmailFailed(ctx context.Context, id uuid.UUID, why string) error
	EmailRetry(ctx context.Context, id uuid.UUID, delay time.Duration, why string) error

	// DeleteNotifications deletes up to batch notifications with ids below
	// floor; DeleteEmails up to batch finished emails with ids below floor
	// that finished before cut. Each returns how many it deleted.
	DeleteNotifications(ctx context.Context, floor uuid.UUID, batch int) (int64, error)
	DeleteEmails(ctx context.Context, floor uuid.UUID, cut time.Time, batch int) (int64, error)
}

// EventTx is what applying one event writes, inside its transaction.
type EventTx interface {
	// UpsertUser keeps the newest known address and state of a user (as
	// of at: an older event does not overwrite a newer one).
	UpsertUser(ctx context.Context, u contracts.UserUpdated, at time.Time) error
	// KindPreferences returns user's preferences for kind; found is false
	// when the user never set them.
	KindPreferences(ctx context.Context, user, kind string) (p contracts.ChannelPreferences, found bool, err error)
	// Address returns user's email address and whether the account is
	// disabled; found is false for a user the service never heard of.
	Address(ctx context.Context, user string) (email string, disabled, found bool, err error)
	// AddNotification stores an in-app notification of user and its push
	// row (payload: the notification as the stream sends it).
	AddNotification(ctx context.Context, user string, n contracts.Notification, payload []byte) error
	// AddEmail stores an email row.
	AddEmail(ctx context.Context, e Email) error
}

// Push is a row of the push outbox.
type Push struct {
	NotificationID, UserID uuid.UUID
	Payload                []byte
}

// Email is a new row of the email outbox. Status is pending, or skipped
// with LastError saying why.
type Email struct {
	ID             uuid.UUID
	UserID         string
	NotificationID *uuid.UUID
	Kind, To       string
	Subject        string
	Text, HTML     string
	Status         string
	LastError      string
}
