package eventstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/tracing"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

const (
	traceA = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	traceB = "00-11111111111111111111111111111111-2222222222222222-00"
)

func addIn(t *testing.T, s *eventstore.Store, ctx context.Context, id string, meta eventstore.Meta) {
	t.Helper()
	err := s.Update(ctx, func(tx *eventstore.Tx) error {
		_, err := eventstore.Update(tx, counterAgg, id, meta, func(counter) ([]envelope.Event, error) {
			return []envelope.Event{added{N: 1}, noted{}}, nil
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The trace context an event is appended in is kept with its outbox entry
// and beside the event, in its transaction; Meta.Trace overrides the ctx's;
// a republished event carries it again.
func TestTraceContextKeptWithEventAndOutboxEntry(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	tcA := tracing.Context{Parent: traceA, State: "k=v"}
	addIn(t, s, tcA.Into(context.Background()), "a", eventstore.Meta{CorrelationID: "a"})
	addIn(t, s, tcA.Into(context.Background()), "b", eventstore.Meta{CorrelationID: "b", Trace: tracing.Context{Parent: traceB}})
	addIn(t, s, context.Background(), "c", eventstore.Meta{CorrelationID: "c"})

	entries, err := s.PendingOutbox(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []tracing.Context{tcA, {Parent: traceB}, {}}
	if len(entries) != 3 {
		t.Fatalf("%d outbox entries, want 3 (one public event each)", len(entries))
	}
	for i, e := range entries {
		if e.Trace != want[i] {
			t.Errorf("entry %d (%s) trace %+v, want %+v", i, e.Subject, e.Trace, want[i])
		}
	}
	_ = s.View(context.Background(), func(tx *eventstore.Tx) error {
		if got := tx.TraceOf("counter", "a", 1); got != tcA {
			t.Errorf("TraceOf a v1 = %+v", got)
		}
		if got := tx.TraceOf("counter", "a", 2); !got.IsZero() {
			t.Errorf("a private event has a kept trace %+v", got)
		}
		if got := tx.TraceOf("counter", "b", 1); got.Parent != traceB {
			t.Errorf("TraceOf b = %+v", got)
		}
		return nil
	})

	seqs := make([]uint64, len(entries))
	for i, e := range entries {
		seqs[i] = e.Seq
	}
	if err := s.AckOutbox(context.Background(), seqs); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Republish(context.Background(), time.Now().Add(-time.Hour)); err != nil || n != 3 {
		t.Fatalf("republish: %d, %v", n, err)
	}
	again, _ := s.PendingOutbox(context.Background(), 10)
	for i, e := range again {
		if e.Trace != want[i] {
			t.Errorf("republished entry %d trace %+v, want %+v", i, e.Trace, want[i])
		}
	}
}

func TestUpdateSpanShowsGroupCommitAndObserverSeesBatches(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tr := tracing.New(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))
	var mu sync.Mutex
	var writes, commits int
	s, err := eventstore.Open(filepath.Join(t.TempDir(), "t.db"), eventstore.Options{
		Service: "test", Registry: registry(), Tracer: tr,
		CommitObserver: func(took time.Duration, batch int) {
			mu.Lock()
			defer mu.Unlock()
			commits++
			writes += batch
			if took <= 0 {
				t.Errorf("commit took %s", took)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, parent := tr.Start(context.Background(), "request")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addIn(t, s, ctx, string(rune('a'+i)), eventstore.Meta{})
		}()
	}
	wg.Wait()
	parent.End()
	mu.Lock()
	if writes != 20 || commits < 1 || commits > 20 {
		t.Errorf("observer saw %d writes in %d commits, want 20 writes", writes, commits)
	}
	mu.Unlock()
	n := 0
	for _, sp := range exp.GetSpans() {
		if sp.Name != "store.commit" {
			continue
		}
		n++
		if sp.Parent.SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("store.commit's parent %s, want the request's", sp.Parent.SpanID())
		}
		var wait bool
		for _, kv := range sp.Attributes {
			wait = wait || (kv.Key == "choreo.store.group_commit_wait_ms" && kv.Value.AsFloat64() >= 0)
		}
		if !wait {
			t.Errorf("store.commit does not show its group-commit wait: %+v", sp.Attributes)
		}
	}
	if n != 20 {
		t.Errorf("%d store.commit spans, want 20", n)
	}
	// The events were appended in the request's trace, not the commit span's.
	entries, _ := s.PendingOutbox(context.Background(), 100)
	for _, e := range entries {
		if e.Trace.TraceID() != parent.SpanContext().TraceID().String() {
			t.Errorf("entry %s trace %+v", e.Subject, e.Trace)
		}
	}
}

func TestOnCommitRunsOnlyAfterCommit(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	var calls int
	_ = s.Update(context.Background(), func(tx *eventstore.Tx) error {
		tx.OnCommit(func() { calls++ })
		return errBoom
	})
	if calls != 0 {
		t.Fatalf("OnCommit ran %d times after a rollback", calls)
	}
	if err := s.Update(context.Background(), func(tx *eventstore.Tx) error {
		tx.OnCommit(func() { calls++ })
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("OnCommit ran %d times after a commit, want 1", calls)
	}
}

// heardLog is a consumed projection: the ids heard, in order.
type heardLog struct{}

func (heardLog) Buckets() []string { return []string{"heard"} }
func (heardLog) Apply(tx *eventstore.Tx, e envelope.Envelope, _ envelope.Event) error {
	if tx.Rebuilding() != rebuilding {
		return errBoom
	}
	b := tx.ViewBucket("heard")
	n := 0
	for range b.Scan(eventstore.Range{}) {
		n++
	}
	return b.Put([]byte{byte(n + 1)}, []byte(e.ID+" "+tx.Now().Format(time.RFC3339Nano)))
}

var rebuilding bool

func TestConsumedEventsKeptAndRebuilt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	open := func() *eventstore.Store {
		s, err := eventstore.Open(path, eventstore.Options{Service: "test", Registry: registry(), Now: func() time.Time { clock = clock.Add(time.Second); return clock },
			Projections: []eventstore.Projection{totals{}}, ConsumedProjections: []eventstore.Projection{heardLog{}}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	var ids []string
	for range 3 {
		env := envelope.Envelope{ID: envelope.NewID(), Type: "Heard", SchemaVersion: 1, AggregateType: "x", AggregateID: "o1",
			Version: 1, OccurredAt: time.Now().UTC(), CorrelationID: "o1", Data: []byte(`{}`)}
		ids = append(ids, env.ID)
		if err := s.Update(context.Background(), func(tx *eventstore.Tx) error { return tx.RecordConsumed(env, heard{}) }); err != nil {
			t.Fatal(err)
		}
	}
	add(t, s, "c", 1)
	heardIDs := func(s *eventstore.Store) []string {
		var out []string
		_ = s.View(context.Background(), func(tx *eventstore.Tx) error {
			for _, v := range tx.ViewBucket("heard").Scan(eventstore.Range{}) {
				out = append(out, string(v))
			}
			return nil
		})
		return out
	}
	first := heardIDs(s)
	if len(first) != 3 || !strings.HasPrefix(first[0], ids[0]) || !strings.HasPrefix(first[2], ids[2]) {
		t.Fatalf("heard %v, want %v", first, ids)
	}
	s.Close()
	s = open()
	defer s.Close()
	rebuilding = true
	n, err := s.RebuildProjections(context.Background())
	rebuilding = false
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Fatalf("rebuild replayed %d events, want 1 own + 3 consumed", n)
	}
	// Rebuilt with the time each was first handled.
	if got := heardIDs(s); !slices.Equal(got, first) {
		t.Fatalf("after rebuild heard %v, want %v", got, first)
	}
}

var errBoom = errors.New("boom")
