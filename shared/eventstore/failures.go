package eventstore

import (
	"context"
	"encoding/binary"

	bolt "go.etcd.io/bbolt"
)

// Handler failures of unknown cause (see package fault) are counted per
// event id, durably, so that a message whose handler fails on it every time
// is dead-lettered after a fixed number of failures — however often it was
// redelivered for other reasons (a full queue, a restart) and whatever
// crashed in between.

var bucketFailures = []byte("failures") // event id -> count (8)

// RecordFailure counts one more failure of the event id's handler and
// returns the count.
func (s *Store) RecordFailure(ctx context.Context, eventID string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n uint64
	err := s.write(func(btx *bolt.Tx) error {
		b, err := btx.CreateBucketIfNotExists(bucketFailures)
		if err != nil {
			return err
		}
		n = 1
		if v := b.Get([]byte(eventID)); len(v) == 8 {
			n = binary.BigEndian.Uint64(v) + 1
		}
		return b.Put([]byte(eventID), u64(n))
	})
	return int(n), err
}

// ForgetFailures drops the event id's failure count, in this transaction:
// the event was handled or dead-lettered. It writes nothing if there is none.
func (tx *Tx) ForgetFailures(eventID string) error {
	if !tx.b.Writable() {
		return ErrReadOnly
	}
	b := tx.b.Bucket(bucketFailures)
	if b == nil || b.Get([]byte(eventID)) == nil {
		return nil
	}
	tx.wrote()
	return b.Delete([]byte(eventID))
}

// ForgetFailures drops the event id's failure count in a transaction of its
// own.
func (s *Store) ForgetFailures(ctx context.Context, eventID string) error {
	return s.Update(ctx, func(tx *Tx) error { return tx.ForgetFailures(eventID) })
}
