package order

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

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
	_, err := s.store.Update(ctx, orderID, func(tx pgx.Tx, o *Order) ([]outEvent, error) {
		if o.UserID != actor.ID {
			if visible(actor, o) {
				return nil, contracts.PermissionDenied("only the buyer of an order may ask to return its items")
			}
			return nil, contracts.NotFound("order")
		}
		switch o.Status {
		case contracts.OrderStatusPartiallyShipped, contracts.OrderStatusShipped, contracts.OrderStatusDelivered:
		default:
			return nil, contracts.Errorf(contracts.CodeFailedPrecondition,
				"order is %s: only items that have shipped can be returned", o.Status).WithDetail("status", o.Status)
		}
		now := s.now().UTC()
		r := Return{
			ID: uuid.Must(uuid.NewV7()).String(), OrderID: o.ID, UserID: o.UserID, Status: contracts.ReturnRequested,
			Reason: in.Reason, Currency: o.Currency, CreatedAt: now,
		}
		for _, l := range lines {
			it := o.item(l.Line)
			switch {
			case it == nil:
				return nil, contracts.InvalidArgument("lines", "line %d is not a line of this order (it has %d)", l.Line, len(o.Items))
			case o.shipmentOf(l.Line) == nil:
				return nil, contracts.Errorf(contracts.CodeFailedPrecondition,
					"line %d has not shipped yet: only items that have shipped can be returned", l.Line).WithDetail("line", fmt.Sprint(l.Line))
			case r.SellerID != "" && it.SellerID != r.SellerID:
				return nil, contracts.InvalidArgument("lines",
					"line %d is sold by another seller than line %d: ask for one return per seller", l.Line, r.Lines[0].Line)
			}
			r.SellerID = it.SellerID
			if left := it.Quantity - o.returnedQuantity(l.Line); l.Quantity > left {
				return nil, contracts.Errorf(contracts.CodeFailedPrecondition,
					"line %d: %d of its %d units can still be returned (the others are in earlier return requests)",
					l.Line, left, it.Quantity).WithDetail("line", fmt.Sprint(l.Line))
			}
			r.Lines = append(r.Lines, ReturnLine{
				Line: l.Line, Quantity: l.Quantity, ProductID: it.ProductID, VariantID: it.VariantID, Name: it.Name,
				VariantName: it.VariantName, SKU: it.SKU, UnitPrice: it.UnitPrice,
			})
			r.Amount += it.UnitPrice * l.Quantity
		}
		if err := insertReturn(ctx, tx, &r); err != nil {
			return nil, err
		}
		o.Returns = append(o.Returns, r)
		created = r.view()
		return []outEvent{r.event(contracts.EventReturnRequested)}, nil
	})
	if err != nil {
		return contracts.ReturnRequest{}, err
	}
	s.log.Info("return requested", "order_id", orderID, "return_id", created.ID, "amount", created.Amount.Amount)
	return created, nil
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
	o, err := s.store.Update(ctx, orderID, func(tx pgx.Tx, o *Order) ([]outEvent, error) {
		refund = false
		r := o.findReturn(id)
		if r == nil || !actor.IsAdmin() && r.SellerID != actor.ID {
			return nil, contracts.NotFound("return request")
		}
		typ := contracts.EventReturnRejected
		if approve {
			switch r.Status {
			case contracts.ReturnApproved:
				refund = true
				return nil, errNoChange
			case contracts.ReturnRefunded:
				return nil, errNoChange
			case contracts.ReturnRejected:
				return nil, returnIllegal(r.Status, "approved")
			}
			if o.refundedInFull() {
				return nil, contracts.Errorf(contracts.CodeFailedPrecondition,
					"order is %s: its payment was refunded in full already", o.Status).WithDetail("status", o.Status)
			}
			r.Status, typ, refund = contracts.ReturnApproved, contracts.EventReturnApproved, true
		} else {
			switch r.Status {
			case contracts.ReturnRejected:
				return nil, errNoChange
			case contracts.ReturnApproved, contracts.ReturnRefunded:
				return nil, returnIllegal(r.Status, "rejected")
			}
			r.Status = contracts.ReturnRejected
		}
		now := s.now().UTC()
		r.Note, r.DecidedBy, r.DecidedAt = dec.Note, actor.ID, &now
		if _, err := tx.Exec(ctx, `UPDATE return_requests SET status = $2, note = $3, decided_by = $4, decided_at = $5 WHERE id = $1`,
			r.ID, r.Status, r.Note, r.DecidedBy, r.DecidedAt); err != nil {
			return nil, fmt.Errorf("save return %s: %w", r.ID, err)
		}
		return []outEvent{r.event(typ)}, nil
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
	var chargeRef, currency string
	var amount int64
	err := s.store.pool.QueryRow(ctx, `UPDATE return_requests r SET refund_lease = now() + $2 * interval '1 microsecond'
		FROM orders o WHERE r.id = $1 AND o.id = r.order_id AND r.status = 'approved'
			AND (r.refund_lease IS NULL OR r.refund_lease < now())
		RETURNING o.charge_ref, r.amount, r.currency`, returnID, s.cfg.ChargeLease.Microseconds()).Scan(&chargeRef, &amount, &currency)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil // refunded already, or being refunded by another caller
	}
	if err != nil {
		return nil, fmt.Errorf("claim refund of return %s: %w", returnID, err)
	}
	money := contracts.Money{Amount: amount, Currency: currency}
	var rf payment.Refund
	if chargeRef == "" {
		err = fmt.Errorf("order %s has no charge to refund", orderID)
	} else {
		rf, err = s.provider.Refund(ctx, "return:"+returnID, chargeRef, money)
	}
	if err != nil {
		bg := context.WithoutCancel(ctx)
		if _, lerr := s.store.pool.Exec(bg, `UPDATE return_requests SET refund_lease = now() + $2 * interval '1 microsecond'
			WHERE id = $1 AND status = 'approved'`, returnID, s.cfg.ChargeRetryAfter.Microseconds()); lerr != nil {
			s.log.Error("release refund lease", "return_id", returnID, "err", lerr)
		}
		return nil, fmt.Errorf("refund return %s: %w", returnID, err)
	}
	return s.store.Update(ctx, orderID, func(tx pgx.Tx, o *Order) ([]outEvent, error) {
		r := o.findReturn(returnID)
		if r == nil || r.Status != contracts.ReturnApproved {
			return nil, errNoChange // a twin call recorded it (the same refund)
		}
		now := s.now().UTC()
		if err := recordAttempt(ctx, tx, o.ID, attempt{
			Kind: "refund", Status: "succeeded", Amount: money.Amount, Currency: money.Currency, ProviderRef: rf.Ref,
		}); err != nil {
			return nil, err
		}
		r.Status, r.RefundRef, r.RefundedAt = contracts.ReturnRefunded, rf.Ref, &now
		if _, err := tx.Exec(ctx, `UPDATE return_requests SET status = $2, refund_ref = $3, refunded_at = $4, refund_lease = NULL
			WHERE id = $1`, r.ID, r.Status, r.RefundRef, r.RefundedAt); err != nil {
			return nil, fmt.Errorf("save return %s: %w", r.ID, err)
		}
		o.UpdatedAt = now
		if o.Status != contracts.OrderStatusRefunded && o.allRefunded() {
			if err := o.move(contracts.OrderStatusRefunded, "refunded", now); err != nil {
				return nil, err
			}
			o.StatusReason, o.PaymentStatus = contracts.ReasonReturned, contracts.PaymentStatusRefunded
		}
		return []outEvent{{contracts.EventOrderRefunded, contracts.OrderRefunded{
			OrderID: o.ID, OrderNumber: o.number(), UserID: o.UserID, ReturnID: r.ID, Amount: money, Reason: contracts.ReasonReturned,
			Status: o.Status, Shipped: true, Items: r.eventItems(r.SellerID), SellerIDs: []string{r.SellerID},
		}}}, nil
	})
}

