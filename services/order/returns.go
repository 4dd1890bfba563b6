package order

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/services/order/payment"
)

// Return requests.
//
// The buyer asks to return units of lines that have shipped (a reason, the
// lines and quantities, all of one seller: a request goes to the seller who
// decides it). A unit is in at most one request that is not rejected. The
// seller of the lines or an admin approves or rejects it. Approval is two
// durable steps, like cancelling a paid order: the decision (approved, with
// return.approved), then the refund of exactly the lines' price through the
// payment provider, with the idempotency key "return:<id>" (the request
// ends refunded, with order.refunded naming it). Both steps run under the
// order's row lock (the provider call itself under a refund lease on the
// return, see refundReturn); the provider's idempotency is the backstop,
// so a return is never refunded twice. A refund whose outcome is unknown leaves
// the request approved for the sweeper to finish. When every line of the
// order is refunded the order ends refunded (reason returned). An admin's
// full refund of the order returns what approved and refunded returns do
// not, so together they never exceed the charge.

// Return is a return request of some lines of an order.
type Return struct {
	ID         string
	OrderID    string
	UserID     string
	SellerID   string
	Status     string
	Reason     string
	Note       string
	DecidedBy  string
	RefundRef  string
	Amount     int64
	Currency   string
	Lines      []ReturnLine
	CreatedAt  time.Time
	DecidedAt  *time.Time
	RefundedAt *time.Time
}

// ReturnLine is units of one order line in a return request, with the
// line's snapshot.
type ReturnLine struct {
	Line        int
	Quantity    int64
	ProductID   string
	VariantID   string
	Name        string
	VariantName string
	SKU         string
	UnitPrice   int64
}

func (r *Return) money(amount int64) contracts.Money {
	return contracts.Money{Amount: amount, Currency: r.Currency}
}

func (r *Return) view() contracts.ReturnRequest {
	v := contracts.ReturnRequest{
		ID: r.ID, OrderID: r.OrderID, UserID: r.UserID, SellerID: r.SellerID, Status: r.Status, Reason: r.Reason,
		Lines: make([]contracts.ReturnLine, len(r.Lines)), Amount: r.money(r.Amount), Note: r.Note,
		CreatedAt: r.CreatedAt, DecidedAt: r.DecidedAt, RefundedAt: r.RefundedAt,
	}
	for i, l := range r.Lines {
		v.Lines[i] = contracts.ReturnLine{
			Line: l.Line, ProductID: l.ProductID, VariantID: l.VariantID, Name: l.Name, VariantName: l.VariantName, SKU: l.SKU, Quantity: l.Quantity,
			UnitPrice: r.money(l.UnitPrice), Total: r.money(l.UnitPrice * l.Quantity),
		}
	}
	return v
}

func (r *Return) eventItems(sellerID string) []contracts.OrderEventItem {
	out := make([]contracts.OrderEventItem, len(r.Lines))
	for i, l := range r.Lines {
		out[i] = contracts.OrderEventItem{
			ProductID: l.ProductID, VariantID: l.VariantID, Quantity: l.Quantity, Name: l.Name,
			VariantName: l.VariantName, SKU: l.SKU, UnitPrice: r.money(l.UnitPrice), SellerID: sellerID,
		}
	}
	return out
}

func (r *Return) event(typ string) outEvent {
	return outEvent{typ, contracts.ReturnEvent{
		ReturnID: r.ID, OrderID: r.OrderID, UserID: r.UserID, SellerID: r.SellerID, Status: r.Status,
		Reason: r.Reason, Note: r.Note, Amount: r.money(r.Amount), Items: r.eventItems(r.SellerID),
	}}
}

// refundedInFull reports whether the whole payment of o went back.
func (o *Order) refundedInFull() bool { return o.PaymentStatus == contracts.PaymentStatusRefunded }

// returnsRefunded is the money refunded by o's returns.
func (o *Order) returnsRefunded() int64 {
	var sum int64
	for _, r := range o.Returns {
		if r.Status == contracts.ReturnRefunded {
			sum += r.Amount
		}
	}
	return sum
}

