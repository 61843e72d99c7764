package eventstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/choreo-dev/choreo/shared/streams"
	bolt "go.etcd.io/bbolt"
)

// Republishing after the broker lost events.
//
// The bbolt log is the source of truth; the stream is how the other
// services hear of it. If the stream loses what it held — a wiped server
// store, `nats stream rm` — the service queues its recent public events in
// the outbox again, with their original ids (the Nats-Msg-Id), and the relay
// publishes them once more. Consumers that had handled an event find its id
// in their inbox and only acknowledge it, so effects stay exactly-once.
//
// "Recent" is bounded by the consumers' inbox retention: beyond it an inbox
// no longer recognises an id (domain idempotency still protects, but there
// is no reason to replay sagas that ended days ago).

// Republish queues again, in commit order, every public event of this
// service that occurred at or after since. It returns how many it queued.
func (s *Store) Republish(ctx context.Context, since time.Time) (int, error) {
	// Find the first log position at or after since, walking back from the
	// end (recent events are few; the log may be long).
	var first uint64
	err := s.db.View(func(btx *bolt.Tx) error {
		c := btx.Bucket(bucketLog).Cursor()
		events := btx.Bucket(bucketEvents)
		for k, ek := c.Last(); k != nil; k, ek = c.Prev() {
			var head struct {
				OccurredAt time.Time `json:"occurred_at"`
			}
			if err := json.Unmarshal(events.Get(ek), &head); err != nil {
				return fmt.Errorf("republish: read log %x: %w", k, err)
			}
			if head.OccurredAt.Before(since) {
				break
			}
			first = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	if err != nil || first == 0 {
		return 0, err
	}
	// Queue them in batches, each batch one transaction.
	const batch = 500
	queued := 0
	for pos := first; ; {
		if err := ctx.Err(); err != nil {
			return queued, err
		}
		var next uint64
		n := 0
		err := s.write(func(btx *bolt.Tx) error {
			n, next = 0, 0
			events := btx.Bucket(bucketEvents)
			c := btx.Bucket(bucketLog).Cursor()
			tx := &Tx{b: btx, s: s}
			for k, ek := c.Seek(u64(pos)); k != nil; k, ek = c.Next() {
				if n == batch {
					next = binary.BigEndian.Uint64(k)
					return nil
				}
				body := events.Get(ek)
				var head struct {
					ID          string `json:"id"`
					Type        string `json:"type"`
					AggregateID string `json:"aggregate_id"`
				}
				if err := json.Unmarshal(body, &head); err != nil {
					return fmt.Errorf("republish: read event %x: %w", ek, err)
				}
				if s.opts.Registry.Publisher(head.Type) != s.opts.Service {
					continue // private
				}
				if err := tx.enqueue(streams.Subject(s.opts.Service, head.Type, head.AggregateID), head.ID, body, tx.traceOf(ek)); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return queued, fmt.Errorf("republish: %w", err)
		}
		queued += n
		if n > 0 {
			select {
			case s.notify <- struct{}{}:
			default:
			}
		}
		if next == 0 {
			return queued, nil
		}
		pos = next
	}
}

// Meta returns the value stored under key by SetMeta, nil if none. The
// service host keeps small facts there (the identity of the stream it
// publishes to).
func (s *Store) Meta(key string) ([]byte, error) {
	var v []byte
	err := s.db.View(func(btx *bolt.Tx) error {
		if raw := btx.Bucket(bucketMeta).Get([]byte("user:" + key)); raw != nil {
			v = append([]byte(nil), raw...)
		}
		return nil
	})
	return v, err
}

// SetMeta stores value under key.
func (s *Store) SetMeta(ctx context.Context, key string, value []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.write(func(btx *bolt.Tx) error { return btx.Bucket(bucketMeta).Put([]byte("user:"+key), value) })
}
