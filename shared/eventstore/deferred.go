package eventstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Deferred messages.
//
// A consumer that receives more of one order's events than it keeps in
// memory (a hot order) sets the surplus aside here instead of handing it
// back to JetStream: a handed-back message still holds one of the durable's
// slots for unacknowledged messages, and a hot order would fill them all
// and hold up every other order. A message is stored, then acknowledged;
// it is handled later, in its order's turn and in stream order, then
// deleted. Handling is exactly-once as for any delivery: a message handled
// and not yet deleted when the process dies is recognised by the inbox.
//
// Rows are keyed by queue (the stream and durable that delivered them), the
// message's key (its order) and its stream sequence, so that storing a
// redelivery of the same message again is a no-op.

var bucketDeferred = []byte("deferred") // queue 0x00 key 0x00 stream seq(8) -> DeferredMsg JSON

// DeferredMsg is a message set aside: what the consumer needs to handle it
// as if it had just been delivered.
type DeferredMsg struct {
	Queue       string              `json:"-"`
	Key         string              `json:"-"`
	Seq         uint64              `json:"-"` // stream sequence
	Subject     string              `json:"subject"`
	Header      map[string][]string `json:"header,omitempty"`
	Data        []byte              `json:"data"`
	Stream      string              `json:"stream"`
	ConsumerSeq uint64              `json:"consumer_seq"`
	Delivered   uint64              `json:"delivered"`
	Timestamp   time.Time           `json:"timestamp"`
}

func deferredPrefix(queue, key string) []byte {
	k := make([]byte, 0, len(queue)+len(key)+2)
	k = append(k, queue...)
	k = append(k, 0)
	k = append(k, key...)
	return append(k, 0)
}

// Defer stores msgs in one transaction. It reports, for each, whether it
// was added (false: that message was already stored).
func (s *Store) Defer(ctx context.Context, msgs []DeferredMsg) ([]bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	vals := make([][]byte, len(msgs))
	for i, m := range msgs {
		if strings.IndexByte(m.Queue, 0) >= 0 || strings.IndexByte(m.Key, 0) >= 0 {
			return nil, fmt.Errorf("defer: queue %q or key %q holds a NUL byte", m.Queue, m.Key)
		}
		v, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("defer: %w", err)
		}
		vals[i] = v
	}
	added := make([]bool, len(msgs))
	err := s.write(func(btx *bolt.Tx) error {
		b, err := btx.CreateBucketIfNotExists(bucketDeferred)
		if err != nil {
			return err
		}
		for i, m := range msgs {
			k := binary.BigEndian.AppendUint64(deferredPrefix(m.Queue, m.Key), m.Seq)
			if added[i] = b.Get(k) == nil; !added[i] {
				continue
			}
			if err := b.Put(k, vals[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return added, nil
}

// DeferredKeys counts the messages stored for queue, by key.
func (s *Store) DeferredKeys(ctx context.Context, queue string) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := map[string]int{}
	err := closedIf(s.db.View(func(btx *bolt.Tx) error {
		b := btx.Bucket(bucketDeferred)
		if b == nil {
			return nil
		}
		prefix := append([]byte(queue), 0)
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			rest := k[len(prefix):]
			if i := bytes.IndexByte(rest, 0); i >= 0 {
				out[string(rest[:i])]++
			}
		}
		return nil
	}))
	return out, err
}

// NextDeferred returns up to n of the messages stored for queue and key,
// oldest (lowest stream sequence) first.
func (s *Store) NextDeferred(ctx context.Context, queue, key string, n int) ([]DeferredMsg, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []DeferredMsg
	err := closedIf(s.db.View(func(btx *bolt.Tx) error {
		b := btx.Bucket(bucketDeferred)
		if b == nil {
			return nil
		}
		prefix := deferredPrefix(queue, key)
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(out) < n; k, v = c.Next() {
			if len(k) != len(prefix)+8 {
				continue
			}
			var m DeferredMsg
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("deferred message %x: %w", k, err)
			}
			m.Queue, m.Key, m.Seq = queue, key, binary.BigEndian.Uint64(k[len(prefix):])
			out = append(out, m)
		}
		return nil
	}))
	return out, err
}

// Undefer deletes a stored message: it was handled (or dead-lettered).
func (s *Store) Undefer(ctx context.Context, queue, key string, seq uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.write(func(btx *bolt.Tx) error { return undefer(btx, queue, key, seq) })
}

// Undefer deletes a stored message in this transaction: the one that
// handles it, so that it is gone exactly when its effects are there.
func (tx *Tx) Undefer(queue, key string, seq uint64) error {
	if !tx.b.Writable() {
		return ErrReadOnly
	}
	tx.wrote()
	return undefer(tx.b, queue, key, seq)
}

func undefer(btx *bolt.Tx, queue, key string, seq uint64) error {
	b := btx.Bucket(bucketDeferred)
	if b == nil {
		return nil
	}
	return b.Delete(binary.BigEndian.AppendUint64(deferredPrefix(queue, key), seq))
}
