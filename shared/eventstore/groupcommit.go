package eventstore

import (
	"errors"
	"time"

	"github.com/choreo-dev/choreo/shared/fault"
	"github.com/choreo-dev/choreo/shared/stages"

	bolt "go.etcd.io/bbolt"
)

// Group commit.
//
// Every write goes through one committer goroutine that runs all the writes
// waiting for it in one bbolt transaction, so they share one fsync. While it
// commits, new writes queue up and form the next batch: under load a batch
// is as large as the arrivals during one commit, and a lone write commits at
// once, with no timer to wait out (bbolt's own DB.Batch waits MaxBatchDelay
// and closes a batch before it can get the writer lock, so its batches stay
// small when fsync is slow).
//
// As with DB.Batch, if a write of a batch fails after writing, the
// transaction is rolled back, the failing write is run again on its own by
// its caller, and the others are run again together: a write may run more
// than once. A write that fails without having written anything (a refused
// command, say: a 409) is simply left out of the commit, with its error,
// and costs the others nothing. It returns its error only once the batch
// has committed, since it may have decided on what the writes before it in
// the batch wrote; if the commit fails, it gets the commit's error.

// ErrClosed is returned by writes to a closed store. It is transient (see
// package fault): a consumer retries the message rather than dead-letter it.
var ErrClosed = fault.MarkTransient(errors.New("event store is closed"))

var errTrySolo = errors.New("eventstore: run the write alone")

// refusal is a write's error when the write wrote nothing: the batch
// commits without it.
type refusal struct{ err error }

func (r refusal) Error() string { return r.err.Error() }

type write struct {
	fn   func(*bolt.Tx) error
	done chan error // buffered: the committer never blocks on it
	err  error      // the last run's error: a refusal when the batch commits
	// outboxed is set by a write that queued outbox entries: once its batch
	// commits, the relay is woken at once.
	outboxed bool
	// committing is when every closure of the write's batch had run and
	// bbolt's commit began, committed when it returned; set only while
	// stages are recorded.
	committing, committed time.Time
	// seqs are the outbox entries a delete write (takeDeletes) deletes.
	seqs []uint64
}

// Deleting published outbox entries.
//
// The relay reports what JetStream acknowledged (Store.Published) and moves
// on: it does not wait for the delete. The deletes ride along in the next
// group commit, which happens anyway while the service works, so they cost
// no fsync of their own; if no write comes within outboxDeleteDelay, they
// are committed alone. Until they commit, PendingOutbox skips those entries.
// A crash before then leaves them in the outbox, and the relay publishes
// them again after the restart under the same Nats-Msg-Id: JetStream drops
// the duplicate within its window, the consumers' inboxes after it — as
// when a crash fell between a PubAck and the delete before.
const outboxDeleteDelay = 50 * time.Millisecond

func (s *Store) commitLoop() {
	defer close(s.stopped)
	idle := time.NewTimer(time.Hour)
	idle.Stop()
	armed := false
	for {
		var batch []*write
		select {
		case w := <-s.writes:
			batch = append(batch, w)
		case <-s.published.kick:
			// Deletes wait for the next write, or the timer.
			if !armed {
				idle.Reset(outboxDeleteDelay)
				armed = true
			}
			continue
		case <-idle.C:
			armed = false
		case <-s.quit:
			// What JetStream acknowledged is deleted before the file closes.
			if d := s.takeDeletes(); d != nil {
				s.commit([]*write{d})
				s.settleDeletes(d)
			}
			return
		}
	fill:
		for len(batch) < s.opts.MaxBatch {
			select {
			case w := <-s.writes:
				batch = append(batch, w)
			default:
				break fill
			}
		}
		d := s.takeDeletes()
		if d != nil {
			batch = append(batch, d)
			if armed && !idle.Stop() {
				<-idle.C
			}
			armed = false
		}
		if len(batch) > 0 {
			s.commit(batch)
		}
		if d != nil && !s.settleDeletes(d) && !armed {
			idle.Reset(outboxDeleteDelay) // try again
			armed = true
		}
	}
}

// takeDeletes returns a write deleting the outbox entries reported
// published and not yet deleted, or nil if there are none.
func (s *Store) takeDeletes() *write {
	p := &s.published
	p.mu.Lock()
	seqs := p.queue
	p.queue = nil
	p.mu.Unlock()
	if len(seqs) == 0 {
		return nil
	}
	return &write{done: make(chan error, 1), fn: func(btx *bolt.Tx) error {
		ob := btx.Bucket(bucketOutbox)
		for _, seq := range seqs {
			if err := ob.Delete(u64(seq)); err != nil {
				return err
			}
		}
		return nil
	}, seqs: seqs}
}

// settleDeletes forgets the entries d deleted, once committed, and queues
// them again otherwise; it reports whether they were committed.
func (s *Store) settleDeletes(d *write) bool {
	seqs := d.seqs
	err := <-d.done
	p := &s.published
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.queue = append(p.queue, seqs...)
		return false
	}
	for _, seq := range seqs {
		delete(p.set, seq)
	}
	return true
}

func (s *Store) commit(batch []*write) {
	for len(batch) > 0 {
		failed := -1
		began := time.Now()
		err := s.db.Update(func(btx *bolt.Tx) error {
			for i, w := range batch {
				w.err = w.fn(btx)
				if _, refused := w.err.(refusal); refused {
					continue
				}
				if w.err != nil {
					failed = i
					return w.err
				}
			}
			if stages.Enabled() {
				now := time.Now()
				for _, w := range batch {
					w.committing = now
				}
			}
			return nil
		})
		if failed >= 0 {
			batch[failed].done <- errTrySolo
			batch = append(batch[:failed], batch[failed+1:]...)
			continue
		}
		if s.opts.CommitObserver != nil {
			s.opts.CommitObserver(time.Since(began), len(batch))
		}
		if err == nil && stages.Enabled() {
			now := time.Now()
			for _, w := range batch {
				w.committed = now
			}
		}
		if err == nil {
			for _, w := range batch {
				if w.outboxed && w.err == nil {
					s.notifyOutboxed() // before the writers hear: the relay starts at once
					break
				}
			}
		}
		for _, w := range batch {
			if err != nil {
				w.done <- err // the commit failed
			} else {
				w.done <- w.err
			}
		}
		return
	}
}

// write runs fn in a group-committed write transaction.
func (s *Store) write(fn func(*bolt.Tx) error) error {
	return s.submit(&write{fn: fn, done: make(chan error, 1)})
}

// submit runs w.fn in a group-committed write transaction.
func (s *Store) submit(w *write) error {
	fn := w.fn
	select {
	case s.writes <- w:
	case <-s.quit:
		return ErrClosed
	}
	var err error
	select {
	case err = <-w.done:
	case <-s.stopped:
		select {
		case err = <-w.done:
		default:
			return ErrClosed
		}
	}
	if errors.Is(err, errTrySolo) {
		if err = s.db.Update(fn); err == nil && w.outboxed {
			s.notifyOutboxed()
		}
	}
	if r, ok := err.(refusal); ok {
		return r.err
	}
	return err
}

// notifyOutboxed wakes the relay (without blocking, coalescing).
func (s *Store) notifyOutboxed() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}