// returnsCommitted is the money of o's returns that are refunded or being
// refunded (approved): a full refund of the order returns only the rest.
func (o *Order) returnsCommitted() int64 {
	var sum int64
	for _, r := range o.Returns {
		if r.Status == contracts.ReturnApproved || r.Status == contracts.ReturnRefunded {
			sum += r.Amount
		}
	}
	return sum
}

// refunded is the money returned to the buyer so far.
func (o *Order) refunded() int64 {
	if o.refundedInFull() {
		return o.Total
	}
	return o.returnsRefunded()
}

// refundedOf is refunded, of the lines of seller only.
func (o *Order) refundedOf(seller string) int64 {
	var sum int64
	for i, it := range o.Items {
		if it.SellerID == seller {
			sum += o.refundedQuantity(lineNo(i)) * it.UnitPrice
		}
	}
	return sum
}

// refundedQuantity is the units of line n refunded (all of them once the
// whole payment went back).
func (o *Order) refundedQuantity(n int) int64 {
	it := o.item(n)
	if it == nil {
		return 0
	}
	if o.refundedInFull() {
		return it.Quantity
	}
	return o.returnedQuantity(n, contracts.ReturnRefunded)
}

// returnedQuantity is the units of line n in o's returns of the given
// statuses (every status but rejected when none is given).
func (o *Order) returnedQuantity(n int, statuses ...string) int64 {
	var q int64
	for _, r := range o.Returns {
		if len(statuses) == 0 && r.Status == contracts.ReturnRejected || len(statuses) > 0 && !slices.Contains(statuses, r.Status) {
			continue
		}
		for _, l := range r.Lines {
			if l.Line == n {
				q += l.Quantity
			}
		}
	}
	return q
}

// allRefunded reports whether every unit of o was refunded by returns.
func (o *Order) allRefunded() bool {
	for i, it := range o.Items {
		if o.returnedQuantity(lineNo(i), contracts.ReturnRefunded) < it.Quantity {
			return false
		}
	}
	return true
}

func (o *Order) findReturn(id string) *Return {
	for i := range o.Returns {
		if o.Returns[i].ID == id {
			return &o.Returns[i]
		}
	}
	return nil
}

// maxReturnReason bounds a return's reason and a decision's note.
const maxReturnReason = 500

// CreateReturn asks, as the buyer of the order orderID, to return lines
// that have shipped.
func (s *Service) CreateReturn(ctx context.Context, actor contracts.Actor, orderID string, in contracts.ReturnInput) (contracts.ReturnRequest, error) {
	if actor.Anonymous() {
		return contracts.ReturnRequest{}, contracts.Unauthenticated("sign in to return items")
	}
	in.Reason = strings.TrimSpace(in.Reason)
	switch {
	case in.Reason == "":
		return contracts.ReturnRequest{}, contracts.InvalidArgument("reason", "reason is required: say why you return the items")
	case utf8.RuneCountInString(in.Reason) > maxReturnReason:
		return contracts.ReturnRequest{}, contracts.InvalidArgument("reason", "reason must be at most %d characters", maxReturnReason)
	case len(in.Lines) == 0:
		return contracts.ReturnRequest{}, contracts.InvalidArgument("lines", "lines is required: name each line to return and how many units")
	case len(in.Lines) > contracts.MaxCartLines:
		return contracts.ReturnRequest{}, contracts.InvalidArgument("lines", "lines may name at most %d lines", contracts.MaxCartLines)
	}
	lines := slices.Clone(in.Lines)
	slices.SortFunc(lines, func(a, b contracts.ReturnLineInput) int { return a.Line - b.Line })
	for i, l := range lines {
		switch {
		case l.Line < 1:
			return contracts.ReturnRequest{}, contracts.InvalidArgument("lines", "lines[].line is a line number from 1 (see the order's items)")
		case l.Quantity < 1 || l.Quantity > contracts.MaxLineQuantity:
			return contracts.ReturnRequest{}, contracts.InvalidArgument("lines", "line %d: quantity must be 1..%d", l.Line, contracts.MaxLineQuantity)
		case i > 0 && lines[i-1].Line == l.Line:
			return contracts.ReturnRequest{}, contracts.InvalidArgument("lines", "line %d is named twice", l.Line)
		}
	}
	if !isUUID(orderID) {
		return contracts.ReturnRequest{}, contracts.NotFound("order")
	}
	var created contracts.ReturnRequest
	_, err := s.store.Update(ctx, orderID, func(o *Order) error {
		if o.UserID != actor.ID {
			if visible(actor, o) {
				return contracts.PermissionDenied("only the buyer of an order may ask to return its items")
			}
			return contracts.NotFound("order")
		}
		switch o.Status {
		case contracts.OrderStatusPartiallyShipped, contracts.OrderStatusShipped, contracts.OrderStatusDelivered:
		default:
			return contracts.Errorf(contracts.CodeFailedPrecondition,
				"order is %s: only items that have shipped can be returned", o.Status).WithDetail("status", o.Status)
		}
		r, err := newReturn(o, in.Reason, lines, s.now().UTC())
		if err != nil {
			return err
		}
		o.addReturn(r)
		created = r.view()
		o.record(r.event(contracts.EventReturnRequested))
		return nil
	})
	if err != nil {
		return contracts.ReturnRequest{}, err
	}
	s.log.Info("return requested", "order_id", orderID, "return_id", created.ID, "amount", created.Amount.Amount)
	return created, nil
}

