package edge

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/opencommerce/opencommerce/contracts"
)

// Purge removes the cached replies of one product (its GET /products/{id}
// entries) and invalidates every catalogue route that lists products
// (lists, featured, slugs, categories with counts). Safe for concurrent use.
func (g *Gateway) Purge(productID string) {
	if g.cache == nil {
		return
	}
	if productID != "" {
		g.cache.Purge(productID)
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

// HandleProductEvent is a bus.EventHandler for product.* (and inventory.*)
// events: it purges the cached replies of the products the event names. An
// event it cannot read purges everything rather than fail: a dropped purge
// would serve stale data, a redelivery would not help.
func (g *Gateway) HandleProductEvent(_ context.Context, ev contracts.Event) error {
	if !strings.HasPrefix(ev.Type, "product.") && !strings.HasPrefix(ev.Type, "inventory.") {
		return nil
	}
	if ev.Type == contracts.EventCategoriesChanged {
		// No product changed; the catalogue routes (the tree among them)
		// are invalidated.
		g.Purge("")
		return nil
	}
	var refs productRefs
	if err := json.Unmarshal(ev.Data, &refs); err != nil || (refs.ProductID == "" && len(refs.Items) == 0) {
		g.log.Warn("product event without product ids; purging the whole cache", "type", ev.Type, "id", ev.ID)
		g.PurgeAll()
		return nil
	}
	if refs.ProductID != "" {
		g.Purge(refs.ProductID)
	}
	for _, it := range refs.Items {
		g.Purge(it.ProductID)
	}
	return nil
}
