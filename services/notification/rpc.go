package notification

import (
	"context"
	"encoding/base64"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
)

var empty = struct{}{}

// handlers maps every notification.* method to its handler. The transport
// (bus.Routed, bus.Query) decodes; the parsers below turn query parameters
// into the filters the core takes; the core never sees bytes or Params.
func handlers(c *core) map[string]bus.Handler {
	return map[string]bus.Handler{
		contracts.MethodNotificationList: bus.Query(parseListFilter, func(ctx context.Context, _ contracts.Actor, f listFilter) (any, error) {
			return c.list(ctx, f)
		}),
		contracts.MethodNotificationRead: bus.Routed(func(ctx context.Context, call bus.Call[bus.NoBody]) (any, error) {
			return empty, c.markRead(ctx, call.Actor, call.Params.Get("id"))
		}),
		contracts.MethodNotificationReadAll: bus.Routed(func(ctx context.Context, call bus.Call[bus.NoBody]) (any, error) {
			return empty, c.markAllRead(ctx, call.Actor)
		}),
		contracts.MethodNotificationPreferencesGet: bus.Routed(func(ctx context.Context, call bus.Call[bus.NoBody]) (any, error) {
			return c.getPreferences(ctx, call.Actor)
		}),
		contracts.MethodNotificationUnsubscribe: bus.Query(c.parseUnsubscribe, func(ctx context.Context, _ contracts.Actor, u unsubscribeRequest) (any, error) {
			return c.unsubscribe(ctx, u)
		}),
		contracts.MethodNotificationPreferencesUpdate: bus.Routed(func(ctx context.Context, call bus.Call[contracts.NotificationPreferencesUpdate]) (any, error) {
			return c.updatePreferences(ctx, call.Actor, call.In)
		}),
	}
}

// listFilter is a parsed notification.list: whose notifications, how many,
// after which id (newest first), unread only or not.
type listFilter struct {
	UserID uuid.UUID
	Limit  int
	After  *uuid.UUID
	Unread bool
}

// parseListFilter reads notification.list's parameters: limit, cursor (an
// opaque id from next_cursor) and unread (true/false, 1/0).
func parseListFilter(a contracts.Actor, p contracts.Params) (listFilter, error) {
	var f listFilter
	uid, err := actorID(a)
	if err != nil {
		return f, err
	}
	f.UserID = uid
	page, err := contracts.PageOf(p)
	if err != nil {
		return f, err
	}
	f.Limit = page.Limit
	if page.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(page.Cursor)
		if err != nil || len(b) != 16 {
			return f, contracts.InvalidArgument("cursor", "malformed cursor")
		}
		id := uuid.UUID(b)
		f.After = &id
	}
	switch v := p.Get("unread"); v {
	case "", "false", "0":
	case "true", "1":
		f.Unread = true
	default:
		return f, contracts.InvalidArgument("unread", "unread must be true or false")
	}
	return f, nil
}

// cursorOf is the next_cursor naming the page after id.
func cursorOf(id uuid.UUID) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

// unsubscribeRequest is a verified one-click unsubscribe: the user and the
// kind its signed token names.
type unsubscribeRequest struct {
	UserID uuid.UUID
	Kind   string
}

// parseUnsubscribe checks the token parameter's signature.
func (c *core) parseUnsubscribe(_ contracts.Actor, p contracts.Params) (unsubscribeRequest, error) {
	tok := p.Get("token")
	if tok == "" {
		return unsubscribeRequest{}, contracts.InvalidArgument("token", "token is required")
	}
	uid, kind, err := parseUnsubscribeToken(c.unsubKey, tok)
	return unsubscribeRequest{UserID: uid, Kind: kind}, err
}
