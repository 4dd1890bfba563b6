package product

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/opencommerce/opencommerce/contracts"
)

// Searcher runs product.list and product.suggest on a migrated product
// database without the rest of the service: no RPC and no Redis document
// cache (a page's documents are built from PostgreSQL every time). It is
// for benchmarks and tools (opencommerce bench-search). Safe for
// concurrent use.
type Searcher struct {
	c *core
}

// NewSearcher returns a Searcher on pool. With cache false every search
// and suggestion is computed (the service keeps recent ones for a few
// seconds, see searchcache.go).
func NewSearcher(pool *pgxpool.Pool, cache bool) *Searcher {
	c := &core{pool: pool, cfg: DefaultConfig()}
	c.pages.off, c.suggestions.off = !cache, !cache
	return &Searcher{c: c}
}

// List answers product.list for an anonymous shopper with params, as the
// reply JSON.
func (s *Searcher) List(ctx context.Context, params contracts.Params) ([]byte, error) {
	q, err := parseList(contracts.Actor{}, params)
	if err != nil {
		return nil, err
	}
	r, err := s.c.list(ctx, contracts.Actor{}, q)
	if err != nil {
		return nil, err
	}
	return json.Marshal(r)
}

// Suggest answers product.suggest with params, as the reply JSON.
func (s *Searcher) Suggest(ctx context.Context, params contracts.Params) ([]byte, error) {
	r, err := s.c.suggest(ctx, params)
	if err != nil {
		return nil, err
	}
	return json.Marshal(r)
}