// sweepReturns finishes the refunds of approved returns whose refund lease
// is free or expired (a crash or a provider outage after the approval).
func (s *Service) sweepReturns(ctx context.Context, limit int) {
	rows, err := s.store.pool.Query(ctx, `SELECT id::text, order_id::text FROM return_requests
		WHERE status = 'approved' AND (refund_lease IS NULL OR refund_lease < now()) ORDER BY decided_at LIMIT $1`, limit)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("sweep: approved returns", "err", err)
		}
		return
	}
	type pair struct{ id, orderID string }
	todo, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pair, error) {
		var p pair
		return p, r.Scan(&p.id, &p.orderID)
	})
	if err != nil {
		s.log.Error("sweep: approved returns", "err", err)
		return
	}
	for _, p := range todo {
		if ctx.Err() != nil {
			return
		}
		if _, err := s.refundReturn(ctx, p.orderID, p.id); err != nil {
			s.log.Warn("sweep: refund of an approved return", "return_id", p.id, "err", err)
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
	rs, err := queryReturns(ctx, s.store.pool, `r.id = $1`, id)
	if err != nil {
		return contracts.ReturnRequest{}, err
	}
	if len(rs) == 0 {
		return contracts.ReturnRequest{}, contracts.NotFound("return request")
	}
	r := rs[0]
	if !actor.IsAdmin() && !actor.IsService() && actor.ID != r.UserID && actor.ID != r.SellerID {
		return contracts.ReturnRequest{}, contracts.NotFound("return request")
	}
	return r.view(), nil
}

// returnStatuses are the statuses a list of returns may be filtered by.
var returnStatuses = []string{contracts.ReturnRequested, contracts.ReturnApproved, contracts.ReturnRejected, contracts.ReturnRefunded}

// SellerReturns lists the return requests of the seller's lines, newest
// first; an admin sees every one (or one seller's, with the seller
// parameter).
func (s *Service) SellerReturns(ctx context.Context, actor contracts.Actor, p contracts.Params) (contracts.List[contracts.ReturnRequest], error) {
	var out contracts.List[contracts.ReturnRequest]
	seller := ""
	switch {
	case actor.IsAdmin() || actor.IsService():
		seller = p.Get("seller")
	case actor.Role == contracts.RoleSeller && actor.ID != "":
		seller = actor.ID
	case actor.Anonymous():
		return out, contracts.Unauthenticated("sign in to see return requests")
	default:
		return out, contracts.PermissionDenied("only sellers and admins see return requests")
	}
	pg, err := contracts.PageOf(p)
	if err != nil {
		return out, err
	}
	args := []any{pg.Limit + 1}
	where := "TRUE"
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if seller != "" {
		where += " AND r.seller_id = " + arg(seller)
	}
	if v := p.Get("status"); v != "" {
		if !slices.Contains(returnStatuses, v) {
			return out, contracts.InvalidArgument("status", "status must be one of %s", strings.Join(returnStatuses, ", "))
		}
		where += " AND r.status = " + arg(v)
	}
	if v := p.Get("cursor"); v != "" {
		if !isUUID(v) {
			return out, contracts.InvalidArgument("cursor", "cursor is not valid; pass next_cursor from a previous page")
		}
		where += " AND r.id < " + arg(v) + "::uuid"
	}
	rs, err := queryReturns(ctx, s.store.pool, where+" ORDER BY r.id DESC LIMIT $1", args...)
	if err != nil {
		return out, err
	}
	if len(rs) > pg.Limit {
		rs = rs[:pg.Limit]
		out.NextCursor = rs[len(rs)-1].ID
	}
	out.Items = make([]contracts.ReturnRequest, len(rs))
	for i, r := range rs {
		out.Items[i] = r.view()
	}
	return out, nil
}

// ReturnOrder returns the order of the return request id, or not_found.
func (s *store) ReturnOrder(ctx context.Context, id string) (string, error) {
	var orderID string
	err := s.pool.QueryRow(ctx, `SELECT order_id::text FROM return_requests WHERE id = $1`, id).Scan(&orderID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", contracts.NotFound("return request")
	}
	if err != nil {
		return "", fmt.Errorf("load return %s: %w", id, err)
	}
	return orderID, nil
}

// insertReturn stores a new return request and its lines.
func insertReturn(ctx context.Context, tx pgx.Tx, r *Return) error {
	if _, err := tx.Exec(ctx, `INSERT INTO return_requests (id, order_id, user_id, seller_id, status, reason, amount, currency, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		r.ID, r.OrderID, r.UserID, r.SellerID, r.Status, r.Reason, r.Amount, r.Currency, r.CreatedAt); err != nil {
		return fmt.Errorf("insert return: %w", err)
	}
	lines := make([]int32, len(r.Lines))
	qty := make([]int64, len(r.Lines))
	for i, l := range r.Lines {
		lines[i], qty[i] = int32(l.Line), l.Quantity
	}
	if _, err := tx.Exec(ctx, `INSERT INTO return_lines (return_id, order_id, line, quantity)
		SELECT $1, $2, unnest($3::int[]), unnest($4::bigint[])`, r.ID, r.OrderID, lines, qty); err != nil {
		return fmt.Errorf("insert return lines: %w", err)
	}
	return nil
}

// queryReturns loads the return requests matching where (a condition on
// r, possibly followed by ORDER BY / LIMIT) with their lines.
func queryReturns(ctx context.Context, q queryer, where string, args ...any) ([]*Return, error) {
	rows, err := q.Query(ctx, `SELECT r.id, r.order_id, r.user_id, r.seller_id, r.status, r.reason, r.amount, r.currency,
		r.note, r.decided_by, r.refund_ref, r.created_at, r.decided_at, r.refunded_at FROM return_requests r WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("load returns: %w", err)
	}
	rs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*Return, error) {
		var r Return
		err := row.Scan(&r.ID, &r.OrderID, &r.UserID, &r.SellerID, &r.Status, &r.Reason, &r.Amount, &r.Currency,
			&r.Note, &r.DecidedBy, &r.RefundRef, &r.CreatedAt, &r.DecidedAt, &r.RefundedAt)
		return &r, err
	})
	if err != nil {
		return nil, fmt.Errorf("load returns: %w", err)
	}
	if len(rs) == 0 {
		return nil, nil
	}
	byID := make(map[string]*Return, len(rs))
	ids := make([]string, len(rs))
	for i, r := range rs {
		byID[r.ID], ids[i] = r, r.ID
	}
	lrows, err := q.Query(ctx, `SELECT l.return_id, l.line, l.quantity, i.product_id, coalesce(i.variant_id::text, ''), i.name, i.variant_name, i.sku, i.unit_price
		FROM return_lines l JOIN order_items i ON i.order_id = l.order_id AND i.line = l.line
		WHERE l.return_id = ANY($1::uuid[]) ORDER BY l.return_id, l.line`, ids)
	if err != nil {
		return nil, fmt.Errorf("load return lines: %w", err)
	}
	defer lrows.Close()
	for lrows.Next() {
		var id string
		var l ReturnLine
		if err := lrows.Scan(&id, &l.Line, &l.Quantity, &l.ProductID, &l.VariantID, &l.Name, &l.VariantName, &l.SKU, &l.UnitPrice); err != nil {
			return nil, fmt.Errorf("load return lines: %w", err)
		}
		if r := byID[id]; r != nil {
			r.Lines = append(r.Lines, l)
		}
	}
	if err := lrows.Err(); err != nil {
		return nil, fmt.Errorf("load return lines: %w", err)
	}
	return rs, nil
}
