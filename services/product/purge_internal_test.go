package product

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// TestCachePurgedBeforeCommit: the moment a change commits, the outbox
// relay may publish its events, and a consumer (the gateway refilling its
// cache) may read the product at once; its cached document must already be
// gone from Redis then, not only after the post-commit purge.
func TestCachePurgedBeforeCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.PGPool(t, nil)
	addr, prefix := testenv.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	c := (&core{cfg: DefaultConfig(),
		cache: newDocCache(rdb, prefix, time.Minute, time.Minute, slog.New(slog.DiscardHandler), nil)}).onPostgres(pool)
	const id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	old, _ := encodeDoc(&contracts.Product{Status: "active", SellerID: "s", Slug: "x"}, []byte(`{"name":"old"}`))
	c.cache.setDoc(ctx, id, old)
	if _, hit := c.cache.getDoc(ctx, id); !hit {
		t.Fatal("the document was not cached to begin with")
	}
	hitAtCommit := true
	err := applyChangeOf(ctx, c, func(f func(inventoryTx) error) error {
		err := c.stock.Write(ctx, f)
		// Committed: what a consumer of the change's events could see now.
		_, hitAtCommit = c.cache.getDoc(ctx, id)
		return err
	}, func(_ inventoryTx, ch *change) error {
		ch.product(id, "")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if hitAtCommit {
		t.Fatal("the product's cached document was still in Redis when its change committed")
	}
}

// TestPurgeFencesStaleRefill: a reader that loaded a product's rows before
// a change committed and caches its document after the purge (the classic
// read-through race) must not put the old document back.
func TestPurgeFencesStaleRefill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addr, prefix := testenv.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	d := newDocCache(rdb, prefix, time.Minute, time.Minute, slog.New(slog.DiscardHandler), nil)
	const id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c"
	old, ok := encodeDoc(&contracts.Product{Status: "active", SellerID: "s", Slug: "x"}, []byte(`{"name":"old"}`))
	if !ok {
		t.Fatal("encode")
	}
	d.purge(ctx, &change{products: map[string]string{id: "x"}})
	d.setDoc(ctx, id, old) // the late reader
	d.setDocs(ctx, map[string][]byte{id: old})
	if doc, hit := d.getDoc(ctx, id); hit {
		t.Fatalf("the old document came back after the purge: %s", doc.json)
	}
}
