package product

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// BenchmarkGet measures product.get through its RPC handler in process:
// the envelope decode, the Redis read-through document cache (a hit, or a
// miss that loads the document from PostgreSQL and caches it) and the
// reply encoding the bus server does (json.Marshal unless the handler
// returns raw bytes). The product has 3 variants, 2 images and reactions,
// on the catalogue benchCore seeds (OC_BENCH_PRODUCTS=2000 seeds faster).
func BenchmarkGet(b *testing.B) {
	c := benchCore(b)
	ctx := context.Background()
	addr, prefix := testenv.Redis(b)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	b.Cleanup(func() {
		if keys, err := rdb.Keys(ctx, prefix+"*").Result(); err == nil && len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		_ = rdb.Close()
	})
	c.cache = newDocCache(rdb, prefix, time.Minute, time.Minute, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	id := benchProduct(b, c)
	h := handlers(c)[contracts.MethodProductGet]
	body, _ := json.Marshal(contracts.Envelope{Params: contracts.Params{"id": {id}}})
	call := func() int {
		v, err := h(ctx, &bus.Request{Method: contracts.MethodProductGet, Body: body})
		if err != nil {
			b.Fatal(err)
		}
		switch r := v.(type) { // what bus.Server sends
		case json.RawMessage:
			return len(r)
		case []byte:
			return len(r)
		}
		r, err := json.Marshal(v)
		if err != nil {
			b.Fatal(err)
		}
		return len(r)
	}
	b.Run("hit", func(b *testing.B) {
		call()
		b.ReportAllocs()
		for b.Loop() {
			call()
		}
	})
	b.Run("miss", func(b *testing.B) {
		key := c.cache.docKey(id)
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			if err := rdb.Del(ctx, key).Err(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			call()
		}
	})
}

// benchProduct gives one active seeded product 3 variants, 2 images and
// some reactions, and returns its id.
func benchProduct(b *testing.B, c *core) string {
	ctx := context.Background()
	var id string
	err := benchPool.QueryRow(ctx, `SELECT id::text FROM products p WHERE status = 'active'
		AND NOT EXISTS (SELECT 1 FROM product_variants v WHERE v.product_id = p.id) ORDER BY id LIMIT 1`).Scan(&id)
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO product_variants (id, product_id, position, sku, price, properties, image_file_id, stock)
		SELECT gen_random_uuid(), $1::uuid, i, 'BENCH-' || $1::text || '-' || i, 1000 * i,
			jsonb_build_array(jsonb_build_object('key', 'size', 'value', 'S' || i)), CASE WHEN i = 1 THEN gen_random_uuid() END, 5 * i
		FROM generate_series(1, 3) i`,
		`INSERT INTO product_images (product_id, file_id, position) SELECT $1, gen_random_uuid(), i FROM generate_series(1, 2) i`,
		`INSERT INTO reactions (product_id, user_id, type) SELECT $1, 'bench-' || i, CASE WHEN i % 3 = 0 THEN 'love' ELSE 'like' END
		FROM generate_series(1, 9) i`,
		`UPDATE products SET properties = '[{"key":"colour","value":"black"},{"key":"weight","value":"1.2 kg"}]' WHERE id = $1`,
	} {
		if _, err := benchPool.Exec(ctx, q, id); err != nil {
			b.Fatal(err)
		}
	}
	return id
}
