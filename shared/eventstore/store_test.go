package eventstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
)

// A tiny counter aggregate for the tests.
type added struct {
	N int `json:"n"`
}

func (added) EventType() string { return "Added" }

type noted struct{}

func (noted) EventType() string { return "Noted" }

// heard is published by another service: a store may read it, never append it.
type heard struct{}

func (heard) EventType() string { return "Heard" }

type counter struct {
	ID    string `json:"id"`
	Total int    `json:"total"`
	Count int    `json:"count"`
}

var counterAgg = eventstore.Aggregate[counter]{
	Type: "counter",
	New:  func(id string) counter { return counter{ID: id} },
	Evolve: func(c counter, e envelope.Event) counter {
		if a, ok := e.(added); ok {
			c.Total += a.N
			c.Count++
		}
		return c
	},
}

// totals is a projection: the running total of every counter.
type totals struct{}

func (totals) Buckets() []string { return []string{"totals"} }
func (totals) Apply(tx *eventstore.Tx, e envelope.Envelope, ev envelope.Event) error {
	a, ok := ev.(added)
	if !ok {
		return nil
	}
	b := tx.ViewBucket("totals")
	var cur int
	if v := b.Get([]byte(e.AggregateID)); v != nil {
		_ = json.Unmarshal(v, &cur)
	}
	v, _ := json.Marshal(cur + a.N)
	return b.Put([]byte(e.AggregateID), v)
}

func registry() *envelope.Registry {
	r := envelope.NewRegistry()
	envelope.RegisterPublic[added](r, "test")
	envelope.Register[noted](r)
	envelope.Register[boom](r)
	envelope.RegisterPublic[heard](r, "other")
	return r
}

func openStore(t *testing.T, path string, every uint64) *eventstore.Store {
	return openStoreCache(t, path, every, 0)
}

// openStoreCache opens a store with the given state cache size (0 is the
// default, negative disables it).
func openStoreCache(t *testing.T, path string, every uint64, cache int) *eventstore.Store {
	t.Helper()
	s, err := eventstore.Open(path, eventstore.Options{
		Service: "test", Registry: registry(), SnapshotEvery: every, Projections: []eventstore.Projection{totals{}},
		CacheEntries: cache,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Every test leaves a file that passes bbolt's own consistency check.
		if err := s.Check(context.Background()); err != nil && !errors.Is(err, eventstore.ErrClosed) {
			t.Errorf("consistency check: %v", err)
		}
		s.Close()
	})
	return s
}

func newStore(t *testing.T) *eventstore.Store {
	return openStore(t, filepath.Join(t.TempDir(), "test.db"), 100)
}

