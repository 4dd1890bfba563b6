package order

import (
	"context"
	"slices"
	"strings"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/svc"
)

// register installs the RPC methods of contracts.MethodOrder*. This is the
// transport: bus.Routed decodes the envelope and the client's body (an
// invalid body is invalid_argument before the domain runs), bus.Query
// parses a list's query parameters into its filter; the methods of Service
// receive typed values only.
func (s *Service) register(kit *svc.Kit) {
	kit.Handle(contracts.MethodOrderCartGet, bus.Routed(func(ctx context.Context, c bus.Call[bus.NoBody]) (any, error) {
		return s.Cart(ctx, c.Actor)
	}))
	kit.Handle(contracts.MethodOrderCartClear, bus.Routed(func(ctx context.Context, c bus.Call[bus.NoBody]) (any, error) {
		return nil, s.ClearCart(ctx, c.Actor)
	}))
	kit.Handle(contracts.MethodOrderCartSetItem, bus.Routed(func(ctx context.Context, c bus.Call[contracts.CartSetItemRequest]) (any, error) {
		return s.SetCartItem(ctx, c.Actor, c.Params.Get("product_id"), c.In)
	}))
	kit.Handle(contracts.MethodOrderCartRemoveItem, bus.Routed(func(ctx context.Context, c bus.Call[bus.NoBody]) (any, error) {
		return nil, s.RemoveCartItem(ctx, c.Actor, c.Params.Get("product_id"), c.Params.Get("variant_id"))
	}))
	kit.Handle(contracts.MethodOrderCheckout, bus.Routed(func(ctx context.Context, c bus.Call[contracts.CheckoutRequest]) (any, error) {
		return s.Checkout(ctx, c.Actor, c.Meta[contracts.MetaIdempotencyKey], c.In)
	}))
	kit.Handle(contracts.MethodOrderPay, bus.Routed(func(ctx context.Context, c bus.Call[contracts.PayRequest]) (any, error) {
		return s.Pay(ctx, c.Actor, c.Params.Get("id"), c.Meta[contracts.MetaIdempotencyKey], c.In)
	}))
	kit.Handle(contracts.MethodOrderList, bus.Query(parseBuyerList, anyReply(s.List)))
	kit.Handle(contracts.MethodOrderSellerList, bus.Query(parseSellerList, anyReply(s.SellerList)))
	kit.Handle(contracts.MethodOrderGet, bus.Routed(func(ctx context.Context, c bus.Call[bus.NoBody]) (any, error) {
		return s.Get(ctx, c.Actor, c.Params.Get("id"))
	}))
	kit.Handle(contracts.MethodOrderCancel, bus.Routed(func(ctx context.Context, c bus.Call[contracts.CancelRequest]) (any, error) {
		return s.Cancel(ctx, c.Actor, c.Params.Get("id"))
	}))
	kit.Handle(contracts.MethodOrderShip, bus.Routed(func(ctx context.Context, c bus.Call[contracts.ShipRequest]) (any, error) {
		return s.Ship(ctx, c.Actor, c.Params.Get("id"), c.In)
	}))
	kit.Handle(contracts.MethodOrderDeliver, bus.Routed(func(ctx context.Context, c bus.Call[contracts.DeliverRequest]) (any, error) {
		return s.Deliver(ctx, c.Actor, c.Params.Get("id"), c.In)
	}))
	kit.Handle(contracts.MethodOrderRefund, bus.Routed(func(ctx context.Context, c bus.Call[contracts.RefundRequest]) (any, error) {
		return s.Refund(ctx, c.Actor, c.Params.Get("id"), c.In)
	}))
	kit.Handle(contracts.MethodOrderReturnCreate, bus.Routed(func(ctx context.Context, c bus.Call[contracts.ReturnInput]) (any, error) {
		return s.CreateReturn(ctx, c.Actor, c.Params.Get("id"), c.In)
	}))
	kit.Handle(contracts.MethodOrderReturnGet, bus.Routed(func(ctx context.Context, c bus.Call[bus.NoBody]) (any, error) {
		return s.GetReturn(ctx, c.Actor, c.Params.Get("id"))
	}))
	kit.Handle(contracts.MethodOrderReturnApprove, bus.Routed(func(ctx context.Context, c bus.Call[contracts.ReturnDecision]) (any, error) {
		return s.DecideReturn(ctx, c.Actor, c.Params.Get("id"), true, c.In)
	}))
	kit.Handle(contracts.MethodOrderReturnReject, bus.Routed(func(ctx context.Context, c bus.Call[contracts.ReturnDecision]) (any, error) {
		return s.DecideReturn(ctx, c.Actor, c.Params.Get("id"), false, c.In)
	}))
	kit.Handle(contracts.MethodOrderSellerReturns, bus.Query(parseReturnList, anyReply(s.SellerReturns)))
}

// anyReply adapts a typed list method to bus.Query.
func anyReply[Q, R any](fn func(context.Context, contracts.Actor, Q) (R, error)) func(context.Context, contracts.Actor, Q) (any, error) {
	return func(ctx context.Context, a contracts.Actor, q Q) (any, error) { return fn(ctx, a, q) }
}

// parseBuyerList reads order.list's query: limit, cursor, status and (for
// admins and services) user.
func parseBuyerList(a contracts.Actor, p contracts.Params) (listFilter, error) {
	f, err := listParams(p)
	if err != nil {
		return f, err
	}
	if a.IsAdmin() || a.IsService() {
		f.UserID = p.Get("user")
	}
	return f, nil
}

// parseSellerList reads order.seller_list's query: limit, cursor, status
// and (for admins and services) seller.
func parseSellerList(a contracts.Actor, p contracts.Params) (listFilter, error) {
	f, err := listParams(p)
	if err != nil {
		return f, err
	}
	if a.IsAdmin() || a.IsService() {
		f.SellerID = p.Get("seller")
	}
	return f, nil
}

// parseReturnList reads order.seller_returns's query: limit, cursor,
// status and (for admins and services) seller.
func parseReturnList(a contracts.Actor, p contracts.Params) (returnFilter, error) {
	pg, err := contracts.PageOf(p)
	f := returnFilter{Limit: pg.Limit}
	if err != nil {
		return f, err
	}
	if a.IsAdmin() || a.IsService() {
		f.SellerID = p.Get("seller")
	}
	if v := p.Get("status"); v != "" {
		if !slices.Contains(returnStatuses, v) {
			return f, contracts.InvalidArgument("status", "status must be one of %s", strings.Join(returnStatuses, ", "))
		}
		f.Status = v
	}
	if v := p.Get("cursor"); v != "" {
		if !isUUID(v) {
			return f, contracts.InvalidArgument("cursor", "cursor is not valid; pass next_cursor from a previous page")
		}
		f.Cursor = v
	}
	return f, nil
}
