package order

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
)

// Fulfilment per seller.
//
// Each seller ships their own lines of an order, as one or more shipments
// (carrier, tracking number, the lines it holds); a line ships once. Once
// paid, the order's status follows from its shipments (see follow): paid
// while nothing has left, partially_shipped while some lines have not,
// shipped once every line has, delivered once every shipment is. Each
// shipment and each delivery emits its own order.shipped / order.delivered.
//
// The rules once part of an order has shipped:
//   - the buyer can no longer cancel (an order with any shipment is not
//     cancelled); they ask to return lines that shipped (returns.go);
//   - an admin may still refund the whole order: what returns did not
//     refund already goes back and the order ends refunded. The product
//     service puts no units back for an order that had shipped (even its
//     unshipped lines: a seller adjusts the stock by hand if they come
//     back on the shelf).

// Shipment is one seller's parcel of an order.
type Shipment struct {
	ID             string
	SellerID       string
	Carrier        string
	TrackingNumber string
	Lines          []int
	ShippedAt      time.Time
	DeliveredAt    *time.Time
}

func (sh *Shipment) view() contracts.Shipment {
	status := contracts.ShipmentShipped
	if sh.DeliveredAt != nil {
		status = contracts.ShipmentDelivered
	}
	return contracts.Shipment{
		ID: sh.ID, SellerID: sh.SellerID, Lines: slices.Clone(sh.Lines), Status: status, Carrier: sh.Carrier,
		TrackingNumber: sh.TrackingNumber, ShippedAt: sh.ShippedAt, DeliveredAt: sh.DeliveredAt,
	}
}

// lineNo is the line number of o.Items[i]: checkout stores lines from 1 in
// item order and loadItems reads them back in that order.
func lineNo(i int) int { return i + 1 }

// item returns the line n of o, or nil.
func (o *Order) item(n int) *Item {
	if n < 1 || n > len(o.Items) {
		return nil
	}
	return &o.Items[n-1]
}

// shipmentOf returns the shipment holding line n, or nil.
func (o *Order) shipmentOf(n int) *Shipment {
	for i := range o.Shipments {
		if slices.Contains(o.Shipments[i].Lines, n) {
			return &o.Shipments[i]
		}
	}
	return nil
}

// hasFulfilment reports whether an order in status may have shipments or
// returns (the others are not loaded: the saga's hot path stays as it was).
func hasFulfilment(status string) bool {
	switch status {
	case contracts.OrderStatusPartiallyShipped, contracts.OrderStatusShipped, contracts.OrderStatusDelivered,
		contracts.OrderStatusRefunded:
		return true
	}
	return false
}

// fulfilmentStatus is the status o's shipments give it.
func (o *Order) fulfilmentStatus() string {
	shipped, delivered := 0, 0
	for i := range o.Items {
		if sh := o.shipmentOf(lineNo(i)); sh != nil {
			shipped++
			if sh.DeliveredAt != nil {
				delivered++
			}
		}
	}
	switch {
	case shipped == 0:
		return contracts.OrderStatusPaid
	case shipped < len(o.Items):
		return contracts.OrderStatusPartiallyShipped
	case delivered == len(o.Items):
		return contracts.OrderStatusDelivered
	}
	return contracts.OrderStatusShipped
}

// follow moves o to the status its shipments give it.
func (o *Order) follow(action string, now time.Time) error {
	to := o.fulfilmentStatus()
	if to == o.Status {
		o.UpdatedAt = now
		return nil
	}
	return o.move(to, action, now)
}

// shipmentEventItems are the event items of sh's lines.
func (o *Order) shipmentEventItems(sh *Shipment) []contracts.OrderEventItem {
	all := o.eventItems()
	out := make([]contracts.OrderEventItem, 0, len(sh.Lines))
	for _, n := range sh.Lines {
		if n >= 1 && n <= len(all) {
			out = append(out, all[n-1])
		}
	}
	return out
}

func (o *Order) shippedEvent(sh *Shipment) outEvent {
	return outEvent{contracts.EventOrderShipped, contracts.OrderShipped{
		OrderID: o.ID, OrderNumber: o.number(), UserID: o.UserID, ShipmentID: sh.ID, SellerID: sh.SellerID, Status: o.Status,
		Carrier: sh.Carrier, TrackingNumber: sh.TrackingNumber, Total: o.money(o.Total),
		Items: o.shipmentEventItems(sh), SellerIDs: o.sellerIDs(),
	}}
}

