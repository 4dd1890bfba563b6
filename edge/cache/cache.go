// Package cache is the gateway's in-process response cache for catalogue
// reads: a sharded LRU bounded by entry count, with a TTL per entry, tags for
// targeted purges (a product id), and per-group generations so that a whole
// group of entries (every product list) is invalidated in O(1).
//
// The hot path (Get on a hit) does not allocate: keys are looked up as
// []byte (the map index conversion is optimised by the compiler), entries
// are immutable once stored, and a hit returns the stored body slice, which
// callers must treat as read-only.
package cache

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

const numShards = 16

// Cache is a bounded, sharded LRU of response bodies. It is safe for
// concurrent use. The zero value is not usable; call New.
type Cache struct {
	shards   [numShards]shard
	seed     maphash.Seed
	groupGen []atomic.Uint64 // generation per group; an entry of an older generation is a miss
	allGen   atomic.Uint64   // global generation (PurgeAll)
	purges   atomic.Uint64   // count of tag purges, so Set can refuse replies fetched before one
	now      func() int64
}

type shard struct {
	mu sync.Mutex
	// items has a map per group: two groups (routes) may use the same key
	// (e.g. both take no parameters) without evicting each other.
	items []map[string]*entry
	n     int   // entries over all groups
	head  entry // sentinel of the LRU list: head.next is the most recent
	max   int
}

type entry struct {
	key        string
	body       []byte
	tag        string
	group      int
	gen        uint64
	allGen     uint64
	expires    int64
	prev, next *entry
}

// New returns a cache holding at most maxEntries entries (spread over
// shards, at least one per shard) for groups numbered 0..groups-1.
func New(maxEntries, groups int) *Cache {
	if maxEntries < numShards {
		maxEntries = numShards
	}
	if groups < 1 {
		groups = 1
	}
	c := &Cache{seed: maphash.MakeSeed(), groupGen: make([]atomic.Uint64, groups),
		now: func() int64 { return time.Now().UnixNano() }}
	per := maxEntries / numShards
	for i := range c.shards {
		s := &c.shards[i]
		s.items = make([]map[string]*entry, groups)
		for g := range s.items {
			s.items[g] = map[string]*entry{}
		}
		s.head.next, s.head.prev = &s.head, &s.head
		s.max = per
	}
	return c
}

// SetClock replaces the clock (Unix nanoseconds); for tests.
func (c *Cache) SetClock(now func() int64) { c.now = now }

func (c *Cache) shard(key []byte) *shard {
	return &c.shards[maphash.Bytes(c.seed, key)%numShards]
}

// Get returns the body stored under key in group, if present, fresh and of
// the group's current generation. The returned slice must not be modified.
// It does not allocate.
func (c *Cache) Get(group int, key []byte) ([]byte, bool) {
	s := c.shard(key)
	now := c.now()
	gen, all := c.groupGen[group].Load(), c.allGen.Load()
	s.mu.Lock()
	e, ok := s.items[group][string(key)]
	if !ok {
		s.mu.Unlock()
		return nil, false
	}
	if e.expires <= now || e.gen != gen || e.allGen != all {
		s.remove(e)
		s.mu.Unlock()
		return nil, false
	}
	s.moveFront(e)
	body := e.body
	s.mu.Unlock()
	return body, true
}

// Token records the cache's purge state; take it (Snapshot) before fetching
// a reply and hand it to Set.
type Token struct{ gen, all, purges uint64 }

// Snapshot returns the purge state of group now.
func (c *Cache) Snapshot(group int) Token {
	return Token{c.groupGen[group].Load(), c.allGen.Load(), c.purges.Load()}
}

// Set stores body (which the cache now owns: the caller must not modify it
// later) under key in group for ttl, tagged with tag (may be empty). tok
// comes from Snapshot, taken before the reply was fetched: if any purge
// happened in between the entry is not stored, so a stale reply never
// outlives the purge that should have removed it.
func (c *Cache) Set(group int, key []byte, body []byte, tag string, ttl time.Duration, tok Token) {
	if ttl <= 0 {
		return
	}
	s := c.shard(key)
	e := &entry{key: string(key), body: body, tag: tag, group: group, gen: tok.gen, allGen: tok.all,
		expires: c.now() + int64(ttl)}
	s.mu.Lock()
	// Checked under the shard lock: Purge bumps the counter before it locks
	// each shard, so either it sees this entry or this check sees the bump.
	if c.groupGen[group].Load() != tok.gen || c.allGen.Load() != tok.all || c.purges.Load() != tok.purges {
		s.mu.Unlock()
		return
	}
	if old, ok := s.items[group][e.key]; ok {
		s.remove(old)
	}
	for s.n >= s.max {
		s.remove(s.head.prev)
	}
	s.items[group][e.key] = e
	s.n++
	e.next, e.prev = s.head.next, &s.head
	s.head.next.prev = e
	s.head.next = e
	s.mu.Unlock()
}

// Purge removes every entry tagged tag and returns how many it removed.
// It scans the shards (the cache is bounded and purges are rare next to
// reads, so a tag index is not worth its cost on every Set).
func (c *Cache) Purge(tag string) int { return c.PurgeTags(tag) }

// PurgeTags removes every entry tagged with one of tags in one scan of the
// shards (an event naming many products costs one scan, not one per
// product) and returns how many it removed. Empty tags are ignored.
func (c *Cache) PurgeTags(tags ...string) int {
	c.purges.Add(1)
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for e := s.head.next; e != &s.head; {
			next := e.next
			if e.tag != "" && hasTag(tags, e.tag) {
				s.remove(e)
				n++
			}
			e = next
		}
		s.mu.Unlock()
	}
	return n
}

// hasTag reports whether tag is in tags: a linear scan, as an event names
// a handful of products.
func hasTag(tags []string, tag string) bool {
	for _, t := range tags {
		if t == tag {
			return true
		}
	}
	return false
}

// PurgeGroup invalidates every entry of group at once.
func (c *Cache) PurgeGroup(group int) { c.groupGen[group].Add(1) }

// Generation returns how many times group was invalidated (PurgeGroup), so
// callers can observe purges without reading entries.
func (c *Cache) Generation(group int) uint64 { return c.groupGen[group].Load() }

// PurgeAll invalidates every entry at once.
func (c *Cache) PurgeAll() { c.allGen.Add(1) }

// Len returns the number of stored entries, stale ones included.
func (c *Cache) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += s.n
		s.mu.Unlock()
	}
	return n
}

func (s *shard) remove(e *entry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
	delete(s.items[e.group], e.key)
	s.n--
}

func (s *shard) moveFront(e *entry) {
	if s.head.next == e {
		return
	}
	e.prev.next = e.next
	e.next.prev = e.prev
	e.next, e.prev = s.head.next, &s.head
	s.head.next.prev = e
	s.head.next = e
}
