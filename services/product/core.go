package product

import (
	"context"
	"log/slog"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/redis/go-redis/v9"
)

// FileInfo is the part of the file service's file.stat reply the product
// service relies on.
type FileInfo struct {
	ID          string `json:"id"`
	OwnerID     string `json:"owner_id"`
	Purpose     string `json:"purpose"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// FileStater asks the file service about a file. It returns a
// *contracts.Error: not_found for an unknown file, unavailable when the file
// service cannot be reached.
type FileStater interface {
	StatFile(ctx context.Context, fileID string) (FileInfo, error)
	// PublishFile makes ownerID's image file of purpose public (file.publish);
	// errors as StatFile, plus permission_denied for another owner's file
	// and invalid_argument for another purpose or a file that is not an
	// image.
	PublishFile(ctx context.Context, fileID, ownerID, purpose string) (FileInfo, error)
}

// core is the domain: every operation of the service over its database,
// its cache and the file service. RPC handlers (rpc.go) decode the wire
// and call it; event handlers (events.go) do the same for events.
type core struct {
	catalog catalogStore   // products, categories, reviews, comments, reactions
	stock   inventoryStore // reservations driven by order events, file deletions
	search  searchStore    // product.list, facets, suggestions
	cache   *docCache
	files   FileStater
	log     *slog.Logger
	cfg     Config
	now     func() time.Time

	pages       ttlCache[*searchPage]              // recent search pages (searchcache.go)
	facetSets   ttlCache[*contracts.ProductFacets] // recent facet counts, by what was matched
	suggestions ttlCache[*contracts.SuggestReply]  // recent product.suggest replies
}

// change collects what a transaction touched, so that caches are purged
// only after it committed.
type change struct {
	products   map[string]string // product id → slug ("" if unknown)
	categories bool              // the tree (or product counts) changed
}

func (ch *change) product(id, slug string) {
	if ch.products == nil {
		ch.products = map[string]string{}
	}
	if old, ok := ch.products[id]; !ok || old == "" {
		ch.products[id] = slug
	}
}

// applyChangeOf runs fn inside run's transaction (a catalogTx or an
// inventoryTx) and purges the caches of what it touched twice: just
// before commit, because the outbox relay may publish the change's events
// the moment it commits, and a consumer reacting to them (the gateway
// refilling its catalogue cache) must not read the old document from
// Redis; and after commit, for a reader that refilled the cache from the
// old rows in between.
func applyChangeOf[T any](ctx context.Context, c *core, run func(func(T) error) error, fn func(tx T, ch *change) error) error {
	var ch change
	err := run(func(tx T) error {
		ch = change{}
		if err := fn(tx, &ch); err != nil {
			return err
		}
		if c.cache != nil {
			c.cache.purge(ctx, &ch)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.purge(ctx, &ch)
	return nil
}

func (c *core) purge(ctx context.Context, ch *change) {
	if len(ch.products) > 0 || ch.categories {
		c.pages.clear()
		c.facetSets.clear()
		c.suggestions.clear()
	}
	if c.cache != nil {
		c.cache.purge(ctx, ch)
	}
}

// redisClient is the subset of go-redis the cache needs.
type redisClient = redis.UniversalClient
