package user

import (
	"context"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/services/user/account"
)

// handlers returns the RPC handlers of every user.* method (edge/routes.go),
// keyed by method name. Routed methods decode the gateway's Envelope
// strictly (bus.DecodeEnvelope, then bus.DecodeJSON of its body): unknown
// fields, wrong types and malformed JSON are invalid_argument. The actor
// comes from the request headers the gateway set.
func handlers(c *account.Core) map[string]bus.Handler {
	return map[string]bus.Handler{
		contracts.MethodUserRegister: withBody(func(ctx context.Context, _ *bus.Request, _ contracts.Envelope, in contracts.RegisterRequest) (any, error) {
			u, err := c.Register(ctx, in)
			if err != nil {
				return nil, err
			}
			return contracts.RegisterReply{User: u}, nil
		}),
		contracts.MethodUserLogin: withBody(func(ctx context.Context, _ *bus.Request, env contracts.Envelope, in contracts.LoginRequest) (any, error) {
			return c.Login(ctx, in, env.Meta["client_ip"])
		}),
		contracts.MethodUserRefresh: withBody(func(ctx context.Context, _ *bus.Request, _ contracts.Envelope, in contracts.RefreshRequest) (any, error) {
			return c.Refresh(ctx, in)
		}),
		contracts.MethodUserLogout: withBody(func(ctx context.Context, r *bus.Request, _ contracts.Envelope, in contracts.LogoutRequest) (any, error) {
			return nil, c.Logout(ctx, r.Actor, in)
		}),
		contracts.MethodUserLogoutAll: withEnvelope(func(ctx context.Context, r *bus.Request, _ contracts.Envelope) (any, error) {
			return nil, c.LogoutAll(ctx, r.Actor)
		}),
		contracts.MethodUserJWKS: func(ctx context.Context, _ *bus.Request) (any, error) {
			return c.JWKS(ctx)
		},
		contracts.MethodUserRevocations: func(ctx context.Context, r *bus.Request) (any, error) {
			return c.Revocations(ctx, r.Actor)
		},
		contracts.MethodUserMeGet: withEnvelope(func(ctx context.Context, r *bus.Request, _ contracts.Envelope) (any, error) {
			return c.Me(ctx, r.Actor)
		}),
		contracts.MethodUserMeUpdate: withBody(func(ctx context.Context, r *bus.Request, _ contracts.Envelope, in contracts.UpdateProfileRequest) (any, error) {
			return c.UpdateMe(ctx, r.Actor, in)
		}),
		contracts.MethodUserPasswordChange: withBody(func(ctx context.Context, r *bus.Request, _ contracts.Envelope, in contracts.ChangePasswordRequest) (any, error) {
			return nil, c.ChangePassword(ctx, r.Actor, in)
		}),
		contracts.MethodUserAddressesList: withEnvelope(func(ctx context.Context, r *bus.Request, _ contracts.Envelope) (any, error) {
			return c.Addresses(ctx, r.Actor)
		}),
		contracts.MethodUserAddressesCreate: withBody(func(ctx context.Context, r *bus.Request, _ contracts.Envelope, in contracts.AddressInput) (any, error) {
			return c.CreateAddress(ctx, r.Actor, in)
		}),
		contracts.MethodUserAddressesUpdate: withBody(func(ctx context.Context, r *bus.Request, env contracts.Envelope, in contracts.AddressPatch) (any, error) {
			return c.UpdateAddress(ctx, r.Actor, env.Params.Get("id"), in)
		}),
		contracts.MethodUserAddressesDelete: withEnvelope(func(ctx context.Context, r *bus.Request, env contracts.Envelope) (any, error) {
			return nil, c.DeleteAddress(ctx, r.Actor, env.Params.Get("id"))
		}),
		contracts.MethodUserWishlistList: withEnvelope(func(ctx context.Context, r *bus.Request, env contracts.Envelope) (any, error) {
			p, err := contracts.PageOf(env.Params)
			if err != nil {
				return nil, err
			}
			return c.Wishlist(ctx, r.Actor, p)
		}),
		contracts.MethodUserWishlistAdd: withBody(func(ctx context.Context, r *bus.Request, _ contracts.Envelope, in contracts.WishlistAddRequest) (any, error) {
			return c.AddWishlist(ctx, r.Actor, in)
		}),
		contracts.MethodUserWishlistRemove: withEnvelope(func(ctx context.Context, r *bus.Request, env contracts.Envelope) (any, error) {
			return nil, c.RemoveWishlist(ctx, r.Actor, env.Params.Get("product_id"))
		}),
		contracts.MethodUserAdminList: withEnvelope(func(ctx context.Context, r *bus.Request, env contracts.Envelope) (any, error) {
			p, err := contracts.PageOf(env.Params)
			if err != nil {
				return nil, err
			}
			return c.AdminList(ctx, r.Actor, env.Params.Get("q"), p)
		}),
		contracts.MethodUserAdminUpdate: withBody(func(ctx context.Context, r *bus.Request, env contracts.Envelope, in contracts.AdminUpdateUserRequest) (any, error) {
			return c.AdminUpdate(ctx, r.Actor, env.Params.Get("id"), in)
		}),
		contracts.MethodUserAdminRotateKey: withEnvelope(func(ctx context.Context, r *bus.Request, _ contracts.Envelope) (any, error) {
			return c.RotateKey(ctx, r.Actor)
		}),
	}
}

func withEnvelope(fn func(context.Context, *bus.Request, contracts.Envelope) (any, error)) bus.Handler {
	return func(ctx context.Context, r *bus.Request) (any, error) {
		env, err := bus.DecodeEnvelope(r)
		if err != nil {
			return nil, err
		}
		return fn(ctx, r, env)
	}
}

func withBody[T any](fn func(context.Context, *bus.Request, contracts.Envelope, T) (any, error)) bus.Handler {
	return withEnvelope(func(ctx context.Context, r *bus.Request, env contracts.Envelope) (any, error) {
		var in T
		if err := bus.DecodeJSON(env.Body, &in); err != nil {
			return nil, err
		}
		return fn(ctx, r, env, in)
	})
}
