package product

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/telemetry"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// docCache is the read-through Redis cache of product documents (by id,
// stored as the final reply bytes with a small header, see encodeDoc), of
// slug → id, and of the category tree. Every committed change deletes
// the keys it affects (core.write → purge); the TTL bounds how long a value
// computed from a read that raced a write can survive. A Redis failure
// degrades to reading PostgreSQL: the cache is never a source of truth.
type docCache struct {
	rdb     redisClient
	prefix  string
	ttl     time.Duration
	treeTTL time.Duration
	log     *slog.Logger
	reqs    *prometheus.CounterVec
}

func newDocCache(rdb redisClient, prefix string, ttl, treeTTL time.Duration, log *slog.Logger, reg prometheus.Registerer) *docCache {
	reqs := telemetry.CacheRequests(reg)
	return &docCache{rdb: rdb, prefix: prefix + "product:", ttl: ttl, treeTTL: treeTTL, log: log, reqs: reqs}
}

func (d *docCache) docKey(id string) string    { return d.prefix + "doc:" + id }
func (d *docCache) slugKey(slug string) string { return d.prefix + "slug:" + slug }
func (d *docCache) treeKey() string            { return d.prefix + "tree" }

// cachedDoc is a product document as cached: the exact bytes of the
// product.get reply (JSON), and the fields a read checks without decoding
// them (draft visibility, a stale slug → id entry). The slices alias the
// cached value.
type cachedDoc struct {
	status, sellerID, slug []byte
	json                   []byte
}

// docFormat starts every cached document; a value without it (the plain
// JSON an older version cached) is a miss.
const docFormat = "p1\n"

// encodeDoc returns the cached form of a document and its JSON encoding:
// docFormat, status, seller id and slug on a line each, then the JSON. ok
// is false when a header field holds a newline (never for ids and slugs
// the service makes; such a document is simply not cached).
func encodeDoc(d *contracts.Product, js []byte) ([]byte, bool) {
	if strings.ContainsRune(d.Status+d.SellerID+d.Slug, '\n') {
		return nil, false
	}
	b := make([]byte, 0, len(docFormat)+len(d.Status)+len(d.SellerID)+len(d.Slug)+3+len(js))
	b = append(b, docFormat...)
	b = append(append(b, d.Status...), '\n')
	b = append(append(b, d.SellerID...), '\n')
	b = append(append(b, d.Slug...), '\n')
	return append(b, js...), true
}

// decodeDoc parses encodeDoc's format.
func decodeDoc(b []byte) (cachedDoc, bool) {
	var d cachedDoc
	rest, ok := bytes.CutPrefix(b, []byte(docFormat))
	if !ok {
		return d, false
	}
	for _, f := range []*[]byte{&d.status, &d.sellerID, &d.slug} {
		if *f, rest, ok = bytes.Cut(rest, []byte{'\n'}); !ok {
			return d, false
		}
	}
	d.json = rest
	return d, len(rest) > 0 && rest[0] == '{'
}

// getDoc returns the cached document of id (one GET).
func (d *docCache) getDoc(ctx context.Context, id string) (cachedDoc, bool) {
	if d == nil {
		return cachedDoc{}, false
	}
	b, err := d.rdb.Get(ctx, d.docKey(id)).Bytes()
	switch {
	case err == nil:
		if doc, ok := decodeDoc(b); ok {
			d.reqs.WithLabelValues("product", "hit").Inc()
			return doc, true
		}
		d.reqs.WithLabelValues("product", "miss").Inc()
	case errors.Is(err, redis.Nil):
		d.reqs.WithLabelValues("product", "miss").Inc()
	default:
		d.reqs.WithLabelValues("product", "error").Inc()
		d.log.Warn("product cache read failed", "err", err)
	}
	return cachedDoc{}, false
}

