// Package partition says which instance of a partitioned service owns what.
//
// A service can run as Count instances, each owning one partition of its
// aggregates — its own bbolt file, its own durable consumers — so that no
// two instances ever write one aggregate. A key (an order id, a customer
// id, a SKU) belongs to partition Of(key, Count): FNV-1a of the key, mod
// Count, the very function of JetStream's partition() subject mapping, so a
// stream that partitions its subjects by their id token and a service that
// partitions by the same key agree on every key.
package partition

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Of is the partition of key among n: FNV-1a 32 of its bytes, mod n, as
// nats-server computes {{partition(n, …)}}.
func Of(key string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}

// Partition is one instance's share: partition Index of Count.
type Partition struct {
	Index, Count int
}

// Whole is the partition of an unpartitioned service: it owns every key.
var Whole = Partition{Index: 0, Count: 1}

// Partitioned reports whether there is more than one partition.
func (p Partition) Partitioned() bool { return p.Count > 1 }

// Owns reports whether key belongs to this partition.
func (p Partition) Owns(key string) bool { return Of(key, p.Count) == p.Index }

// Of is the partition of key.
func (p Partition) Of(key string) int { return Of(key, p.Count) }

// OwnsAny reports whether some key belongs to this partition.
func (p Partition) OwnsAny(keys []string) bool {
	for _, k := range keys {
		if p.Owns(k) {
			return true
		}
	}
	return false
}

// NewKey returns a new key this partition owns, drawing from newKey (a new
// order id, say) until one hashes here: Count draws on average.
func (p Partition) NewKey(newKey func() string) string {
	for {
		if k := newKey(); p.Owns(k) {
			return k
		}
	}
}

// String is "Index/Count", what Parse reads.
func (p Partition) String() string { return fmt.Sprintf("%d/%d", p.Index, p.Count) }

// Suffix distinguishes a partitioned instance's files and durable names:
// "" for the whole, "-p<Index>" otherwise.
func (p Partition) Suffix() string {
	if !p.Partitioned() {
		return ""
	}
	return "-p" + strconv.Itoa(p.Index)
}

// Parse reads "i/n" (CHOREO_PARTITION): partition i of n, 0 <= i < n.
func Parse(s string) (Partition, error) {
	i, n, ok := strings.Cut(s, "/")
	if !ok {
		return Partition{}, fmt.Errorf("%q is not index/count (e.g. 0/2)", s)
	}
	index, err1 := strconv.Atoi(i)
	count, err2 := strconv.Atoi(n)
	if err1 != nil || err2 != nil || count < 1 || count > 1024 || index < 0 || index >= count {
		return Partition{}, fmt.Errorf("%q is not index/count with 0 <= index < count <= 1024", s)
	}
	return Partition{Index: index, Count: count}, nil
}

type ctxKey struct{}

// With returns ctx carrying p: the host gives it to every handler.
func With(ctx context.Context, p Partition) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// From returns the partition ctx carries, Whole if none.
func From(ctx context.Context) Partition {
	if p, ok := ctx.Value(ctxKey{}).(Partition); ok {
		return p
	}
	return Whole
}
