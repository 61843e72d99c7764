package eventstore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/choreo-dev/choreo/shared/tracing"
	bolt "go.etcd.io/bbolt"
)

// Tx is one transaction on the store: read-only inside View, read-write
// inside Update.
type Tx struct {
	b        *bolt.Tx
	s        *Store
	now      time.Time
	outboxed bool
	// dirty is set before the transaction's first write: every write goes
	// through a Tx method, which calls wrote.
	dirty bool
	// states holds the state each Save left an aggregate in, by aggregate
	// key: later loads in this transaction use it, and the store's cache
	// takes it once the transaction commits. The closures of one batch share
	// it.
	states map[string]cached
	// appended lists the types of the events appended in this transaction,
	// in order: a saga reaction checks it against what it declared.
	appended []string
	// dropped is set when its closure refused without writing and the
	// batch committed without it (see Store.Update): its OnCommit hooks
	// must not run.
	dropped bool
	// undo lists what this Tx changed in states, oldest first, so that a
	// closure dropped from its batch takes its changes back.
	undo []stateUndo
	// trace is the trace context of the ctx Update was given: the events
	// appended in the transaction happen in it (see trace.go).
	trace tracing.Context
	// rebuilding is set while RebuildProjections replays the log.
	rebuilding bool
	// traced lists the subjects of the outbox entries queued in this
	// transaction whose stages are recorded (package stages).
	traced []string
}

// Appended returns the types of the events appended in this transaction so
// far, oldest first. The slice must not be modified.
func (tx *Tx) Appended() []string { return tx.appended }

// MaxEventSize bounds an event's envelope, in bytes: 256 KiB, a quarter of
// NATS's default max payload (1 MiB), so that every event a service stores
// can be published — and dead-lettered with its headers — whatever it
// carries. The contract's request limits keep real events far below it
// (an order.place body is at most 64 KiB); this is the safety net.
const MaxEventSize = 256 << 10

// Meta is what an append records about why the events happened.
type Meta struct {
	// CorrelationID ties every event of one saga together: the order id.
	CorrelationID string
	// CausationID is the id of the command or event that caused these events.
	CausationID string
	// Trace is the trace context the events happen in, kept with each public
	// event and its outbox entry. Zero means the transaction's: the one the
	// ctx given to Update carried.
	Trace tracing.Context
}

// stateUndo is how to put back one entry of states.
type stateUndo struct {
	key  string
	prev cached
	had  bool
}

// setState sets the state of an aggregate key, keeping how to undo it.
func (tx *Tx) setState(key string, e cached) {
	if tx.states == nil {
		// A write transaction not made by Update (a rebuild): keep it local.
		tx.states = map[string]cached{}
	}
	prev, had := tx.states[key]
	tx.undo = append(tx.undo, stateUndo{key: key, prev: prev, had: had})
	tx.states[key] = e
}

// restoreStates undoes the changes to states after the first mark of them.
func (tx *Tx) restoreStates(mark int) {
	for i := len(tx.undo) - 1; i >= mark; i-- {
		if u := tx.undo[i]; u.had {
			tx.states[u.key] = u.prev
		} else {
			delete(tx.states, u.key)
		}
	}
	tx.undo = tx.undo[:mark]
}

// wrote records that the transaction is about to write.
func (tx *Tx) wrote() { tx.dirty = true }

// Now is the transaction's clock reading, in UTC.
func (tx *Tx) Now() time.Time { return tx.now }

// Writable reports whether this is a write transaction.
func (tx *Tx) Writable() bool { return tx.b.Writable() }

func aggKey(aggType, aggID string) []byte {
	k := make([]byte, 0, len(aggType)+1+len(aggID))
	k = append(k, aggType...)
	k = append(k, 0)
	return append(k, aggID...)
}

func eventKey(ak []byte, version uint64) []byte {
	k := make([]byte, 0, len(ak)+9)
	k = append(k, ak...)
	k = append(k, 0)
	return append(k, u64(version)...)
}

// Version returns the aggregate's current version: 0 if it has no events.
func (tx *Tx) Version(aggType, aggID string) uint64 {
	ak := aggKey(aggType, aggID)
	prefix := append(ak, 0)
	c := tx.b.Bucket(bucketEvents).Cursor()
	// The next key after the aggregate's keys; seek there and step back.
	k, _ := c.Seek(append(append([]byte{}, ak...), 1))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, prefix) || len(k) != len(prefix)+8 {
		return 0
	}
	return binary.BigEndian.Uint64(k[len(prefix):])
}

