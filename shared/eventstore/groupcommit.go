package eventstore

import (
	"errors"
	"time"

	"github.com/choreo-dev/choreo/shared/fault"

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
// As with DB.Batch, if one write of a batch fails, the transaction is rolled
// back, the failing write is run again on its own by its caller, and the
// others are run again together: a write may run more than once.

// ErrClosed is returned by writes to a closed store. It is transient (see
// package fault): a consumer retries the message rather than dead-letter it.
var ErrClosed = fault.MarkTransient(errors.New("event store is closed"))

var errTrySolo = errors.New("eventstore: run the write alone")

type write struct {
	fn   func(*bolt.Tx) error
	done chan error // buffered: the committer never blocks on it
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
		began := time.Now()
		err := s.db.Update(func(btx *bolt.Tx) error {
			for i, w := range batch {
				if err := w.fn(btx); err != nil {
					failed = i
					return err
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
		for _, w := range batch {
			w.done <- err
		}
		return
	}
}

// write runs fn in a group-committed write transaction.
func (s *Store) write(fn func(*bolt.Tx) error) error {
	w := &write{fn: fn, done: make(chan error, 1)}
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
		return s.db.Update(fn)
	}
	return err
}