func (o *Order) deliveredEvent(sh *Shipment) outEvent {
	return outEvent{contracts.EventOrderDelivered, contracts.OrderDelivered{
		OrderID: o.ID, OrderNumber: o.number(), UserID: o.UserID, ShipmentID: sh.ID, SellerID: sh.SellerID, Status: o.Status,
		Carrier: sh.Carrier, TrackingNumber: sh.TrackingNumber, Total: o.money(o.Total),
		Items: o.shipmentEventItems(sh), SellerIDs: o.sellerIDs(),
	}}
}

// Ship ships lines of one seller of a paid or partially shipped order as
// one shipment: the caller's (a seller's) lines not shipped yet, or the
// lines named in req. An admin acts for the seller of the named lines, for
// req.SellerID, or for the one seller with lines left to ship.
func (s *Service) Ship(ctx context.Context, actor contracts.Actor, id string, req contracts.ShipRequest) (contracts.Order, error) {
	req.Carrier = strings.TrimSpace(req.Carrier)
	req.TrackingNumber = strings.TrimSpace(req.TrackingNumber)
	switch {
	case req.Carrier == "":
		return contracts.Order{}, contracts.InvalidArgument("carrier", "carrier is required")
	case utf8.RuneCountInString(req.Carrier) > 64:
		return contracts.Order{}, contracts.InvalidArgument("carrier", "carrier must be at most 64 characters")
	case req.TrackingNumber == "":
		return contracts.Order{}, contracts.InvalidArgument("tracking_number", "tracking_number is required")
	case utf8.RuneCountInString(req.TrackingNumber) > 128:
		return contracts.Order{}, contracts.InvalidArgument("tracking_number", "tracking_number must be at most 128 characters")
	case len(req.Lines) > contracts.MaxCartLines:
		return contracts.Order{}, contracts.InvalidArgument("lines", "lines may name at most %d lines", contracts.MaxCartLines)
	case req.SellerID != "" && !actor.IsAdmin() && req.SellerID != actor.ID:
		return contracts.Order{}, contracts.InvalidArgument("seller_id", "seller_id is for admins shipping for a seller; leave it out to ship your own lines")
	}
	for i, n := range req.Lines {
		if n < 1 {
			return contracts.Order{}, contracts.InvalidArgument("lines", "lines are line numbers from 1 (see the order's items)")
		}
		if slices.Contains(req.Lines[:i], n) {
			return contracts.Order{}, contracts.InvalidArgument("lines", "line %d is named twice", n)
		}
	}
	return s.fulfil(ctx, actor, id, func(o *Order) error {
		if o.Status != contracts.OrderStatusPaid && o.Status != contracts.OrderStatusPartiallyShipped {
			return illegal(o.Status, "shipped")
		}
		seller, lines, err := shipmentLines(actor, o, req)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		sh := Shipment{
			ID: uuid.Must(uuid.NewV7()).String(), SellerID: seller, Carrier: req.Carrier, TrackingNumber: req.TrackingNumber,
			Lines: lines, ShippedAt: now,
		}
		o.addShipment(sh)
		if err := o.follow("shipped", now); err != nil {
			return err
		}
		o.record(o.shippedEvent(&sh))
		return nil
	})
}

// shipmentLines decides the seller and the lines of a new shipment of o:
// the lines req names, or the seller's lines left to ship.
func shipmentLines(actor contracts.Actor, o *Order, req contracts.ShipRequest) (string, []int, error) {
	seller := req.SellerID
	if !actor.IsAdmin() {
		seller = actor.ID
	}
	if len(req.Lines) > 0 {
		return namedLines(actor, o, seller, req.Lines)
	}
	if seller == "" { // an admin naming neither lines nor seller
		var left []string
		for i, it := range o.Items {
			if o.shipmentOf(lineNo(i)) == nil && !slices.Contains(left, it.SellerID) {
				left = append(left, it.SellerID)
			}
		}
		if len(left) != 1 {
			return "", nil, contracts.InvalidArgument("seller_id", "several sellers have lines left to ship: name seller_id or lines")
		}
		seller = left[0]
	}
	var lines []int
	owns := false
	for i, it := range o.Items {
		if it.SellerID != seller {
			continue
		}
		owns = true
		if o.shipmentOf(lineNo(i)) == nil {
			lines = append(lines, lineNo(i))
		}
	}
	switch {
	case !owns:
		return "", nil, contracts.InvalidArgument("seller_id", "seller %s has no lines in this order", seller)
	case len(lines) == 0:
		return "", nil, contracts.Errorf(contracts.CodeFailedPrecondition, "order is %s: every line of this seller has shipped already", o.Status).
			WithDetail("status", o.Status)
	}
	return seller, lines, nil
}