// newReturn builds the return request of lines (sorted, checked for shape)
// of o, or says why they cannot be returned.
func newReturn(o *Order, reason string, lines []contracts.ReturnLineInput, now time.Time) (Return, error) {
	r := Return{
		ID: uuid.Must(uuid.NewV7()).String(), OrderID: o.ID, UserID: o.UserID, Status: contracts.ReturnRequested,
		Reason: reason, Currency: o.Currency, CreatedAt: now,
	}
	for _, l := range lines {
		it := o.item(l.Line)
		switch {
		case it == nil:
			return r, contracts.InvalidArgument("lines", "line %d is not a line of this order (it has %d)", l.Line, len(o.Items))
		case o.shipmentOf(l.Line) == nil:
			return r, contracts.Errorf(contracts.CodeFailedPrecondition,
				"line %d has not shipped yet: only items that have shipped can be returned", l.Line).WithDetail("line", fmt.Sprint(l.Line))
		case r.SellerID != "" && it.SellerID != r.SellerID:
			return r, contracts.InvalidArgument("lines",
				"line %d is sold by another seller than line %d: ask for one return per seller", l.Line, r.Lines[0].Line)
		}
		r.SellerID = it.SellerID
		if left := it.Quantity - o.returnedQuantity(l.Line); l.Quantity > left {
			return r, contracts.Errorf(contracts.CodeFailedPrecondition,
				"line %d: %d of its %d units can still be returned (the others are in earlier return requests)",
				l.Line, left, it.Quantity).WithDetail("line", fmt.Sprint(l.Line))
		}
		r.Lines = append(r.Lines, ReturnLine{
			Line: l.Line, Quantity: l.Quantity, ProductID: it.ProductID, VariantID: it.VariantID, Name: it.Name,
			VariantName: it.VariantName, SKU: it.SKU, UnitPrice: it.UnitPrice,
		})
		r.Amount += it.UnitPrice * l.Quantity
	}
	return r, nil
}