// Events calls fn for each stored event of the aggregate with a version above
// after, oldest first.
func (tx *Tx) Events(aggType, aggID string, after uint64, fn func(envelope.Envelope) error) error {
	ak := aggKey(aggType, aggID)
	prefix := append(ak, 0)
	c := tx.b.Bucket(bucketEvents).Cursor()
	for k, v := c.Seek(eventKey(ak, after+1)); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, v = c.Next() {
		var e envelope.Envelope
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("read %s/%s v%d: %w", aggType, aggID, binary.BigEndian.Uint64(k[len(prefix):]), err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// Append stores events for one aggregate at expected+1, expected+2, …, queues
// the public ones in the outbox and applies the projections. If the aggregate
// is not at version expected, it fails with ErrConcurrencyConflict and writes
// nothing.
func (tx *Tx) Append(aggType, aggID string, expected uint64, meta Meta, events ...envelope.Event) ([]envelope.Envelope, error) {
	if !tx.b.Writable() {
		return nil, ErrReadOnly
	}
	if len(events) == 0 {
		return nil, nil
	}
	if cur := tx.Version(aggType, aggID); cur != expected {
		conflicts.Add(1)
		return nil, fmt.Errorf("append %s/%s at v%d, store has v%d: %w", aggType, aggID, expected, cur, ErrConcurrencyConflict)
	}
	ak := aggKey(aggType, aggID)
	reg := tx.s.opts.Registry
	tc := meta.Trace
	if tc.IsZero() {
		tc = tx.trace
	}
	envs := make([]envelope.Envelope, len(events))
	for i, ev := range events {
		typ := ev.EventType()
		if !reg.Knows(typ) {
			return nil, fmt.Errorf("append %s/%s: %s: %w", aggType, aggID, typ, envelope.ErrUnknownType)
		}
		// A service stores its own events only: its public ones (registered
		// with RegisterPublic under its name), published through the outbox,
		// and its private ones, kept in its log. Another service's event
		// type here is a programming error.
		publisher := reg.Publisher(typ)
		if publisher != "" && publisher != tx.s.opts.Service {
			return nil, fmt.Errorf("append %s/%s: %s is published by %s, not %s: %w", aggType, aggID, typ, publisher, tx.s.opts.Service, ErrNotOwner)
		}
		data, err := json.Marshal(ev)
		if err != nil {
			return nil, fmt.Errorf("append %s/%s: encode %s: %w", aggType, aggID, typ, err)
		}
		env := envelope.Envelope{
			ID: envelope.NewID(), Type: typ, SchemaVersion: reg.SchemaVersion(typ),
			AggregateType: aggType, AggregateID: aggID, Version: expected + uint64(i) + 1,
			OccurredAt: tx.now, CorrelationID: meta.CorrelationID, CausationID: meta.CausationID,
			Data: data,
		}
		body, err := envelope.Encode(env) // data is json.Marshal's output: not encoded twice
		if err != nil {
			return nil, fmt.Errorf("append %s/%s: encode envelope: %w", aggType, aggID, err)
		}
		if len(body) > MaxEventSize {
			return nil, fmt.Errorf("append %s/%s: %s is %d bytes, limit %d: %w", aggType, aggID, typ, len(body), MaxEventSize, ErrEventTooLarge)
		}
		ek := eventKey(ak, env.Version)
		tx.wrote()
		if err := tx.b.Bucket(bucketEvents).Put(ek, body); err != nil {
			return nil, fmt.Errorf("append %s/%s: %w", aggType, aggID, err)
		}
		log := tx.b.Bucket(bucketLog)
		pos, _ := log.NextSequence()
		if err := log.Put(u64(pos), ek); err != nil {
			return nil, fmt.Errorf("append %s/%s: log: %w", aggType, aggID, err)
		}
		if publisher != "" {
			if err := tx.keepTrace(ek, tc); err != nil {
				return nil, fmt.Errorf("append %s/%s: trace: %w", aggType, aggID, err)
			}
			if err := tx.enqueue(streams.Subject(tx.s.opts.Service, typ, aggID), env.ID, body, tc); err != nil {
				return nil, fmt.Errorf("append %s/%s: outbox: %w", aggType, aggID, err)
			}
		}
		envs[i] = env
		tx.appended = append(tx.appended, typ)
	}
	for i, env := range envs {
		for _, p := range tx.s.opts.Projections {
			if err := p.Apply(tx, env, events[i]); err != nil {
				return nil, fmt.Errorf("project %s %s/%s v%d: %w", env.Type, aggType, aggID, env.Version, err)
			}
		}
	}
	return envs, nil
}
