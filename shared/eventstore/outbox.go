package eventstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/choreo-dev/choreo/shared/stages"
	"github.com/choreo-dev/choreo/shared/tracing"
	bolt "go.etcd.io/bbolt"
)

// OutboxEntry is one event waiting to be published.
type OutboxEntry struct {
	Seq     uint64 // position in the outbox; an aggregate's entries are published in Seq order
	Subject string
	MsgID   string // the event id: the Nats-Msg-Id header
	Body    []byte // the envelope JSON, exactly as stored
	// Trace is the trace context the event was appended in, queued with it:
	// a relay after a crash still sends it (zero for entries queued before
	// trace contexts were kept).
	Trace tracing.Context
}

// Outbox values. An entry with a trace context:
//
//	0xFE len(subject)(2) subject len(id)(1) id len(traceparent)(1) traceparent len(tracestate)(2) tracestate body
//
// and one without (every entry written before trace contexts were kept):
//
//	len(subject)(2) subject len(id)(1) id body
//
// A subject is far shorter than 0xFE00 bytes, so the first byte tells them
// apart.
const outboxTraced = 0xFE

// maxSubject bounds an outbox entry's subject (NATS's own limit is lower).
const maxSubject = 0xFE00 - 1

func (tx *Tx) enqueue(subject, id string, body []byte, tc tracing.Context) error {
	if len(subject) > maxSubject || len(id) > 0xff {
		return fmt.Errorf("outbox: subject or id too long")
	}
	if len(tc.Parent) > 0xff || len(tc.State) > 0xffff {
		tc = tracing.Context{} // not a W3C trace context: leave it off
	}
	tx.wrote()
	ob := tx.b.Bucket(bucketOutbox)
	seq, err := ob.NextSequence()
	if err != nil {
		return err
	}
	v := make([]byte, 0, 7+len(subject)+len(id)+len(tc.Parent)+len(tc.State)+len(body))
	if !tc.IsZero() {
		v = append(v, outboxTraced)
	}
	v = binary.BigEndian.AppendUint16(v, uint16(len(subject)))
	v = append(v, subject...)
	v = append(v, byte(len(id)))
	v = append(v, id...)
	if !tc.IsZero() {
		v = append(v, byte(len(tc.Parent)))
		v = append(v, tc.Parent...)
		v = binary.BigEndian.AppendUint16(v, uint16(len(tc.State)))
		v = append(v, tc.State...)
	}
	v = append(v, body...)
	tx.outboxed = true
	if stages.On(subject) {
		tx.traced = append(tx.traced, subject)
	}
	return ob.Put(u64(seq), v)
}

func decodeOutbox(k, v []byte) (OutboxEntry, error) {
	seq := binary.BigEndian.Uint64(k)
	e := OutboxEntry{Seq: seq}
	r := reader{b: v}
	traced := len(v) > 0 && v[0] == outboxTraced
	if traced {
		r.b = v[1:]
	}
	e.Subject = string(r.next(int(r.u16())))
	e.MsgID = string(r.next(int(r.u8())))
	if traced {
		e.Trace.Parent = string(r.next(int(r.u8())))
		e.Trace.State = string(r.next(int(r.u16())))
	}
	if r.bad {
		return OutboxEntry{}, fmt.Errorf("outbox entry %d is corrupt", seq)
	}
	e.Body = append([]byte(nil), r.b...)
	return e, nil
}

// reader takes length-prefixed fields off a byte slice; bad is set once
// it runs short.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) next(n int) []byte {
	if r.bad || len(r.b) < n {
		r.bad = true
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8() uint8 {
	if b := r.next(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if b := r.next(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

// PendingOutbox returns up to limit outbox entries waiting to be published,
// oldest first.
func (s *Store) PendingOutbox(ctx context.Context, limit int) ([]OutboxEntry, error) {
	return s.PendingOutboxAfter(ctx, 0, limit)
}

// PendingOutboxAfter returns up to limit outbox entries waiting to be
// published whose Seq is above after, oldest first. Entries reported
// Published are not waiting: they are only not deleted yet.
func (s *Store) PendingOutboxAfter(ctx context.Context, after uint64, limit int) ([]OutboxEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []OutboxEntry
	// Locked before the snapshot is taken: an entry deleted meanwhile is
	// either still in the set or gone from the snapshot.
	s.published.mu.Lock()
	defer s.published.mu.Unlock()
	err := s.db.View(func(btx *bolt.Tx) error {
		c := btx.Bucket(bucketOutbox).Cursor()
		for k, v := c.Seek(u64(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			if _, ok := s.published.set[binary.BigEndian.Uint64(k)]; ok {
				continue
			}
			e, err := decodeOutbox(k, v)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// OutboxLen is the number of entries waiting to be published.
func (s *Store) OutboxLen(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n int
	s.published.mu.Lock()
	defer s.published.mu.Unlock()
	err := s.db.View(func(btx *bolt.Tx) error {
		c := btx.Bucket(bucketOutbox).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if _, ok := s.published.set[binary.BigEndian.Uint64(k)]; !ok {
				n++
			}
		}
		return nil
	})
	return n, err
}

// Published records that JetStream acknowledged the entries seqs: they are
// no longer pending, and the next commit deletes them (see groupcommit.go;
// a crash first only publishes them again). It returns at once.
func (s *Store) Published(seqs []uint64) {
	if len(seqs) == 0 {
		return
	}
	p := &s.published
	p.mu.Lock()
	for _, seq := range seqs {
		if _, ok := p.set[seq]; !ok {
			p.set[seq] = struct{}{}
			p.queue = append(p.queue, seq)
		}
	}
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// AckOutbox removes entries whose publication JetStream acknowledged, and
// returns once that is committed. Removing an entry twice is harmless.
func (s *Store) AckOutbox(ctx context.Context, seqs []uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.write(func(btx *bolt.Tx) error {
		ob := btx.Bucket(bucketOutbox)
		for _, seq := range seqs {
			if err := ob.Delete(u64(seq)); err != nil {
				return err
			}
		}
		return nil
	})
}

// OutboxOldest returns when the oldest waiting entry's event occurred; ok
// is false if the outbox is empty. How far the relay is behind is
// time.Since of it.
func (s *Store) OutboxOldest() (at time.Time, ok bool, err error) {
	err = s.db.View(func(btx *bolt.Tx) error {
		k, v := btx.Bucket(bucketOutbox).Cursor().First()
		if k == nil {
			return nil
		}
		e, err := decodeOutbox(k, v)
		if err != nil {
			return err
		}
		var head struct {
			OccurredAt time.Time `json:"occurred_at"`
		}
		if err := json.Unmarshal(e.Body, &head); err != nil {
			return fmt.Errorf("outbox entry %d: %w", e.Seq, err)
		}
		at, ok = head.OccurredAt, true
		return nil
	})
	return at, ok, err
}
