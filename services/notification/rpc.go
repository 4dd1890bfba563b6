package notification

import (
	"context"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/services/notification/notify"
)

var empty = struct{}{}

// handlers maps every notification.* method to its handler. The transport
// (bus.Routed, bus.Query) decodes; the domain's parsers (notify.ParseListFilter,
// Core.ParseUnsubscribe) turn query parameters into the filters it takes; the
// domain never sees bytes.
func handlers(c *notify.Core) map[string]bus.Handler {
	return map[string]bus.Handler{
		contracts.MethodNotificationList: bus.Query(notify.ParseListFilter, func(ctx context.Context, _ contracts.Actor, f notify.ListFilter) (any, error) {
			return c.List(ctx, f)
		}),
		contracts.MethodNotificationRead: bus.Routed(func(ctx context.Context, call bus.Call[bus.NoBody]) (any, error) {
			return empty, c.MarkRead(ctx, call.Actor, call.Params.Get("id"))
		}),
		contracts.MethodNotificationReadAll: bus.Routed(func(ctx context.Context, call bus.Call[bus.NoBody]) (any, error) {
			return empty, c.MarkAllRead(ctx, call.Actor)
		}),
		contracts.MethodNotificationPreferencesGet: bus.Routed(func(ctx context.Context, call bus.Call[bus.NoBody]) (any, error) {
			return c.Preferences(ctx, call.Actor)
		}),
		contracts.MethodNotificationUnsubscribe: bus.Query(c.ParseUnsubscribe, func(ctx context.Context, _ contracts.Actor, u notify.UnsubscribeRequest) (any, error) {
			return c.Unsubscribe(ctx, u)
		}),
		contracts.MethodNotificationPreferencesUpdate: bus.Routed(func(ctx context.Context, call bus.Call[contracts.NotificationPreferencesUpdate]) (any, error) {
			return c.UpdatePreferences(ctx, call.Actor, call.In)
		}),
	}
}