// DecideReturn approves (approve) or rejects the return request id as the
// seller of its lines or an admin. Deciding again the same way answers the
// request as it is; the other way is failed_precondition. An approval
// refunds the lines' amount (see refundReturn); if the provider does not
// answer, the request stays approved and the sweeper finishes the refund.
func (s *Service) DecideReturn(ctx context.Context, actor contracts.Actor, id string, approve bool, dec contracts.ReturnDecision) (contracts.ReturnRequest, error) {
	switch {
	case actor.Anonymous():
		return contracts.ReturnRequest{}, contracts.Unauthenticated("sign in first")
	case !actor.IsAdmin() && actor.Role != contracts.RoleSeller:
		return contracts.ReturnRequest{}, contracts.PermissionDenied("only the seller of the items or an admin decides a return")
	}
	dec.Note = strings.TrimSpace(dec.Note)
	if utf8.RuneCountInString(dec.Note) > maxReturnReason {
		return contracts.ReturnRequest{}, contracts.InvalidArgument("note", "note must be at most %d characters", maxReturnReason)
	}
	if !isUUID(id) {
		return contracts.ReturnRequest{}, contracts.NotFound("return request")
	}
	orderID, err := s.store.ReturnOrder(ctx, id)
	if err != nil {
		return contracts.ReturnRequest{}, err
	}
	refund := false
	o, err := s.store.Update(ctx, orderID, func(o *Order) error {
		r := o.findReturn(id)
		if r == nil || !actor.IsAdmin() && r.SellerID != actor.ID {
			return contracts.NotFound("return request")
		}
		var err error
		refund, err = decide(o, r, approve)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		r.Note, r.DecidedBy, r.DecidedAt = dec.Note, actor.ID, &now
		o.returnChanged(r.ID)
		typ := contracts.EventReturnRejected
		if approve {
			typ = contracts.EventReturnApproved
		}
		o.record(r.event(typ))
		return nil
	})
	if err != nil {
		return contracts.ReturnRequest{}, err
	}
	if refund {
		if ro, err := s.refundReturn(ctx, orderID, id); err != nil {
			s.log.Warn("refund of an approved return failed; the sweeper retries", "order_id", orderID, "return_id", id, "err", err)
		} else if ro != nil {
			o = ro
		}
	}
	r := o.findReturn(id)
	if r == nil {
		return contracts.ReturnRequest{}, contracts.NotFound("return request")
	}
	return r.view(), nil
}

// decide moves the return request r of o to approved (approve) or
// rejected. refund says whether an approved return's refund is to be
// made (or finished); errNoChange when r already is as decided.
func decide(o *Order, r *Return, approve bool) (refund bool, err error) {
	if !approve {
		switch r.Status {
		case contracts.ReturnRejected:
			return false, errNoChange
		case contracts.ReturnApproved, contracts.ReturnRefunded:
			return false, returnIllegal(r.Status, "rejected")
		}
		r.Status = contracts.ReturnRejected
		return false, nil
	}
	switch r.Status {
	case contracts.ReturnApproved:
		return true, errNoChange
	case contracts.ReturnRefunded:
		return false, errNoChange
	case contracts.ReturnRejected:
		return false, returnIllegal(r.Status, "approved")
	}
	if o.refundedInFull() {
		return false, contracts.Errorf(contracts.CodeFailedPrecondition,
			"order is %s: its payment was refunded in full already", o.Status).WithDetail("status", o.Status)
	}
	r.Status = contracts.ReturnApproved
	return true, nil
}

func returnIllegal(status, action string) error {
	return contracts.Errorf(contracts.CodeFailedPrecondition, "return request is %s: it cannot be %s", status, action).
		WithDetail("status", status)
}

// refundReturn refunds an approved return of orderID through the provider
// (idempotently per return), marks it refunded and emits order.refunded
// with its lines; the order ends refunded when every line is.
//
// The provider is called outside the order's row lock, by whoever claims
// the return's refund lease (an atomic update): concurrent approvals and
// the sweeper neither queue on the lock while holding a database
// connection nor call the provider twice at once, and the provider's
// idempotency key makes a retry after a crash return the first refund. A
// failed call leaves the return approved with the lease running until
// ChargeRetryAfter, for the sweeper. It returns the order as it is after
// (nil, nil when another caller holds the lease).
func (s *Service) refundReturn(ctx context.Context, orderID, returnID string) (*Order, error) {
	claim, ok, err := s.store.ClaimReturnRefund(ctx, returnID, s.cfg.ChargeLease)
	if err != nil || !ok {
		return nil, err // !ok: refunded already, or being refunded by another caller
	}
	var rf payment.Refund
	if claim.ChargeRef == "" {
		err = fmt.Errorf("order %s has no charge to refund", orderID)
	} else {
		rf, err = s.provider.Refund(ctx, "return:"+returnID, claim.ChargeRef, claim.Amount)
	}
	if err != nil {
		if lerr := s.store.ReleaseReturnRefund(context.WithoutCancel(ctx), returnID, s.cfg.ChargeRetryAfter); lerr != nil {
			s.log.Error("release refund lease", "return_id", returnID, "err", lerr)
		}
		return nil, fmt.Errorf("refund return %s: %w", returnID, err)
	}
	return s.store.Update(ctx, orderID, func(o *Order) error {
		return s.returnRefunded(o, returnID, claim.Amount, rf)
	})
}

