package eventstore

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// Trimming the mapped file.
//
// bbolt reads its file through a shared memory map. Every page a
// transaction reads stays mapped into the process afterwards, and because
// bbolt copies on write, the hot pages (the right edge of the log, the
// wallets, the SKUs) move to a new place in the file on every commit and are
// mapped again there. Over a long run the process ends up mapping most of
// the file: its RSS grows with the file although the pages it still needs
// are few. They are page cache, shared and reclaimable, but RSS is what
// operators and container limits look at.
//
// So the store periodically tells the kernel it no longer needs the mapped
// pages (madvise MADV_DONTNEED). For a shared file mapping that only drops
// this process's page-table entries: the pages stay in the page cache, the
// next read of one is a minor fault that maps it again, and what it reads is
// the file's content, exactly as before. It runs inside a read transaction,
// which holds bbolt's mmap lock, so the mapping cannot be replaced meanwhile.

// trimLoop trims every opts.TrimEvery until the store closes.
func (s *Store) trimLoop() {
	defer s.trimmer.Done()
	t := time.NewTicker(s.opts.TrimEvery)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			if err := s.TrimMapped(); err != nil {
				s.opts.Logger.Debug().Err(err).Msg("trimming the mapped file failed")
			}
		}
	}
}

// TrimMapped drops the process's mapping of the file's pages (see above).
// It is safe at any time; the store calls it every Options.TrimEvery.
func (s *Store) TrimMapped() error {
	return s.db.View(func(btx *bolt.Tx) error {
		return dontNeed(s.db.Info().Data, uintptr(btx.Size()))
	})
}