// namedLines checks the lines a shipment request names: lines of o, all
// of seller (an admin who named no seller ships the first line's), none
// shipped yet. It returns the seller and the lines sorted.
func namedLines(actor contracts.Actor, o *Order, seller string, named []int) (string, []int, error) {
	lines := slices.Clone(named)
	slices.Sort(lines)
	for _, n := range lines {
		it := o.item(n)
		if it == nil {
			return "", nil, contracts.InvalidArgument("lines", "line %d is not a line of this order (it has %d)", n, len(o.Items))
		}
		if seller == "" {
			seller = it.SellerID // an admin ships the named lines' seller
		}
		if it.SellerID != seller {
			if actor.IsAdmin() {
				return "", nil, contracts.InvalidArgument("lines", "a shipment holds one seller's lines: line %d is another seller's", n)
			}
			return "", nil, contracts.PermissionDenied("line %d of this order is not yours to ship", n)
		}
		if sh := o.shipmentOf(n); sh != nil {
			return "", nil, contracts.Errorf(contracts.CodeFailedPrecondition, "line %d has already shipped (shipment %s)", n, sh.ID).
				WithDetail("shipment_id", sh.ID)
		}
	}
	return seller, lines, nil
}

// Deliver marks shipments of the order delivered: req.ShipmentID, or every
// shipped, undelivered shipment of the caller (an admin: of the order).
func (s *Service) Deliver(ctx context.Context, actor contracts.Actor, id string, req contracts.DeliverRequest) (contracts.Order, error) {
	if req.ShipmentID != "" && !isUUID(req.ShipmentID) {
		return contracts.Order{}, contracts.InvalidArgument("shipment_id", "shipment_id must be the id of one of the order's shipments")
	}
	return s.fulfil(ctx, actor, id, func(o *Order) error {
		if o.Status != contracts.OrderStatusPartiallyShipped && o.Status != contracts.OrderStatusShipped {
			return illegal(o.Status, "delivered")
		}
		todo, err := toDeliver(actor, o, req.ShipmentID)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		for _, sh := range todo {
			o.deliver(sh, now)
		}
		if err := o.follow("delivered", now); err != nil {
			return err
		}
		for _, sh := range todo {
			o.record(o.deliveredEvent(sh))
		}
		return nil
	})
}

// toDeliver picks the shipments of o that Deliver marks delivered:
// shipmentID, or every shipped, undelivered shipment of the caller (an
// admin: of the order).
func toDeliver(actor contracts.Actor, o *Order, shipmentID string) ([]*Shipment, error) {
	var todo []*Shipment
	for i := range o.Shipments {
		sh := &o.Shipments[i]
		if shipmentID != "" && sh.ID != shipmentID {
			continue
		}
		if !actor.IsAdmin() && sh.SellerID != actor.ID {
			if shipmentID != "" {
				return nil, contracts.PermissionDenied("shipment %s is another seller's", sh.ID)
			}
			continue
		}
		if sh.DeliveredAt != nil {
			if shipmentID != "" {
				return nil, contracts.Errorf(contracts.CodeFailedPrecondition, "shipment %s was delivered already", sh.ID).
					WithDetail("shipment_id", sh.ID)
			}
			continue
		}
		todo = append(todo, sh)
	}
	if len(todo) == 0 {
		if shipmentID != "" {
			return nil, contracts.NotFound("shipment")
		}
		return nil, contracts.Errorf(contracts.CodeFailedPrecondition,
			"order is %s: none of your lines of it is shipped and waiting for delivery", o.Status).WithDetail("status", o.Status)
	}
	return todo, nil
}

// fulfil runs a seller's step (ship, deliver) on the order id, locked.
func (s *Service) fulfil(ctx context.Context, actor contracts.Actor, id string, step updateFunc) (contracts.Order, error) {
	if actor.Anonymous() {
		return contracts.Order{}, contracts.Unauthenticated("sign in first")
	}
	if !isUUID(id) {
		return contracts.Order{}, contracts.NotFound("order")
	}
	o, err := s.store.Update(ctx, id, func(o *Order) error {
		if !actor.IsAdmin() && !(actor.Role == contracts.RoleSeller && o.hasSeller(actor.ID)) {
			return contracts.PermissionDenied("only a seller of this order's items or an admin may do this")
		}
		return step(o)
	})
	if err != nil {
		return contracts.Order{}, err
	}
	return o.View(sellerScope(actor, o)), nil
}