// returnRefunded records on o (locked) the refund rf of amount for its
// return returnID: the attempt, the return refunded, order.refunded, and
// the order refunded once every line is.
func (s *Service) returnRefunded(o *Order, returnID string, amount contracts.Money, rf payment.Refund) error {
	r := o.findReturn(returnID)
	if r == nil || r.Status != contracts.ReturnApproved {
		return errNoChange // a twin call recorded it (the same refund)
	}
	now := s.now().UTC()
	o.recordAttempt(attempt{
		Kind: "refund", Status: "succeeded", Amount: amount.Amount, Currency: amount.Currency, ProviderRef: rf.Ref,
	})
	r.Status, r.RefundRef, r.RefundedAt = contracts.ReturnRefunded, rf.Ref, &now
	o.returnChanged(r.ID)
	o.UpdatedAt = now
	if o.Status != contracts.OrderStatusRefunded && o.allRefunded() {
		if err := o.move(contracts.OrderStatusRefunded, "refunded", now); err != nil {
			return err
		}
		o.StatusReason, o.PaymentStatus = contracts.ReasonReturned, contracts.PaymentStatusRefunded
	}
	o.record(outEvent{contracts.EventOrderRefunded, contracts.OrderRefunded{
		OrderID: o.ID, OrderNumber: o.number(), UserID: o.UserID, ReturnID: r.ID, Amount: amount, Reason: contracts.ReasonReturned,
		Status: o.Status, Shipped: true, Items: r.eventItems(r.SellerID), SellerIDs: []string{r.SellerID},
	}})
	return nil
}

// sweepReturns finishes the refunds of approved returns whose refund lease
// is free or expired (a crash or a provider outage after the approval).
func (s *Service) sweepReturns(ctx context.Context, limit int) {
	todo, err := s.store.ReturnsToRefund(ctx, limit)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("sweep: approved returns", "err", err)
		}
		return
	}
	for _, p := range todo {
		if ctx.Err() != nil {
			return
		}
		if _, err := s.refundReturn(ctx, p.OrderID, p.ID); err != nil {
			s.log.Warn("sweep: refund of an approved return", "return_id", p.ID, "err", err)
		}
	}
}

// GetReturn returns the return request id to its buyer, the seller of its
// lines or an admin (anyone else: not_found).
func (s *Service) GetReturn(ctx context.Context, actor contracts.Actor, id string) (contracts.ReturnRequest, error) {
	if actor.Anonymous() {
		return contracts.ReturnRequest{}, contracts.Unauthenticated("sign in first")
	}
	if !isUUID(id) {
		return contracts.ReturnRequest{}, contracts.NotFound("return request")
	}
	r, err := s.store.GetReturn(ctx, id)
	if err != nil {
		return contracts.ReturnRequest{}, err
	}
	if !actor.IsAdmin() && !actor.IsService() && actor.ID != r.UserID && actor.ID != r.SellerID {
		return contracts.ReturnRequest{}, contracts.NotFound("return request")
	}
	return r.view(), nil
}

// returnStatuses are the statuses a list of returns may be filtered by.
var returnStatuses = []string{contracts.ReturnRequested, contracts.ReturnApproved, contracts.ReturnRejected, contracts.ReturnRefunded}

// SellerReturns lists the return requests of the seller's lines, newest
// first; an admin sees every one (or one seller's, when f.SellerID is set:
// the seller parameter, see parseReturnList).
func (s *Service) SellerReturns(ctx context.Context, actor contracts.Actor, f returnFilter) (contracts.List[contracts.ReturnRequest], error) {
	var out contracts.List[contracts.ReturnRequest]
	switch {
	case actor.IsAdmin() || actor.IsService():
	case actor.Role == contracts.RoleSeller && actor.ID != "":
		f.SellerID = actor.ID
	case actor.Anonymous():
		return out, contracts.Unauthenticated("sign in to see return requests")
	default:
		return out, contracts.PermissionDenied("only sellers and admins see return requests")
	}
	rs, next, err := s.store.ListReturns(ctx, f)
	if err != nil {
		return out, err
	}
	out.NextCursor = next
	out.Items = make([]contracts.ReturnRequest, len(rs))
	for i, r := range rs {
		out.Items[i] = r.view()
	}
	return out, nil
}
