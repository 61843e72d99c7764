package eventstore

import (
	"context"
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Handled reports whether the inbox holds the event id: its effects were
// committed before, and a redelivery must only be acknowledged.
func (tx *Tx) Handled(eventID string) bool {
	return tx.b.Bucket(bucketInbox).Get([]byte(eventID)) != nil
}

// MarkHandled records the event id in the inbox, in this transaction, so it
// commits atomically with the effects of handling it.
func (tx *Tx) MarkHandled(eventID string) error {
	if !tx.b.Writable() {
		return ErrReadOnly
	}
	at := u64(uint64(tx.now.UnixNano()))
	tx.wrote()
	if err := tx.b.Bucket(bucketInbox).Put([]byte(eventID), at); err != nil {
		return err
	}
	return tx.b.Bucket(bucketInboxTime).Put(append(at, eventID...), nil)
}

// PruneInbox removes inbox entries recorded before cutoff, at most limit of
// them, and returns how many it removed. Call it in a loop until it returns
// less than limit; small batches keep each write transaction short.
func (s *Store) PruneInbox(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n int
	err := s.db.Update(func(btx *bolt.Tx) error {
		n = 0
		byTime, inbox := btx.Bucket(bucketInboxTime), btx.Bucket(bucketInbox)
		c := byTime.Cursor()
		for k, _ := c.First(); k != nil && n < limit; k, _ = c.First() {
			if len(k) < 8 || int64(binary.BigEndian.Uint64(k)) >= cutoff.UnixNano() {
				break
			}
			if err := inbox.Delete(k[8:]); err != nil {
				return err
			}
			if err := byTime.Delete(k); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// InboxLen is the number of event ids in the inbox.
func (s *Store) InboxLen(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n int
	err := s.db.View(func(btx *bolt.Tx) error {
		n = btx.Bucket(bucketInbox).Stats().KeyN
		return nil
	})
	return n, err
}
