package eventstore

import bolt "go.etcd.io/bbolt"

// QueuedWrites is how many writes wait for the committer, for tests that
// need them to form one batch.
func QueuedWrites(s *Store) int { return len(s.writes) }

// OutboxStored is how many entries the outbox bucket holds on disk,
// published ones not yet deleted included.
func OutboxStored(s *Store) int {
	n := 0
	_ = s.db.View(func(btx *bolt.Tx) error { n = btx.Bucket(bucketOutbox).Stats().KeyN; return nil })
	return n
}

// Commits is the id of the last committed write transaction: how many
// commits the file has seen.
func Commits(s *Store) int {
	n := 0
	_ = s.db.View(func(btx *bolt.Tx) error { n = int(btx.ID()); return nil })
	return n
}
