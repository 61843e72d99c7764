package eventstore

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/choreo-dev/choreo/shared/envelope"
)

// Consumed events.
//
// A service's log holds its own events only; what it heard from the others
// is in their stores. A read model of what it heard (a saga's timeline, say)
// must still be rebuildable, so a store with ConsumedProjections keeps each
// handled event's envelope (bucket consumed, in the order handled) and
// RebuildProjections replays them too. A store without any keeps nothing.

var bucketConsumed = []byte("consumed") // position(8) -> handled at, unix nanos(8) envelope JSON, in the order handled

// RecordConsumed keeps env, an event of another service that this
// transaction handled, with the transaction's time, and applies the
// ConsumedProjections to it. Call it once per event, in the transaction
// that handles it (the consumer's inbox sees to once). Without
// ConsumedProjections it does nothing. When a rebuild replays the event,
// tx.Now() is the time it was first handled.
func (tx *Tx) RecordConsumed(env envelope.Envelope, ev envelope.Event) error {
	if len(tx.s.opts.ConsumedProjections) == 0 {
		return nil
	}
	if !tx.b.Writable() {
		return ErrReadOnly
	}
	tx.wrote()
	b, err := tx.b.CreateBucketIfNotExists(bucketConsumed)
	if err != nil {
		return fmt.Errorf("record consumed %s: %w", env.ID, err)
	}
	body, err := envelope.Encode(env)
	if err != nil {
		return fmt.Errorf("record consumed %s: %w", env.ID, err)
	}
	pos, _ := b.NextSequence()
	v := make([]byte, 0, 8+len(body))
	v = append(v, u64(uint64(tx.now.UnixNano()))...)
	v = append(v, body...)
	if err := b.Put(u64(pos), v); err != nil {
		return fmt.Errorf("record consumed %s: %w", env.ID, err)
	}
	return tx.applyConsumed(env, ev)
}

func (tx *Tx) applyConsumed(env envelope.Envelope, ev envelope.Event) error {
	for _, p := range tx.s.opts.ConsumedProjections {
		if err := p.Apply(tx, env, ev); err != nil {
			return fmt.Errorf("project consumed %s %s: %w", env.Type, env.ID, err)
		}
	}
	return nil
}

// replayConsumed applies the ConsumedProjections to every kept consumed
// event, in the order handled; it returns how many.
func (tx *Tx) replayConsumed() (int, error) {
	b := tx.b.Bucket(bucketConsumed)
	if b == nil || len(tx.s.opts.ConsumedProjections) == 0 {
		return 0, nil
	}
	n := 0
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var env envelope.Envelope
		if len(v) < 8 {
			return n, fmt.Errorf("consumed event %x is corrupt", k)
		}
		if err := json.Unmarshal(v[8:], &env); err != nil {
			return n, fmt.Errorf("read consumed event %x: %w", k, err)
		}
		tx.now = time.Unix(0, int64(binary.BigEndian.Uint64(v[:8]))).UTC()
		ev, err := tx.s.opts.Registry.Decode(env)
		if err != nil {
			return n, err
		}
		if err := tx.applyConsumed(env, ev); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
