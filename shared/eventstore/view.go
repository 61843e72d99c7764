package eventstore

import (
	"bytes"
	"fmt"
	"iter"

	bolt "go.etcd.io/bbolt"
)

// Views.
//
// A projection keeps its read model in named view buckets: ordered maps
// from byte keys to byte values, written in the transaction that appends
// the events (Projection.Apply) and read by queries. A ViewBucket is one of
// them within one transaction.

// ViewBucket is the view bucket of one name in a transaction. The slices it
// returns belong to the transaction: valid until it ends, never to be
// modified.
type ViewBucket struct {
	tx   *Tx
	name string
	b    *bolt.Bucket // nil until the bucket exists
}

// ViewBucket returns the view bucket name. A bucket that was never written
// reads as empty; the first Put creates it (a read leaves it absent).
func (tx *Tx) ViewBucket(name string) ViewBucket {
	return ViewBucket{tx: tx, name: name, b: tx.b.Bucket(bucketViews).Bucket([]byte(name))}
}

// bucket returns the bucket, nil if it does not exist (yet: a Put through
// a copy of v may have created it since).
func (v ViewBucket) bucket() *bolt.Bucket {
	if v.b != nil {
		return v.b
	}
	return v.tx.b.Bucket(bucketViews).Bucket([]byte(v.name))
}

// Get returns the value stored at key, nil if there is none.
func (v ViewBucket) Get(key []byte) []byte {
	if b := v.bucket(); b != nil {
		return b.Get(key)
	}
	return nil
}

// Put stores value at key. It fails with ErrReadOnly outside a write
// transaction.
func (v ViewBucket) Put(key, value []byte) error {
	if !v.tx.b.Writable() {
		return ErrReadOnly
	}
	v.tx.wrote()
	b := v.bucket()
	if b == nil {
		var err error
		if b, err = v.tx.b.Bucket(bucketViews).CreateBucket([]byte(v.name)); err != nil {
			return fmt.Errorf("create view %q: %w", v.name, err)
		}
	}
	return b.Put(key, value)
}

// Delete removes key; removing a key that is not there is not an error, and
// writes nothing. It fails with ErrReadOnly outside a write transaction.
func (v ViewBucket) Delete(key []byte) error {
	if !v.tx.b.Writable() {
		return ErrReadOnly
	}
	b := v.bucket()
	if b == nil {
		return nil
	}
	if k, _ := b.Cursor().Seek(key); !bytes.Equal(k, key) {
		return nil
	}
	v.tx.wrote()
	return b.Delete(key)
}

// Range selects and orders the entries Scan yields.
type Range struct {
	// Prefix keeps the keys that start with it.
	Prefix []byte
	// From is where to start, included: the first key at or after it, or,
	// with Reverse, at or before it. Nil starts at the first (last) key.
	From []byte
	// Reverse yields the keys in descending order.
	Reverse bool
}

// Scan yields the entries of r in key order (descending with r.Reverse).
// Writing to the bucket while scanning it is not allowed.
func (v ViewBucket) Scan(r Range) iter.Seq2[[]byte, []byte] {
	return func(yield func(k, val []byte) bool) {
		b := v.bucket()
		if b == nil {
			return
		}
		c := b.Cursor()
		var k, val []byte
		switch {
		case !r.Reverse && r.From != nil:
			k, val = c.Seek(maxBytes(r.From, r.Prefix))
		case !r.Reverse && len(r.Prefix) > 0:
			k, val = c.Seek(r.Prefix)
		case !r.Reverse:
			k, val = c.First()
		default:
			// The last key at or before From, or before the keys after the
			// prefix's: seek there and step back unless it is From itself.
			end, inclusive := r.From, true
			if end == nil || bytes.Compare(end, r.Prefix) > 0 && !bytes.HasPrefix(end, r.Prefix) {
				end, inclusive = successor(r.Prefix), false
			}
			if end == nil {
				k, val = c.Last()
				break
			}
			switch k, val = c.Seek(end); {
			case k == nil:
				k, val = c.Last()
			case !inclusive || !bytes.Equal(k, end):
				k, val = c.Prev()
			}
		}
		for ; k != nil && bytes.HasPrefix(k, r.Prefix); k, val = step(c, r.Reverse) {
			if !yield(k, val) {
				return
			}
		}
	}
}

func step(c *bolt.Cursor, reverse bool) ([]byte, []byte) {
	if reverse {
		return c.Prev()
	}
	return c.Next()
}

func maxBytes(a, b []byte) []byte {
	if bytes.Compare(a, b) < 0 {
		return b
	}
	return a
}

// successor returns the first key after every key that starts with prefix,
// nil if there is none (prefix empty or all 0xff).
func successor(prefix []byte) []byte {
	s := bytes.Clone(prefix)
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] < 0xff {
			s[i]++
			return s[:i+1]
		}
	}
	return nil
}
