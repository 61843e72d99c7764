package eventstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Parked outbox entries.
//
// An outbox entry that JetStream refuses for good — larger than the
// server's max payload, say — would otherwise be retried for ever and hold
// up every entry behind it. The relay parks it instead: it moves out of the
// outbox, in one transaction, into a parked area where an operator can see
// it, retry it (after raising the limit) or drop it. The event itself stays
// in the log: parking only stops its publication.

var bucketParked = []byte("outbox_parked") // sequence(8) -> parked at(8) len(reason)(2) reason, then the outbox value

// ParkedEntry is an outbox entry moved aside, and why.
type ParkedEntry struct {
	OutboxEntry
	Reason   string
	ParkedAt time.Time
	Size     int // the body's size in bytes
}

// ParkOutbox moves the outbox entry seq to the parked area with reason. It
// is a no-op if the entry is no longer in the outbox.
func (s *Store) ParkOutbox(ctx context.Context, seq uint64, reason string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.write(func(btx *bolt.Tx) error {
		ob := btx.Bucket(bucketOutbox)
		v := ob.Get(u64(seq))
		if v == nil {
			return nil
		}
		parked, err := btx.CreateBucketIfNotExists(bucketParked)
		if err != nil {
			return err
		}
		if len(reason) > 0xffff {
			reason = reason[:0xffff]
		}
		rec := make([]byte, 0, 10+len(reason)+len(v))
		rec = binary.BigEndian.AppendUint64(rec, uint64(s.opts.Now().UnixNano()))
		rec = binary.BigEndian.AppendUint16(rec, uint16(len(reason)))
		rec = append(rec, reason...)
		rec = append(rec, v...)
		if err := parked.Put(u64(seq), rec); err != nil {
			return err
		}
		return ob.Delete(u64(seq))
	})
}

// Parked returns the parked entries, oldest first.
func (s *Store) Parked(ctx context.Context) ([]ParkedEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []ParkedEntry
	err := s.db.View(func(btx *bolt.Tx) error {
		b := btx.Bucket(bucketParked)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			e, err := decodeParked(k, v)
			if err != nil {
				return err
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

// ParkedLen is the number of parked entries.
func (s *Store) ParkedLen() (int, error) {
	var n int
	err := s.db.View(func(btx *bolt.Tx) error {
		if b := btx.Bucket(bucketParked); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}

// UnparkOutbox puts a parked entry back in the outbox at its original
// place, so the relay publishes it next (with its original Nats-Msg-Id).
// It fails with ErrNotFound if seq is not parked.
func (s *Store) UnparkOutbox(ctx context.Context, seq uint64) error {
	return s.takeParked(ctx, seq, func(btx *bolt.Tx, outboxValue []byte) error {
		return btx.Bucket(bucketOutbox).Put(u64(seq), outboxValue)
	})
}

// DropParked deletes a parked entry: the event stays in the log but is never
// published. It fails with ErrNotFound if seq is not parked.
func (s *Store) DropParked(ctx context.Context, seq uint64) error {
	return s.takeParked(ctx, seq, func(*bolt.Tx, []byte) error { return nil })
}

func (s *Store) takeParked(ctx context.Context, seq uint64, then func(btx *bolt.Tx, outboxValue []byte) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.write(func(btx *bolt.Tx) error {
		b := btx.Bucket(bucketParked)
		var v []byte
		if b != nil {
			v = b.Get(u64(seq))
		}
		if v == nil {
			return fmt.Errorf("parked outbox entry %d: %w", seq, ErrNotFound)
		}
		e, err := splitParked(seq, v)
		if err != nil {
			return err
		}
		if err := then(btx, e); err != nil {
			return err
		}
		return b.Delete(u64(seq))
	})
}

func splitParked(seq uint64, v []byte) (outboxValue []byte, err error) {
	if len(v) < 10 {
		return nil, fmt.Errorf("parked entry %d is corrupt", seq)
	}
	n := int(binary.BigEndian.Uint16(v[8:10]))
	if len(v) < 10+n {
		return nil, fmt.Errorf("parked entry %d is corrupt", seq)
	}
	return append([]byte(nil), v[10+n:]...), nil
}

func decodeParked(k, v []byte) (ParkedEntry, error) {
	seq := binary.BigEndian.Uint64(k)
	ov, err := splitParked(seq, v)
	if err != nil {
		return ParkedEntry{}, err
	}
	n := int(binary.BigEndian.Uint16(v[8:10]))
	e, err := decodeOutbox(k, ov)
	if err != nil {
		return ParkedEntry{}, err
	}
	return ParkedEntry{OutboxEntry: e, Reason: string(v[10 : 10+n]),
		ParkedAt: time.Unix(0, int64(binary.BigEndian.Uint64(v[:8]))).UTC(), Size: len(e.Body)}, nil
}
