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
	// committing is when every closure of the write's batch had run and
	// bbolt's commit began; set only while stages are recorded.
	committing time.Time
}

func (s *Store) commitLoop() {
	defer close(s.stopped)
	for {
		var first *write
		select {
		case first = <-s.writes:
		case <-s.quit:
			return
		}
		batch := []*write{first}
	fill:
		for len(batch) < s.opts.MaxBatch {
			select {
			case w := <-s.writes:
				batch = append(batch, w)
			default:
				break fill
			}
		}
		s.commit(batch)
	}
}

func (s *Store) commit(batch []*write) {
	for len(batch) > 0 {
		failed := -1
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
		err = s.db.Update(fn)
	}
	if r, ok := err.(refusal); ok {
		return r.err
	}
	return err
}