// getDocs returns the cached documents of ids (missing ones absent).
func (d *docCache) getDocs(ctx context.Context, ids []string) map[string]cachedDoc {
	if d == nil || len(ids) == 0 {
		return nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = d.docKey(id)
	}
	vals, err := d.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		d.reqs.WithLabelValues("product", "error").Inc()
		d.log.Warn("product cache read failed", "err", err)
		return nil
	}
	out := make(map[string]cachedDoc, len(ids))
	for i, v := range vals {
		if s, ok := v.(string); ok {
			if doc, ok := decodeDoc([]byte(s)); ok {
				out[ids[i]] = doc
			}
		}
	}
	d.reqs.WithLabelValues("product", "hit").Add(float64(len(out)))
	d.reqs.WithLabelValues("product", "miss").Add(float64(len(ids) - len(out)))
	return out
}

// purgedDoc is what purge leaves in a document's key for purgeFence: not a
// document (a read sees a miss), and it makes setDoc's SET NX fail, so a
// reader that loaded the rows before the change committed cannot put the
// old document back after the purge.
const (
	purgedDoc  = "purged"
	purgeFence = time.Second
)

// setDoc caches one document (encodeDoc's form) unless the key holds one
// already or was just purged.
func (d *docCache) setDoc(ctx context.Context, id string, b []byte) {
	if d == nil {
		return
	}
	if err := d.rdb.SetNX(ctx, d.docKey(id), b, d.ttl).Err(); err != nil {
		d.log.Warn("product cache write failed", "err", err)
	}
}

// setDocs caches documents by id (encodeDoc's form).
func (d *docCache) setDocs(ctx context.Context, docs map[string][]byte) {
	if d == nil || len(docs) == 0 {
		return
	}
	_, err := d.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for id, b := range docs {
			p.SetNX(ctx, d.docKey(id), b, d.ttl)
		}
		return nil
	})
	if err != nil {
		d.log.Warn("product cache write failed", "err", err)
	}
}

// slugID returns the cached product id of slug, or "".
func (d *docCache) slugID(ctx context.Context, slug string) string {
	if d == nil {
		return ""
	}
	id, err := d.rdb.Get(ctx, d.slugKey(slug)).Result()
	if err != nil {
		return ""
	}
	return id
}

func (d *docCache) setSlug(ctx context.Context, slug, id string) {
	if d == nil {
		return
	}
	_ = d.rdb.Set(ctx, d.slugKey(slug), id, d.ttl).Err()
}

// tree returns the cached category tree JSON, or nil.
func (d *docCache) tree(ctx context.Context) []byte {
	if d == nil {
		return nil
	}
	b, err := d.rdb.Get(ctx, d.treeKey()).Bytes()
	switch {
	case err == nil:
		d.reqs.WithLabelValues("category_tree", "hit").Inc()
		return b
	case errors.Is(err, redis.Nil):
		d.reqs.WithLabelValues("category_tree", "miss").Inc()
	default:
		d.reqs.WithLabelValues("category_tree", "error").Inc()
	}
	return nil
}

func (d *docCache) setTree(ctx context.Context, b []byte) {
	if d == nil {
		return
	}
	_ = d.rdb.Set(ctx, d.treeKey(), b, d.treeTTL).Err()
}

// purge invalidates every key a change affected: documents are fenced
// (purgedDoc), slugs and the tree deleted. It runs with its own
// short timeout so that a cancelled request still purges.
func (d *docCache) purge(ctx context.Context, ch *change) {
	if d == nil || (len(ch.products) == 0 && !ch.categories) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	keys := make([]string, 0, len(ch.products)+1)
	for _, slug := range ch.products {
		if slug != "" {
			keys = append(keys, d.slugKey(slug))
		}
	}
	if ch.categories {
		keys = append(keys, d.treeKey())
	}
	_, err := d.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for id := range ch.products {
			p.Set(ctx, d.docKey(id), purgedDoc, purgeFence)
		}
		if len(keys) > 0 {
			p.Del(ctx, keys...)
		}
		return nil
	})
	if err != nil {
		d.log.Warn("product cache purge failed; entries expire with their TTL", "err", err, "keys", len(keys)+len(ch.products))
	}
}
