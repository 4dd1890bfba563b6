package order

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/opencommerce/opencommerce/contracts"
)

// visible reports whether actor may see o: its buyer, a seller of one of
// its items, an admin or a service.
func visible(actor contracts.Actor, o *Order) bool {
	return actor.IsAdmin() || actor.IsService() || (actor.ID != "" && actor.ID == o.UserID) ||
		(actor.Role == contracts.RoleSeller && o.hasSeller(actor.ID))
}

// sellerScope is the seller whose items only actor sees in o ("" for all):
// a seller looking at an order they did not buy.
func sellerScope(actor contracts.Actor, o *Order) string {
	if actor.Role == contracts.RoleSeller && actor.ID != o.UserID {
		return actor.ID
	}
	return ""
}

// load returns the order id if actor may see it; anything else is
// not_found, so no one learns of orders that are not theirs.
func (s *Service) load(ctx context.Context, actor contracts.Actor, id string) (*Order, error) {
	if actor.Anonymous() {
		return nil, contracts.Unauthenticated("sign in to see orders")
	}
	if !isUUID(id) {
		return nil, contracts.NotFound("order")
	}
	o, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !visible(actor, o) {
		return nil, contracts.NotFound("order")
	}
	return o, nil
}

// Get returns the order id (or the order numbered id) as actor may see it.
func (s *Service) Get(ctx context.Context, actor contracts.Actor, id string) (contracts.Order, error) {
	if actor.Anonymous() {
		return contracts.Order{}, contracts.Unauthenticated("sign in to see orders")
	}
	id, err := s.orderID(ctx, id)
	if err != nil {
		return contracts.Order{}, err
	}
	o, err := s.load(ctx, actor, id)
	if err != nil {
		return contracts.Order{}, err
	}
	scope := sellerScope(actor, o)
	view := o.View(scope)
	if scope != "" {
		return view, nil // the buyer's payment attempts are not the seller's business
	}
	return s.withAttempts(ctx, view)
}

// listParams reads limit, cursor and status from a list's query (the
// transport's parsing, see rpc.go).
func listParams(p contracts.Params) (listFilter, error) {
	pg, err := contracts.PageOf(p)
	f := listFilter{Limit: pg.Limit}
	if err != nil {
		return f, err
	}
	if v := p.Get("cursor"); v != "" {
		if !isUUID(v) {
			return f, contracts.InvalidArgument("cursor", "cursor is not valid; pass next_cursor from a previous page")
		}
		f.Cursor = v
	}
	if v := p.Get("status"); v != "" {
		if !slices.Contains(validStatuses, v) {
			return f, contracts.InvalidArgument("status", "status must be one of %s", strings.Join(validStatuses, ", "))
		}
		f.Status = v
	}
	return f, nil
}

// List returns actor's orders, newest first; an admin (or a service) sees
// everyone's, or one user's when f.UserID is set (the user parameter, see
// parseBuyerList).
func (s *Service) List(ctx context.Context, actor contracts.Actor, f listFilter) (contracts.List[contracts.Order], error) {
	if actor.Anonymous() {
		return contracts.List[contracts.Order]{}, contracts.Unauthenticated("sign in to see orders")
	}
	if !actor.IsAdmin() && !actor.IsService() {
		f.UserID = actor.ID
	}
	return s.list(ctx, f, "")
}

// SellerList returns the orders holding the seller's products, newest
// first, showing only their items; an admin sees every order (or one
// seller's, when f.SellerID is set: the seller parameter).
func (s *Service) SellerList(ctx context.Context, actor contracts.Actor, f listFilter) (contracts.List[contracts.Order], error) {
	scope := ""
	switch {
	case actor.IsAdmin() || actor.IsService():
	case actor.Role == contracts.RoleSeller && actor.ID != "":
		f.SellerID, scope = actor.ID, actor.ID
	case actor.Anonymous():
		return contracts.List[contracts.Order]{}, contracts.Unauthenticated("sign in to see orders")
	default:
		return contracts.List[contracts.Order]{}, contracts.PermissionDenied("only sellers and admins see seller orders")
	}
	return s.list(ctx, f, scope)
}

