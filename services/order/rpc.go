package order

import (
	"context"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/svc"
)

// envHandler serves a routed method: it decodes the gateway's envelope
// and passes it on with the actor.
func envHandler(f func(ctx context.Context, actor contracts.Actor, env contracts.Envelope) (any, error)) bus.Handler {
	return func(ctx context.Context, req *bus.Request) (any, error) {
		env, err := bus.DecodeEnvelope(req)
		if err != nil {
			return nil, err
		}
		return f(ctx, req.Actor, env)
	}
}

// bodyHandler is envHandler that also decodes the client's body into In
// (strictly: unknown fields are invalid_argument).
func bodyHandler[In any](f func(ctx context.Context, actor contracts.Actor, env contracts.Envelope, in In) (any, error)) bus.Handler {
	return envHandler(func(ctx context.Context, actor contracts.Actor, env contracts.Envelope) (any, error) {
		var in In
		if err := bus.DecodeJSON(env.Body, &in); err != nil {
			return nil, err
		}
		return f(ctx, actor, env, in)
	})
}

// register installs the RPC methods of contracts.MethodOrder*.
func (s *Service) register(kit *svc.Kit) {
	kit.Handle(contracts.MethodOrderCartGet, envHandler(func(ctx context.Context, a contracts.Actor, _ contracts.Envelope) (any, error) {
		return s.Cart(ctx, a)
	}))
	kit.Handle(contracts.MethodOrderCartClear, envHandler(func(ctx context.Context, a contracts.Actor, _ contracts.Envelope) (any, error) {
		return nil, s.ClearCart(ctx, a)
	}))
	kit.Handle(contracts.MethodOrderCartSetItem, bodyHandler(func(ctx context.Context, a contracts.Actor, env contracts.Envelope, in contracts.CartSetItemRequest) (any, error) {
		return s.SetCartItem(ctx, a, env.Params.Get("product_id"), in)
	}))
	kit.Handle(contracts.MethodOrderCartRemoveItem, envHandler(func(ctx context.Context, a contracts.Actor, env contracts.Envelope) (any, error) {
		return nil, s.RemoveCartItem(ctx, a, env.Params.Get("product_id"), env.Params.Get("variant_id"))
	}))
	kit.Handle(contracts.MethodOrderCheckout, envHandler(func(ctx context.Context, a contracts.Actor, env contracts.Envelope) (any, error) {
		return s.Checkout(ctx, a, env.Meta[contracts.MetaIdempotencyKey], env.Body)
	}))
	kit.Handle(contracts.MethodOrderPay, envHandler(func(ctx context.Context, a contracts.Actor, env contracts.Envelope) (any, error) {
		return s.Pay(ctx, a, env.Params.Get("id"), env.Meta[contracts.MetaIdempotencyKey], env.Body)
	}))
	kit.Handle(contracts.MethodOrderList, envHandler(func(ctx context.Context, a contracts.Actor, env contracts.Envelope) (any, error) {
		return s.List(ctx, a, env.Params)
	}))
	kit.Handle(contracts.MethodOrderSellerList, envHandler(func(ctx context.Context, a contracts.Actor, env contracts.Envelope) (any, error) {
		return s.SellerList(ctx, a, env.Params)
	}))
	kit.Handle(contracts.MethodOrderGet, envHandler(func(ctx context.Context, a contracts.Actor, env contracts.Envelope) (any, error) {
		return s.Get(ctx, a, env.Params.Get("id"))
	}))
	kit.Handle(contracts.MethodOrderCancel, bodyHandler(func(ctx context.Context, a contracts.Actor, env contracts.Envelope, _ contracts.CancelRequest) (any, error) {
		return s.Cancel(ctx, a, env.Params.Get("id"))
	}))
	kit.Handle(contracts.MethodOrderShip, bodyHandler(func(ctx context.Context, a contracts.Actor, env contracts.Envelope, in contracts.ShipRequest) (any, error) {
		return s.Ship(ctx, a, env.Params.Get("id"), in)
	}))
	kit.Handle(contracts.MethodOrderDeliver, bodyHandler(func(ctx context.Context, a contracts.Actor, env contracts.Envelope, in contracts.DeliverRequest) (any, error) {
		return s.Deliver(ctx, a, env.Params.Get("id"), in)
	}))
	kit.Handle(contracts.MethodOrderRefund, bodyHandler(func(ctx context.Context, a contracts.Actor, env contracts.Envelope, in contracts.RefundRequest) (any, error) {
		return s.Refund(ctx, a, env.Params.Get("id"), in)
	}))
	kit.Handle(contracts.MethodOrderReturnCreate, bodyHandler(func(ctx context.Context, a contracts.Actor, env contracts.Envelope, in contracts.ReturnInput) (any, error) {
		return s.CreateReturn(ctx, a, env.Params.Get("id"), in)
	}))
	kit.Handle(contracts.MethodOrderReturnGet, envHandler(func(ctx context.Context, a contracts.Actor, env contracts.Envelope) (any, error) {
		return s.GetReturn(ctx, a, env.Params.Get("id"))
	}))
	kit.Handle(contracts.MethodOrderReturnApprove, bodyHandler(func(ctx context.Context, a contracts.Actor, env contracts.Envelope, in contracts.ReturnDecision) (any, error) {
		return s.DecideReturn(ctx, a, env.Params.Get("id"), true, in)
	}))
	kit.Handle(contracts.MethodOrderReturnReject, bodyHandler(func(ctx context.Context, a contracts.Actor, env contracts.Envelope, in contracts.ReturnDecision) (any, error) {
		return s.DecideReturn(ctx, a, env.Params.Get("id"), false, in)
	}))
	kit.Handle(contracts.MethodOrderSellerReturns, envHandler(func(ctx context.Context, a contracts.Actor, env contracts.Envelope) (any, error) {
		return s.SellerReturns(ctx, a, env.Params)
	}))
}
