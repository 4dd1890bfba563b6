package user

import (
	"context"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/services/user/account"
)

// handlers returns the RPC handlers of every user.* method, keyed by method
// name. Gateway-routed methods are bus.Routed (the envelope and the client's
// body decoded strictly by the transport: unknown fields, wrong types and
// malformed JSON are invalid_argument before the domain runs) or bus.Query
// (list methods, which receive their parsed filter). The actor comes from
// the request headers the gateway set.
func handlers(c *account.Core) map[string]bus.Handler {
	return map[string]bus.Handler{
		contracts.MethodUserRegister: bus.Routed(func(ctx context.Context, r bus.Call[contracts.RegisterRequest]) (any, error) {
			u, err := c.Register(ctx, r.In)
			if err != nil {
				return nil, err
			}
			return contracts.RegisterReply{User: u}, nil
		}),
		contracts.MethodUserLogin: bus.Routed(func(ctx context.Context, r bus.Call[contracts.LoginRequest]) (any, error) {
			return c.Login(ctx, r.In, r.Meta["client_ip"])
		}),
		contracts.MethodUserRefresh: bus.Routed(func(ctx context.Context, r bus.Call[contracts.RefreshRequest]) (any, error) {
			return c.Refresh(ctx, r.In)
		}),
		contracts.MethodUserLogout: bus.Routed(func(ctx context.Context, r bus.Call[contracts.LogoutRequest]) (any, error) {
			return nil, c.Logout(ctx, r.Actor, r.In)
		}),
		contracts.MethodUserLogoutAll: bus.Routed(func(ctx context.Context, r bus.Call[bus.NoBody]) (any, error) {
			return nil, c.LogoutAll(ctx, r.Actor)
		}),
		// Service-to-service methods without an envelope.
		contracts.MethodUserJWKS: func(ctx context.Context, _ *bus.Request) (any, error) {
			return c.JWKS(ctx)
		},
		contracts.MethodUserRevocations: func(ctx context.Context, r *bus.Request) (any, error) {
			return c.Revocations(ctx, r.Actor)
		},
		contracts.MethodUserMeGet: bus.Routed(func(ctx context.Context, r bus.Call[bus.NoBody]) (any, error) {
			return c.Me(ctx, r.Actor)
		}),
		contracts.MethodUserMeUpdate: bus.Routed(func(ctx context.Context, r bus.Call[contracts.UpdateProfileRequest]) (any, error) {
			return c.UpdateMe(ctx, r.Actor, r.In)
		}),
		contracts.MethodUserPasswordChange: bus.Routed(func(ctx context.Context, r bus.Call[contracts.ChangePasswordRequest]) (any, error) {
			return nil, c.ChangePassword(ctx, r.Actor, r.In)
		}),
		contracts.MethodUserAddressesList: bus.Routed(func(ctx context.Context, r bus.Call[bus.NoBody]) (any, error) {
			return c.Addresses(ctx, r.Actor)
		}),
		contracts.MethodUserAddressesCreate: bus.Routed(func(ctx context.Context, r bus.Call[contracts.AddressInput]) (any, error) {
			return c.CreateAddress(ctx, r.Actor, r.In)
		}),
		contracts.MethodUserAddressesUpdate: bus.Routed(func(ctx context.Context, r bus.Call[contracts.AddressPatch]) (any, error) {
			return c.UpdateAddress(ctx, r.Actor, r.Params.Get("id"), r.In)
		}),
		contracts.MethodUserAddressesDelete: bus.Routed(func(ctx context.Context, r bus.Call[bus.NoBody]) (any, error) {
			return nil, c.DeleteAddress(ctx, r.Actor, r.Params.Get("id"))
		}),
		contracts.MethodUserWishlistList: bus.Query(parsePage, func(ctx context.Context, a contracts.Actor, p contracts.Page) (any, error) {
			return c.Wishlist(ctx, a, p)
		}),
		contracts.MethodUserWishlistAdd: bus.Routed(func(ctx context.Context, r bus.Call[contracts.WishlistAddRequest]) (any, error) {
			return c.AddWishlist(ctx, r.Actor, r.In)
		}),
		contracts.MethodUserWishlistRemove: bus.Routed(func(ctx context.Context, r bus.Call[bus.NoBody]) (any, error) {
			return nil, c.RemoveWishlist(ctx, r.Actor, r.Params.Get("product_id"))
		}),
		contracts.MethodUserAdminList: bus.Query(parseAdminList, func(ctx context.Context, a contracts.Actor, q adminListQuery) (any, error) {
			return c.AdminList(ctx, a, q.search, q.page)
		}),
		contracts.MethodUserAdminUpdate: bus.Routed(func(ctx context.Context, r bus.Call[contracts.AdminUpdateUserRequest]) (any, error) {
			return c.AdminUpdate(ctx, r.Actor, r.Params.Get("id"), r.In)
		}),
		contracts.MethodUserAdminRotateKey: bus.Routed(func(ctx context.Context, r bus.Call[bus.NoBody]) (any, error) {
			return c.RotateKey(ctx, r.Actor)
		}),
	}
}

// parsePage reads a list's limit and cursor.
func parsePage(_ contracts.Actor, p contracts.Params) (contracts.Page, error) {
	return contracts.PageOf(p)
}

// adminListQuery is user.admin.list's filter: a search text (q) and a page.
type adminListQuery struct {
	search string
	page   contracts.Page
}

func parseAdminList(_ contracts.Actor, p contracts.Params) (adminListQuery, error) {
	pg, err := contracts.PageOf(p)
	return adminListQuery{search: p.Get("q"), page: pg}, err
}
