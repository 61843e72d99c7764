package eventstore

import (
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"
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
	limit  int           // per shard
	clock  atomic.Uint64 // ticks on every get and put: an entry's last use
}

type cacheShard struct {
	mu sync.Mutex
	m  map[string]*cacheEntry
}

type cacheEntry struct {
	cached
	used uint64
}

type cached struct {
	version uint64
	state   any
}

// evictionSample is how many entries a full shard looks at to evict the
// least recently used of them: an approximate LRU, as Redis does it, without
// a list to maintain on every hit. Random eviction was not enough: the
// one-off aggregates of each saga (a payment, a reservation) pushed out the
// hot ones (wallets, SKUs), whose replays then cost a tenth of a service's
// CPU.
const evictionSample = 8

func newStateCache(entries int) *stateCache {
	c := &stateCache{seed: maphash.MakeSeed(), limit: max(1, entries/16)}
	for i := range c.shards {
		c.shards[i].m = map[string]*cacheEntry{}
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
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok {
		return cached{}, false
	}
	e.used = c.clock.Add(1)
	return e.cached, true
}

func (c *stateCache) put(key string, e cached) {
	if c == nil {
		return
	}
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := c.clock.Add(1)
	if old, ok := s.m[key]; ok {
		if old.version < e.version {
			old.cached = e
		}
		old.used = now
		return
	}
	if len(s.m) >= c.limit {
		// Map iteration starts at a random place: the first entries it
		// yields are a random sample.
		var victim string
		oldest, n := uint64(math.MaxUint64), 0
		for k, v := range s.m {
			if v.used < oldest {
				victim, oldest = k, v.used
			}
			if n++; n == evictionSample {
				break
			}
		}
		delete(s.m, victim)
	}
	s.m[key] = &cacheEntry{cached: e, used: now}
}
