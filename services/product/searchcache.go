package product

import (
	"sync"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
)

// Search caches: recent search pages (searchPageTTL), facet counts (the
// same TTL, keyed by what was matched after analysis, so every page and
// sort of a query, and every typo that corrects to it, share them) and
// suggestion lists (suggestTTL), in process. A storefront asks the same queries and
// prefixes over and over; ranking thousands of matches or counting facets
// over them each time is the expensive part of a search. Every product or
// category change written by this instance clears them all (core.purge), and
// an answer computed across a change is not kept (see generation); other
// instances' changes show within the TTL, like the gateway's own 5 s cache
// of anonymous searches.
const (
	searchPageTTL   = 5 * time.Second
	suggestTTL      = 10 * time.Second
	searchCacheSize = 20_000
)

// ttlCache is a bounded map of entries that expire after a TTL. When full
// it starts over (simpler than an LRU; a full map is mostly stale). The
// zero value is ready; Off disables it. Safe for concurrent use.
type ttlCache[V any] struct {
	off     bool // never keep anything (set before use)
	mu      sync.Mutex
	gen     uint64
	entries map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v  V
	at time.Time
}

// get returns the entry of key younger than ttl.
func (c *ttlCache[V]) get(key string, ttl time.Duration, now time.Time) (V, bool) {
	var zero V
	if c.off {
		return zero, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || now.Sub(e.at) > ttl {
		return zero, false
	}
	return e.v, true
}

// generation is the number of clears so far: read it before computing an
// entry and give it to put, which drops the entry if a clear came between.
func (c *ttlCache[V]) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *ttlCache[V]) put(key string, v V, gen uint64, now time.Time) {
	if c.off {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.entries == nil || len(c.entries) >= searchCacheSize {
		c.entries = make(map[string]ttlEntry[V])
	}
	c.entries[key] = ttlEntry[V]{v: v, at: now}
}

// clear forgets every entry.
func (c *ttlCache[V]) clear() {
	c.mu.Lock()
	c.gen++
	c.entries = nil
	c.mu.Unlock()
}

// searchPage is a cached search page: everything of a product.list reply
// but the documents, which come from the document cache.
type searchPage struct {
	ids       []string
	next      string
	total     *int64
	corrected string
	facets    *contracts.ProductFacets
}
