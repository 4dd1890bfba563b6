package edge

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/natsx"
)

// Purge removes the cached replies of one product (its GET /products/{id}
// entries) and invalidates every catalogue route that lists products
// (lists, featured, slugs, categories with counts). Safe for concurrent use.
// An empty productID invalidates the catalogue routes only.
func (g *Gateway) Purge(productID string) {
	if productID == "" {
		g.purgeProducts()
		return
	}
	g.purgeProducts(productID)
}

// purgeProducts removes the cached replies of every product of ids in one
// scan of the cache, then invalidates each catalogue route group once,
// however many products an event names.
func (g *Gateway) purgeProducts(ids ...string) {
	if g.cache == nil {
		return
	}
	if len(ids) > 0 {
		g.cache.PurgeTags(ids...)
	}
	for _, rt := range g.routes {
		if rt.cacheable && rt.Cache.PurgeOnProductEvent {
			g.cache.PurgeGroup(rt.index)
		}
	}
}

// PurgeAll invalidates the whole cache.
func (g *Gateway) PurgeAll() {
	if g.cache != nil {
		g.cache.PurgeAll()
	}
}

// productRefs is the part of product and inventory event payloads that
// names products (contracts.ProductChanged, the inventory events' items).
type productRefs struct {
	ProductID string `json:"product_id"`
	Items     []struct {
		ProductID string `json:"product_id"`
	} `json:"items"`
}

// ids returns the product ids refs names, empty ones left out.
func (r *productRefs) ids() []string {
	ids := make([]string, 0, 1+len(r.Items))
	if r.ProductID != "" {
		ids = append(ids, r.ProductID)
	}
	for _, it := range r.Items {
		if it.ProductID != "" {
			ids = append(ids, it.ProductID)
		}
	}
	return ids
}

// purgeEvent is a contracts.Event as it travels on NATS, with its data
// decoded in the same pass as the envelope.
type purgeEvent struct {
	ID   string      `json:"id"`
	Type string      `json:"type"`
	Data productRefs `json:"data"`
}

// HandleProductEvent is a bus.EventHandler for product.* (and inventory.*)
// events: it purges the cached replies of the products the event names. An
// event it cannot read purges everything rather than fail: a dropped purge
// would serve stale data, a redelivery would not help.
func (g *Gateway) HandleProductEvent(_ context.Context, ev contracts.Event) error {
	if !isCatalogueEvent(ev.Type) {
		return nil
	}
	var refs productRefs
	if ev.Type != contracts.EventCategoriesChanged {
		if err := json.Unmarshal(ev.Data, &refs); err != nil {
			g.log.Warn("unreadable product event; purging the whole cache", "type", ev.Type, "id", ev.ID, "err", err)
			g.PurgeAll()
			return nil
		}
	}
	g.purgeEvent(ev.ID, ev.Type, &refs)
	return nil
}

// handlePurgeMessage purges for one event mirrored to NATS: the message is
// decoded once, envelope and data together. A message it cannot read
// purges everything.
func (g *Gateway) handlePurgeMessage(data []byte) {
	var ev purgeEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		g.log.Warn("unreadable product event on NATS; purging the whole cache", "err", err)
		g.PurgeAll()
		return
	}
	if !isCatalogueEvent(ev.Type) {
		return
	}
	g.purgeEvent(ev.ID, ev.Type, &ev.Data)
}

// purgeEvent purges for a decoded catalogue event: the products it names
// and the catalogue route groups, each group once.
func (g *Gateway) purgeEvent(id, typ string, refs *productRefs) {
	if typ == contracts.EventCategoriesChanged {
		// No product changed; the catalogue routes (the tree among them)
		// are invalidated.
		g.purgeProducts()
		return
	}
	ids := refs.ids()
	if len(ids) == 0 {
		g.log.Warn("product event without product ids; purging the whole cache", "type", typ, "id", id)
		g.PurgeAll()
		return
	}
	g.purgeProducts(ids...)
}

func isCatalogueEvent(typ string) bool {
	return strings.HasPrefix(typ, "product.") || strings.HasPrefix(typ, "inventory.")
}

// purgeAggregates are the event aggregates whose events change what the
// catalogue cache holds.
var purgeAggregates = []string{"product", "inventory"}

// PurgeSubscription is the gateway's subscription to the catalogue events
// mirrored to NATS (see SubscribePurges). Stop is safe to call more than
// once.
type PurgeSubscription struct {
	subs []*nats.Subscription
}

// SubscribePurges keeps the gateway's catalogue cache fresh: product and
// inventory events, mirrored from RabbitMQ to NATS (subjects of scheme),
// reach every gateway instance (a plain subscription each, not a shared
// queue) and purge the products they name. The handlers run on nc's
// dispatch goroutines; the caller stops the subscription before closing
// nc.
func (g *Gateway) SubscribePurges(nc *nats.Conn, scheme natsx.Scheme) (*PurgeSubscription, error) {
	ps := &PurgeSubscription{}
	for _, agg := range purgeAggregates {
		subj, err := scheme.EventSubject(agg)
		if err != nil {
			ps.Stop()
			return nil, err
		}
		sub, err := nc.Subscribe(subj+".>", func(msg *nats.Msg) { g.handlePurgeMessage(msg.Data) })
		if err != nil {
			ps.Stop()
			return nil, fmt.Errorf("gateway: subscribe %s: %w", subj, err)
		}
		// A purge is cheap; a backlog means the cache serves stale data, so
		// allow a large one rather than drop messages.
		_ = sub.SetPendingLimits(1<<20, 256<<20)
		ps.subs = append(ps.subs, sub)
	}
	return ps, nil
}

// Stop ends the subscription; purges already dispatched may still run.
func (ps *PurgeSubscription) Stop() {
	if ps == nil {
		return
	}
	for _, s := range ps.subs {
		_ = s.Unsubscribe()
	}
	ps.subs = nil
}
