package product

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/opencommerce/opencommerce/contracts"
)

// Searcher runs product.list and product.suggest on a migrated product
// database without the rest of the service (no RPC): the search code, the
// Redis document cache when given one (else a page's documents are built
// from PostgreSQL every time), and the reply JSON. It is for benchmarks
// and tools (opencommerce bench-search). Safe for concurrent use.
type Searcher struct {
	c *core
}

// NewSearcher returns a Searcher on pool. With cache false every search
// and suggestion is computed (the service keeps recent ones for a few
// seconds, see searchcache.go).
// rdb (nil: none) holds the document cache under redisPrefix.
func NewSearcher(pool *pgxpool.Pool, rdb redis.UniversalClient, redisPrefix string, cache bool) *Searcher {
	c := (&core{cfg: DefaultConfig()}).onPostgres(pool)
	if rdb != nil {
		c.cache = newDocCache(rdb, redisPrefix, c.cfg.CacheTTL, c.cfg.TreeCacheTTL, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	}
	c.pages.off, c.facetSets.off, c.suggestions.off = !cache, !cache, !cache
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
	q, err := parseSuggest(contracts.Actor{}, params)
	if err != nil {
		return nil, err
	}
	r, err := s.c.suggest(ctx, q)
	if err != nil {
		return nil, err
	}
	return json.Marshal(r)
}
