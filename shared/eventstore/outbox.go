package eventstore

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/choreo-dev/choreo/shared/stages"

	bolt "go.etcd.io/bbolt"
)

// OutboxEntry is one event waiting to be published.
type OutboxEntry struct {
	Seq     uint64 // position in the outbox; entries are published in Seq order
	Subject string
	MsgID   string // the event id: the Nats-Msg-Id header
	Body    []byte // the envelope JSON, exactly as stored
}

// Outbox values: len(subject) (2) subject len(id) (1) id body.
func (tx *Tx) enqueue(subject, id string, body []byte) error {
	if len(subject) > 0xffff || len(id) > 0xff {
		return fmt.Errorf("outbox: subject or id too long")
	}
	tx.wrote()
	ob := tx.b.Bucket(bucketOutbox)
	seq, err := ob.NextSequence()
	if err != nil {
		return err
	}
	v := make([]byte, 0, 3+len(subject)+len(id)+len(body))
	v = binary.BigEndian.AppendUint16(v, uint16(len(subject)))
	v = append(v, subject...)
	v = append(v, byte(len(id)))
	v = append(v, id...)
	v = append(v, body...)
	tx.outboxed = true
	if stages.On(subject) {
		tx.traced = append(tx.traced, subject)
	}
	return ob.Put(u64(seq), v)
}

func decodeOutbox(k, v []byte) (OutboxEntry, error) {
	seq := binary.BigEndian.Uint64(k)
	bad := fmt.Errorf("outbox entry %d is corrupt", seq)
	if len(v) < 2 {
		return OutboxEntry{}, bad
	}
	n := int(binary.BigEndian.Uint16(v))
	if len(v) < 2+n+1 {
		return OutboxEntry{}, bad
	}
	subject := string(v[2 : 2+n])
	m := int(v[2+n])
	rest := v[3+n:]
	if len(rest) < m {
		return OutboxEntry{}, bad
	}
	return OutboxEntry{Seq: seq, Subject: subject, MsgID: string(rest[:m]), Body: append([]byte(nil), rest[m:]...)}, nil
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
