package eventstore

// QueuedWrites is how many writes wait for the committer, for tests that
// need them to form one batch.
func QueuedWrites(s *Store) int { return len(s.writes) }