func add(t *testing.T, s *eventstore.Store, id string, n int) {
	t.Helper()
	err := s.Update(context.Background(), func(tx *eventstore.Tx) error {
		_, err := eventstore.Update(tx, counterAgg, id, eventstore.Meta{CorrelationID: id}, func(counter) ([]envelope.Event, error) {
			return []envelope.Event{added{N: n}}, nil
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func load(t *testing.T, s *eventstore.Store, id string) (counter, uint64) {
	t.Helper()
	var c counter
	var v uint64
	if err := s.View(t.Context(), func(tx *eventstore.Tx) (err error) {
		c, v, err = eventstore.Load(tx, counterAgg, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return c, v
}

func TestRoundTripAndReopen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.db")
	s := openStore(t, path, 100)
	for i := 1; i <= 3; i++ {
		add(t, s, "a", i)
	}
	add(t, s, "b", 10)
	if c, v := load(t, s, "a"); c.Total != 6 || v != 3 {
		t.Fatalf("a = %+v v%d, want total 6 at v3", c, v)
	}
	var envs []envelope.Envelope
	_ = s.View(t.Context(), func(tx *eventstore.Tx) error {
		return tx.Events("counter", "a", 0, func(e envelope.Envelope) error { envs = append(envs, e); return nil })
	})
	if len(envs) != 3 || envs[0].Version != 1 || envs[2].Version != 3 || envs[0].Type != "Added" || envs[0].CorrelationID != "a" {
		t.Fatalf("events = %+v", envs)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t, path, 100)
	if c, v := load(t, s2, "a"); c.Total != 6 || v != 3 {
		t.Fatalf("after reopen a = %+v v%d", c, v)
	}
	if c, v := load(t, s2, "b"); c.Total != 10 || v != 1 {
		t.Fatalf("after reopen b = %+v v%d", c, v)
	}
	if c, v := load(t, s2, "nobody"); c.ID != "nobody" || v != 0 {
		t.Fatalf("unknown aggregate = %+v v%d", c, v)
	}
}

func TestStaleVersionConflicts(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	add(t, s, "a", 1)
	err := s.Update(context.Background(), func(tx *eventstore.Tx) error {
		_, err := tx.Append("counter", "a", 0, eventstore.Meta{}, added{N: 5})
		return err
	})
	if !errors.Is(err, eventstore.ErrConcurrencyConflict) {
		t.Fatalf("err = %v, want ErrConcurrencyConflict", err)
	}
	if c, v := load(t, s, "a"); c.Total != 1 || v != 1 {
		t.Fatalf("stale append changed the aggregate: %+v v%d", c, v)
	}
	if n, _ := s.OutboxLen(t.Context()); n != 1 {
		t.Fatalf("outbox has %d entries, want 1", n)
	}
}

func TestConcurrentAppendersExactlyOneWins(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.Update(context.Background(), func(tx *eventstore.Tx) error {
				_, err := tx.Append("counter", "race", 0, eventstore.Meta{}, added{N: i + 1})
				return err
			})
		}()
	}
	close(start)
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, eventstore.ErrConcurrencyConflict):
			t.Fatalf("unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d appenders won, want exactly 1", wins)
	}
	if c, v := load(t, s, "race"); v != 1 || c.Count != 1 {
		t.Fatalf("race = %+v v%d", c, v)
	}
}

func TestSnapshotPlusTailEqualsFullReplay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// No state cache: every load reads the snapshot and replays the tail.
	snap := openStoreCache(t, filepath.Join(dir, "snap.db"), 7, -1)
	full := openStoreCache(t, filepath.Join(dir, "full.db"), 1<<62, -1)
	for i := 1; i <= 52; i++ {
		add(t, snap, "a", i)
		add(t, full, "a", i)
		cs, vs := load(t, snap, "a")
		cf, vf := load(t, full, "a")
		if cs != cf || vs != vf {
			t.Fatalf("after %d events: snapshot+tail %+v v%d, full replay %+v v%d", i, cs, vs, cf, vf)
		}
	}
}

func TestOutboxAndInboxCommitWithTheEvents(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	boom := errors.New("boom")
	// A failing closure leaves no event, no outbox entry, no inbox mark, no view change.
	err := s.Update(context.Background(), func(tx *eventstore.Tx) error {
		if _, err := tx.Append("counter", "a", 0, eventstore.Meta{}, added{N: 1}); err != nil {
			return err
		}
		if err := tx.MarkHandled("evt-1"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	// A panicking one too, and the panic does not escape.
	err = s.Update(context.Background(), func(tx *eventstore.Tx) error {
		_, _ = tx.Append("counter", "a", 0, eventstore.Meta{}, added{N: 1})
		panic("handler bug")
	})
	if err == nil || !strings.Contains(err.Error(), "handler bug") {
		t.Fatalf("panic err = %v", err)
	}
	check := func(wantEvents uint64, wantOutbox int, wantHandled bool, wantTotal string) {
		t.Helper()
		if _, v := load(t, s, "a"); v != wantEvents {
			t.Fatalf("version %d, want %d", v, wantEvents)
		}
		if n, _ := s.OutboxLen(t.Context()); n != wantOutbox {
			t.Fatalf("outbox %d, want %d", n, wantOutbox)
		}
		_ = s.View(t.Context(), func(tx *eventstore.Tx) error {
			if got := tx.Handled("evt-1"); got != wantHandled {
				t.Fatalf("handled = %v, want %v", got, wantHandled)
			}
			got := string(tx.ViewBucket("totals").Get([]byte("a")))
			if got != wantTotal {
				t.Fatalf("view = %q, want %q", got, wantTotal)
			}
			return nil
		})
	}
	check(0, 0, false, "")
	err = s.Update(context.Background(), func(tx *eventstore.Tx) error {
		if _, err := tx.Append("counter", "a", 0, eventstore.Meta{}, added{N: 4}, noted{}); err != nil {
			return err
		}
		return tx.MarkHandled("evt-1")
	})
	if err != nil {
		t.Fatal(err)
	}
	// The private event is stored but not queued for publishing.
	check(2, 1, true, "4")
	entries, err := s.PendingOutbox(t.Context(), 10)
	if err != nil || len(entries) != 1 {
		t.Fatalf("pending = %v, %v", entries, err)
	}
	e := entries[0]
	env, err := envelope.Parse(e.Body)
	if err != nil {
		t.Fatal(err)
	}
	if e.Subject != "test.events.Added.a" || e.MsgID != env.ID || env.Version != 1 {
		t.Fatalf("entry = %+v env %+v", e, env)
	}
	if err := s.AckOutbox(t.Context(), []uint64{e.Seq}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.OutboxLen(t.Context()); n != 0 {
		t.Fatalf("outbox after ack: %d", n)
	}
}

// A store appends only its own events: another service's public event type
// is refused and nothing is written.
func TestAppendOfAnotherServicesEventIsRefused(t *testing.T) {
	t.Parallel()
	s := openStore(t, filepath.Join(t.TempDir(), "s.db"), 100)
	err := s.Update(context.Background(), func(tx *eventstore.Tx) error {
		_, err := tx.Append("counter", "c1", 0, eventstore.Meta{}, heard{})
		return err
	})
	if !errors.Is(err, eventstore.ErrNotOwner) {
		t.Fatalf("append of another service's event: %v, want ErrNotOwner", err)
	}
	if n, _ := s.OutboxLen(t.Context()); n != 0 {
		t.Fatalf("outbox holds %d entries after a refused append", n)
	}
	_ = s.View(t.Context(), func(tx *eventstore.Tx) error {
		if v := tx.Version("counter", "c1"); v != 0 {
			t.Fatalf("counter at v%d after a refused append", v)
		}
		return nil
	})
}

func TestOutboxKeepsCommitOrder(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	for i := range 30 {
		add(t, s, fmt.Sprintf("c%d", i%4), i)
	}
	entries, _ := s.PendingOutbox(t.Context(), 100)
	if len(entries) != 30 {
		t.Fatalf("%d entries", len(entries))
	}
	for i, e := range entries {
		var env struct {
			Data added `json:"data"`
		}
		_ = json.Unmarshal(e.Body, &env)
		if env.Data.N != i {
			t.Fatalf("entry %d carries n=%d: outbox out of commit order", i, env.Data.N)
		}
	}
}

func TestRebuildProjectionsFromLog(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	for i := 1; i <= 10; i++ {
		add(t, s, fmt.Sprintf("c%d", i%3), i)
	}
	read := func() map[string]string {
		m := map[string]string{}
		_ = s.View(t.Context(), func(tx *eventstore.Tx) error {
			for k, v := range tx.ViewBucket("totals").Scan(eventstore.Range{}) {
				m[string(k)] = string(v)
			}
			return nil
		})
		return m
	}
	before := read()
	// Corrupt the view, then rebuild it from the log.
	_ = s.Update(context.Background(), func(tx *eventstore.Tx) error { return tx.ViewBucket("totals").Put([]byte("c1"), []byte("999")) })
	n, err := s.RebuildProjections(t.Context())
	if err != nil || n != 10 {
		t.Fatalf("rebuild: %d events, %v", n, err)
	}
	after := read()
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatalf("rebuilt %v, want %v", after, before)
	}
}

func TestPruneInbox(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := eventstore.Open(filepath.Join(t.TempDir(), "p.db"), eventstore.Options{
		Service: "test", Registry: registry(), Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 10 {
		now = now.Add(time.Hour)
		_ = s.Update(context.Background(), func(tx *eventstore.Tx) error { return tx.MarkHandled(fmt.Sprintf("e%d", i)) })
	}
	// Entries e0..e4 were handled at hours 1..5.
	removed := 0
	for {
		n, err := s.PruneInbox(t.Context(), time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC), 2)
		if err != nil {
			t.Fatal(err)
		}
		removed += n
		if n < 2 {
			break
		}
	}
	if removed != 5 {
		t.Fatalf("removed %d, want 5", removed)
	}
	_ = s.View(t.Context(), func(tx *eventstore.Tx) error {
		if tx.Handled("e4") || !tx.Handled("e5") {
			t.Fatalf("pruned the wrong entries")
		}
		return nil
	})
}

func TestSecondOpenFailsFast(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "l.db")
	_ = openStore(t, path, 100)
	_, err := eventstore.Open(path, eventstore.Options{Service: "test", Registry: registry(), LockTimeout: 200 * time.Millisecond})
	if !errors.Is(err, eventstore.ErrLocked) {
		t.Fatalf("err = %v, want ErrLocked", err)
	}
}

// A transaction that rolls back must not leave its states in the cache: the
// version it wrote may later be written with another event.
func TestRolledBackStateDoesNotPoisonCache(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	add(t, s, "a", 1)
	_ = s.Update(context.Background(), func(tx *eventstore.Tx) error {
		c, v, _ := eventstore.Load(tx, counterAgg, "a")
		if _, _, err := eventstore.Save(tx, counterAgg, "a", c, v, eventstore.Meta{}, added{N: 1000}); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	add(t, s, "a", 2)
	if c, v := load(t, s, "a"); c.Total != 3 || v != 2 {
		t.Fatalf("a = %+v v%d, want total 3 at v2", c, v)
	}
	reopened := func() counter {
		var c counter
		_ = s.View(t.Context(), func(tx *eventstore.Tx) error {
			var err error
			c, _, err = eventstore.Load(tx, counterAgg, "a")
			return err
		})
		return c
	}
	if c := reopened(); c.Total != 3 {
		t.Fatalf("cached state %+v", c)
	}
}

// Concurrent writes share transactions; one that fails rolls its batch back,
// gets its own error, and the others still commit, each exactly once.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, 60)
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Update(context.Background(), func(tx *eventstore.Tx) error {
				id := fmt.Sprintf("g%d", i)
				if _, err := tx.Append("counter", id, tx.Version("counter", id), eventstore.Meta{}, added{N: i}); err != nil {
					return err
				}
				if i%5 == 0 {
					return boom
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		_, v := load(t, s, fmt.Sprintf("g%d", i))
		switch {
		case i%5 == 0 && (!errors.Is(err, boom) || v != 0):
			t.Errorf("write %d: err %v, version %d; want boom and nothing written", i, err, v)
		case i%5 != 0 && (err != nil || v != 1):
			t.Errorf("write %d: err %v, version %d; want committed once", i, err, v)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(context.Background(), func(*eventstore.Tx) error { return nil }); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
}

// Republish queues the recent public events again, oldest first, with their
// original ids and bodies; private events and older ones stay out.
func TestRepublishRecentPublicEvents(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := now
	s, err := eventstore.Open(filepath.Join(t.TempDir(), "s.db"), eventstore.Options{
		Service: "test", Registry: registry(), Now: func() time.Time { return clock },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	appendOne := func(id string, ev envelope.Event) {
		t.Helper()
		if err := s.Update(ctx, func(tx *eventstore.Tx) error {
			_, err := tx.Append("counter", id, tx.Version("counter", id), eventstore.Meta{}, ev)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	appendOne("old", added{N: 1}) // an hour before the horizon
	clock = now.Add(time.Hour)
	appendOne("a", added{N: 2})
	appendOne("a", noted{})
	appendOne("b", added{N: 3})
	published, _ := s.PendingOutbox(ctx, 100)
	if err := s.AckOutbox(ctx, seqsOf(published)); err != nil {
		t.Fatal(err)
	}
	n, err := s.Republish(ctx, now.Add(30*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("Republish = %d, %v; want 2", n, err)
	}
	again, _ := s.PendingOutbox(ctx, 100)
	if len(again) != 2 || again[0].MsgID != published[1].MsgID || again[1].MsgID != published[2].MsgID ||
		string(again[0].Body) != string(published[1].Body) || again[0].Subject != "test.events.Added.a" {
		t.Fatalf("requeued %+v\nwant the last two of %+v", again, published)
	}
	if n, err := s.Republish(ctx, now.Add(2*time.Hour)); n != 0 || err != nil {
		t.Fatalf("nothing recent: %d, %v", n, err)
	}
}

func seqsOf(es []eventstore.OutboxEntry) []uint64 {
	out := make([]uint64, len(es))
	for i, e := range es {
		out[i] = e.Seq
	}
	return out
}