func (s *Service) list(ctx context.Context, f listFilter, scope string) (contracts.List[contracts.Order], error) {
	orders, next, err := s.store.List(ctx, f)
	if err != nil {
		return contracts.List[contracts.Order]{}, err
	}
	out := contracts.List[contracts.Order]{Items: make([]contracts.Order, len(orders)), NextCursor: next}
	for i, o := range orders {
		out.Items[i] = o.View(scope)
	}
	return out, nil
}

// Cancel cancels the order for its buyer (or an admin) before it ships. A
// paid order is refunded: it ends cancelled with the payment refunded,
// emitting order.cancelled and then order.refunded.
func (s *Service) Cancel(ctx context.Context, actor contracts.Actor, id string) (contracts.Order, error) {
	if _, err := s.load(ctx, actor, id); err != nil {
		return contracts.Order{}, err
	}
	reason := contracts.ReasonCancelledByUser
	if actor.IsAdmin() {
		reason = contracts.ReasonCancelledByAdmin
	}
	cancelled := false
	o, err := s.store.Update(ctx, id, func(o *Order) error {
		cancelled = false
		if !actor.IsAdmin() && actor.ID != o.UserID {
			return contracts.PermissionDenied("only the buyer or an admin may cancel an order")
		}
		if len(o.Shipments) > 0 {
			// Part of it has left: the buyer returns what arrived instead.
			return illegal(o.Status, "cancelled (it has shipped; ask to return its lines)")
		}
		err := s.cancelIn(o, reason)
		cancelled = err == nil
		return err
	})
	if err != nil {
		return contracts.Order{}, err
	}
	if cancelled {
		s.m.cancelled.WithLabelValues(reason).Inc()
		s.log.Info("order cancelled", "order_id", o.ID, "reason", reason, "actor", actor.ID)
	}
	if o.PaymentStatus == contracts.PaymentStatusSucceeded {
		if ro, err := s.refundPayment(ctx, o.ID); err != nil {
			// The cancellation stands; the sweeper finishes the refund.
			s.log.Warn("refund of a cancelled order failed; the sweeper retries", "order_id", o.ID, "err", err)
		} else {
			o = ro
		}
	}
	return s.withAttempts(ctx, o.View(sellerScope(actor, o)))
}

// Refund refunds a paid, partially shipped, shipped or delivered order in
// full (admin only): the order ends refunded, the payment refunded (what
// returns did not refund already), with order.refunded.
func (s *Service) Refund(ctx context.Context, actor contracts.Actor, id string, req contracts.RefundRequest) (contracts.Order, error) {
	if !actor.IsAdmin() {
		if actor.Anonymous() {
			return contracts.Order{}, contracts.Unauthenticated("sign in first")
		}
		return contracts.Order{}, contracts.PermissionDenied("only an admin may refund an order")
	}
	if !isUUID(id) {
		return contracts.Order{}, contracts.NotFound("order")
	}
	if utf8.RuneCountInString(req.Reason) > 500 {
		return contracts.Order{}, contracts.InvalidArgument("reason", "reason must be at most 500 characters")
	}
	o, err := s.store.Update(ctx, id, func(o *Order) error {
		if err := o.move(contracts.OrderStatusRefunded, "refunded", s.now().UTC()); err != nil {
			return err
		}
		o.StatusReason = contracts.ReasonRefundedByAdmin
		return nil // order.refunded is emitted once the money is back
	})
	if err != nil {
		return contracts.Order{}, err
	}
	if ro, err := s.refundPayment(ctx, o.ID); err != nil {
		s.log.Warn("refund failed; the sweeper retries", "order_id", o.ID, "err", err)
	} else {
		o = ro
	}
	return s.withAttempts(ctx, o.View(""))
}
