package edge

// CacheGenerations returns the sum of the cache's group generations: how
// many route-group invalidations the gateway has made, for tests that count
// purges per event.
func (g *Gateway) CacheGenerations() uint64 {
	var n uint64
	for _, rt := range g.routes {
		if rt.cacheable {
			n += g.cache.Generation(rt.index)
		}
	}
	return n
}
