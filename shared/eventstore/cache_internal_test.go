package eventstore

import (
	"strconv"
	"testing"
)

// TestStateCacheKeepsHotEntries: a key used all the time survives a stream of
// one-off keys many times the cache's size (the wallets and SKUs among each
// saga's new payments and reservations).
func TestStateCacheKeepsHotEntries(t *testing.T) {
	t.Parallel()
	c := newStateCache(16 * 16) // 16 entries a shard
	hot := []string{"wallet/a", "wallet/b", "sku/x", "sku/y"}
	for _, k := range hot {
		c.put(k, cached{version: 1, state: k})
	}
	misses := 0
	for i := range 50_000 {
		c.put("payment/"+strconv.Itoa(i), cached{version: 1})
		k := hot[i%len(hot)]
		if e, ok := c.get(k); !ok || e.state != k {
			misses++
			c.put(k, cached{version: 1, state: k})
		}
	}
	if misses > 0 {
		t.Fatalf("hot entries evicted %d times among 50,000 one-off entries", misses)
	}
	for i := range c.shards {
		if n := len(c.shards[i].m); n > c.limit {
			t.Fatalf("shard %d holds %d entries, limit %d", i, n, c.limit)
		}
	}
}

// TestStateCacheKeepsNewestVersion: an older version never replaces a newer
// one (a slow reader's load racing a commit).
func TestStateCacheKeepsNewestVersion(t *testing.T) {
	t.Parallel()
	c := newStateCache(16)
	c.put("k", cached{version: 5, state: "v5"})
	c.put("k", cached{version: 3, state: "v3"})
	if e, _ := c.get("k"); e.version != 5 || e.state != "v5" {
		t.Fatalf("got %+v, want version 5", e)
	}
	c.put("k", cached{version: 6, state: "v6"})
	if e, _ := c.get("k"); e.version != 6 {
		t.Fatalf("got %+v, want version 6", e)
	}
}
