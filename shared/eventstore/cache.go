package eventstore

import (
	"hash/maphash"
	"sync"
)

// stateCache remembers recent aggregate states by key and version, so that a
// hot aggregate (one customer's wallet, a best-selling SKU) is not replayed
// from its snapshot on every load.
//
// An entry says "the state of this aggregate at version v is s". Versions are
// append-only and an event at a version never changes once committed, so an
// entry stays true forever; Load uses it only when the aggregate's current
// version in the transaction is still v. Entries are added only after the
// transaction that produced them has committed: a rolled-back version v could
// later be written with a different event.
type stateCache struct {
	seed   maphash.Seed
	shards [16]cacheShard
	limit  int // per shard
}

type cacheShard struct {
	mu sync.Mutex
	m  map[string]cached
}

type cached struct {
	version uint64
	state   any
}

func newStateCache(entries int) *stateCache {
	c := &stateCache{seed: maphash.MakeSeed(), limit: max(1, entries/16)}
	for i := range c.shards {
		c.shards[i].m = map[string]cached{}
	}
	return c
}

func (c *stateCache) shard(key string) *cacheShard {
	return &c.shards[maphash.String(c.seed, key)%uint64(len(c.shards))]
}

func (c *stateCache) get(key string) (cached, bool) {
	if c == nil {
		return cached{}, false
	}
	s := c.shard(key)
	s.mu.Lock()
	e, ok := s.m[key]
	s.mu.Unlock()
	return e, ok
}

func (c *stateCache) put(key string, e cached) {
	if c == nil {
		return
	}
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[key]; ok && old.version >= e.version {
		return
	}
	if len(s.m) >= c.limit {
		// Evict an arbitrary entry: map iteration order is random enough to
		// keep hot keys (they are re-added at once) without LRU bookkeeping.
		for k := range s.m {
			delete(s.m, k)
			break
		}
	}
	s.m[key] = e
}
