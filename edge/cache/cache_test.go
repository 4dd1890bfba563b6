package cache_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/edge/cache"
)

func TestGetSetTTLAndPurge(t *testing.T) {
	c := cache.New(1000, 2)
	now := int64(1_000_000_000)
	c.SetClock(func() int64 { return now })

	c.Set(0, []byte("p1"), []byte("body1"), "id1", time.Second, c.Snapshot(0))
	c.Set(0, []byte("p2"), []byte("body2"), "id2", time.Second, c.Snapshot(0))
	c.Set(1, []byte("list"), []byte("items"), "", time.Second, c.Snapshot(1))

	if b, ok := c.Get(0, []byte("p1")); !ok || string(b) != "body1" {
		t.Fatalf("Get p1 = %q %v", b, ok)
	}
	if _, ok := c.Get(1, []byte("p1")); ok {
		t.Fatal("an entry of another group must miss")
	}
	if n := c.Purge("id1"); n != 1 {
		t.Fatalf("Purge removed %d, want 1", n)
	}
	if _, ok := c.Get(0, []byte("p1")); ok {
		t.Fatal("purged entry still served")
	}
	if _, ok := c.Get(0, []byte("p2")); !ok {
		t.Fatal("untouched entry lost")
	}
	c.PurgeGroup(1)
	if _, ok := c.Get(1, []byte("list")); ok {
		t.Fatal("group purge did not invalidate")
	}
	now += int64(2 * time.Second)
	if _, ok := c.Get(0, []byte("p2")); ok {
		t.Fatal("expired entry served")
	}
	c.Set(0, []byte("p3"), []byte("x"), "", time.Second, c.Snapshot(0))
	c.PurgeAll()
	if _, ok := c.Get(0, []byte("p3")); ok {
		t.Fatal("PurgeAll did not invalidate")
	}
}

// TestPurgeTags: one purge naming several tags removes the entries of each
// and leaves the others, untagged entries included; PurgeGroup bumps the
// group's generation once per call.
func TestPurgeTags(t *testing.T) {
	c := cache.New(1000, 2)
	for _, id := range []string{"a", "b", "c"} {
		c.Set(0, []byte("p"+id), []byte(id), id, time.Minute, c.Snapshot(0))
	}
	c.Set(0, []byte("untagged"), []byte("u"), "", time.Minute, c.Snapshot(0))
	if n := c.PurgeTags("a", "", "c", "missing"); n != 2 {
		t.Fatalf("PurgeTags removed %d, want 2", n)
	}
	for key, want := range map[string]bool{"pa": false, "pb": true, "pc": false, "untagged": true} {
		if _, ok := c.Get(0, []byte(key)); ok != want {
			t.Errorf("after PurgeTags(a, c): %s present = %v, want %v", key, ok, want)
		}
	}
	before := c.Generation(1)
	c.PurgeGroup(1)
	if got := c.Generation(1) - before; got != 1 {
		t.Fatalf("PurgeGroup bumped the generation by %d, want 1", got)
	}
	if c.Generation(0) != 0 {
		t.Fatal("PurgeGroup(1) bumped group 0")
	}
}

// TestGroupsShareKeys: two groups storing the same key (two routes without
// parameters) keep an entry each; neither evicts the other.
func TestGroupsShareKeys(t *testing.T) {
	c := cache.New(1000, 3)
	c.Set(0, nil, []byte("categories"), "", time.Minute, c.Snapshot(0))
	c.Set(1, nil, []byte("featured"), "", time.Minute, c.Snapshot(1))
	for range 3 {
		if b, ok := c.Get(0, nil); !ok || string(b) != "categories" {
			t.Fatalf("group 0: %q %v", b, ok)
		}
		if b, ok := c.Get(1, nil); !ok || string(b) != "featured" {
			t.Fatalf("group 1: %q %v", b, ok)
		}
	}
	if _, ok := c.Get(2, nil); ok {
		t.Fatal("a group that stored nothing hit")
	}
	if c.Len() != 2 {
		t.Fatalf("Len = %d, want 2", c.Len())
	}
	c.Set(0, nil, []byte("categories v2"), "", time.Minute, c.Snapshot(0))
	if b, _ := c.Get(0, nil); string(b) != "categories v2" || c.Len() != 2 {
		t.Fatalf("replace: %q, Len %d", b, c.Len())
	}
	if b, _ := c.Get(1, nil); string(b) != "featured" {
		t.Fatalf("replacing group 0's entry touched group 1's: %q", b)
	}
}

func TestSetAfterPurgeIsDropped(t *testing.T) {
	c := cache.New(100, 1)
	tok := c.Snapshot(0) // reply fetch starts
	c.Purge("id1")       // event arrives while the reply is in flight
	c.Set(0, []byte("k"), []byte("stale"), "id1", time.Minute, tok)
	if _, ok := c.Get(0, []byte("k")); ok {
		t.Fatal("a reply fetched before a purge was stored after it")
	}
	tok = c.Snapshot(0)
	c.PurgeAll()
	c.Set(0, []byte("k"), []byte("stale"), "", time.Minute, tok)
	if _, ok := c.Get(0, []byte("k")); ok {
		t.Fatal("a reply fetched before PurgeAll was stored after it")
	}
}

func TestBoundedLRU(t *testing.T) {
	c := cache.New(64, 1) // 4 per shard
	for i := range 1000 {
		c.Set(0, fmt.Appendf(nil, "k%d", i), []byte("v"), "", time.Minute, c.Snapshot(0))
	}
	if n := c.Len(); n > 64 {
		t.Fatalf("Len = %d, want <= 64", n)
	}
	// The most recent key survives.
	if _, ok := c.Get(0, []byte("k999")); !ok {
		t.Fatal("most recent entry evicted")
	}
}

func TestGetDoesNotAllocate(t *testing.T) {
	c := cache.New(100, 1)
	key := []byte("products/0190c3a4-0000-7000-8000-000000000001")
	c.Set(0, key, []byte(`{"id":"x"}`), "x", time.Minute, c.Snapshot(0))
	allocs := testing.AllocsPerRun(1000, func() {
		if _, ok := c.Get(0, key); !ok {
			t.Fatal("miss")
		}
	})
	if allocs != 0 {
		t.Fatalf("Get allocates %.1f times per hit", allocs)
	}
}

func TestConcurrent(t *testing.T) {
	c := cache.New(128, 2)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := fmt.Appendf(nil, "k%d", (i*7+w)%300)
				if i%3 == 0 {
					c.Set(i%2, k, k, fmt.Sprint(i%5), time.Minute, c.Snapshot(i%2))
				} else {
					c.Get(i%2, k)
				}
				if i%500 == 0 {
					c.Purge(fmt.Sprint(i % 5))
					c.PurgeGroup(w % 2)
				}
			}
		}()
	}
	wg.Wait()
	if c.Len() > 128 {
		t.Fatalf("Len = %d > bound", c.Len())
	}
}
