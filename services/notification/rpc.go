package notification

import (
	"context"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
)

var empty = struct{}{}

// handlers maps every notification.* method to its handler.
func handlers(c *core) map[string]bus.Handler {
	return map[string]bus.Handler{
		contracts.MethodNotificationList: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return c.list(ctx, a, p)
		}),
		contracts.MethodNotificationRead: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return empty, c.markRead(ctx, a, p.Get("id"))
		}),
		contracts.MethodNotificationReadAll: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return empty, c.markAllRead(ctx, a)
		}),
		contracts.MethodNotificationPreferencesGet: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return c.getPreferences(ctx, a)
		}),
		contracts.MethodNotificationUnsubscribe: bus.RawRouted(func(ctx context.Context, _ contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return c.unsubscribe(ctx, p)
		}),
		contracts.MethodNotificationPreferencesUpdate: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, body []byte) (any, error) {
			if _, err := actorID(a); err != nil {
				return nil, err
			}
			var in contracts.NotificationPreferencesUpdate
			if len(body) == 0 {
				return nil, contracts.InvalidArgument("body", "a JSON body is required")
			}
			if err := bus.DecodeJSON(body, &in); err != nil {
				return nil, err
			}
			return c.updatePreferences(ctx, a, in)
		}),
	}
}
