package eventstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/natstest"
)

// Entries reported published are no longer pending at once, and their
// deletes ride along in the next commit: publishing costs no commit of its
// own while the service writes.
func TestPublishedEntriesAreDeletedByTheNextCommit(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	add(t, s, "a", 1)
	start := eventstore.Commits(s)
	const n = 20
	for i := range n {
		pending, err := s.PendingOutbox(t.Context(), 10)
		if err != nil || len(pending) != 1 {
			t.Fatalf("round %d: pending %v, %v; want the one entry just added", i, pending, err)
		}
		s.Published([]uint64{pending[0].Seq})
		if left, _ := s.PendingOutbox(t.Context(), 10); len(left) != 0 {
			t.Fatalf("round %d: a published entry is still pending: %v", i, left)
		}
		if n, _ := s.OutboxLen(t.Context()); n != 0 {
			t.Fatalf("round %d: OutboxLen %d after Published", i, n)
		}
		add(t, s, "a", 1)
		// The append's commit took the delete with it.
		if got := eventstore.OutboxStored(s); got != 1 {
			t.Fatalf("round %d: %d entries stored, want only the new one", i, got)
		}
	}
	if got := eventstore.Commits(s) - start; got != n {
		t.Errorf("%d appends and %d deletes took %d commits, want %d", n, n, got, n)
	}
}

// With no write to ride along with, the deletes are committed alone, soon.
func TestPublishedEntriesAreDeletedWhenIdle(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	add(t, s, "a", 1)
	add(t, s, "b", 1)
	pending, _ := s.PendingOutbox(t.Context(), 10)
	s.Published([]uint64{pending[0].Seq, pending[1].Seq})
	natstest.Eventually(t, 5*time.Second, func() error {
		if got := eventstore.OutboxStored(s); got != 0 {
			return fmt.Errorf("%d entries stored", got)
		}
		return nil
	})
}

// Closing the store commits the deletes it holds: a clean restart publishes
// nothing twice.
func TestCloseDeletesWhatWasPublished(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := eventstore.Open(path, eventstore.Options{Service: "test", Registry: registry()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		add(t, s, fmt.Sprint("c", i), 1)
	}
	pending, _ := s.PendingOutbox(t.Context(), 10)
	s.Published([]uint64{pending[0].Seq, pending[1].Seq})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, path, 100)
	left, err := s.PendingOutbox(context.Background(), 10)
	if err != nil || len(left) != 1 || left[0].Seq != pending[2].Seq {
		t.Fatalf("after reopening: pending %v, %v; want only entry %d", left, err, pending[2].Seq)
	}
}

// PendingOutboxAfter reads from a position: what the relay has read before
// is not read again.
func TestPendingOutboxAfter(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	for i := range 5 {
		add(t, s, fmt.Sprint("d", i), 1)
	}
	all, _ := s.PendingOutbox(t.Context(), 10)
	rest, err := s.PendingOutboxAfter(t.Context(), all[1].Seq, 10)
	if err != nil || len(rest) != 3 || rest[0].Seq != all[2].Seq {
		t.Fatalf("after %d: %v, %v; want the last 3", all[1].Seq, rest, err)
	}
	s.Published([]uint64{all[3].Seq})
	rest, _ = s.PendingOutboxAfter(t.Context(), all[1].Seq, 10)
	if len(rest) != 2 || rest[0].Seq != all[2].Seq || rest[1].Seq != all[4].Seq {
		t.Fatalf("after %d with %d published: %v", all[1].Seq, all[3].Seq, rest)
	}
}
