package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/outbox"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type happened struct {
	N int `json:"n"`
}

func (happened) EventType() string { return "Happened" }

func setup(t *testing.T) (*natstest.Server, jetstream.JetStream, *eventstore.Store) {
	t.Helper()
	srv := natstest.RunJetStream(t)
	js := srv.JetStream(t)
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{
		Name: "TEST_EVENTS", Subjects: []string{"test.events.>"}, Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute,
		AllowAtomicPublish: true,
	}); err != nil {
		t.Fatal(err)
	}
	reg := envelope.NewRegistry()
	envelope.RegisterPublic[happened](reg, "test")
	st, err := eventstore.Open(filepath.Join(t.TempDir(), "t.db"), eventstore.Options{Service: "test", Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return srv, js, st
}

func appendN(t *testing.T, st *eventstore.Store, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		err := st.Update(context.Background(), func(tx *eventstore.Tx) error {
			id := fmt.Sprintf("agg%d", i%3)
			_, err := tx.Append("thing", id, tx.Version("thing", id), eventstore.Meta{}, happened{N: i})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// streamContents returns the n values in stream order and the msg ids.
func streamContents(t *testing.T, js jetstream.JetStream) ([]int, []string) {
	t.Helper()
	s, err := js.Stream(context.Background(), "TEST_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ns []int
	var ids []string
	for seq := uint64(1); seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		env, err := envelope.Parse(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if m.Header.Get(jetstream.MsgIDHeader) != env.ID {
			t.Fatalf("seq %d: Nats-Msg-Id %q, envelope id %q", seq, m.Header.Get(jetstream.MsgIDHeader), env.ID)
		}
		var d happened
		_ = json.Unmarshal(env.Data, &d)
		ns = append(ns, d.N)
		ids = append(ids, env.ID)
	}
	return ns, ids
}

func wantInOrder(t *testing.T, got []int, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("stream has %d events, want %d: %v", len(got), n, got)
	}
	// Each value once, and each aggregate's (appendN's i%3) in the order
	// appended: the relay keeps an aggregate's events in order, and may
	// let another aggregate's overtake one that waits for its PubAck.
	seen := make([]bool, n)
	last := map[int]int{}
	for _, v := range got {
		if v < 0 || v >= n || seen[v] {
			t.Fatalf("stream holds %d twice or out of range: %v", v, got)
		}
		seen[v] = true
		if prev, ok := last[v%3]; ok && prev > v {
			t.Fatalf("aggregate agg%d out of order (%d after %d): %v", v%3, v, prev, got)
		}
		last[v%3] = v
	}
}

// modes runs a test with per-message and with atomic batch publishing.
func modes(t *testing.T, test func(t *testing.T, atomic bool)) {
	for _, atomic := range []bool{false, true} {
		t.Run(fmt.Sprintf("atomic=%v", atomic), func(t *testing.T) {
			t.Parallel()
			test(t, atomic)
		})
	}
}

func runRelay(t *testing.T, js jetstream.JetStream, st *eventstore.Store, atomic bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	// AtomicMin 2: every read of two or more goes as an atomic batch. The
	// single publishes go with three reads in flight at once.
	r := &outbox.Relay{Store: st, JS: js, Stream: "TEST_EVENTS", Batch: 7, Atomic: atomic, AtomicMin: 2, Groups: 3,
		RetryMin: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond}
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

func TestRelayPublishesInOrderAndEmptiesOutbox(t *testing.T) { modes(t, testInOrder) }

func testInOrder(t *testing.T, atomic bool) {
	_, js, st := setup(t)
	appendN(t, st, 0, 25)
	runRelay(t, js, st, atomic)
	appendN(t, st, 25, 40)
	natstest.Eventually(t, 10*time.Second, func() error {
		if n, _ := st.OutboxLen(t.Context()); n != 0 {
			return fmt.Errorf("outbox has %d", n)
		}
		return nil
	})
	got, _ := streamContents(t, js)
	wantInOrder(t, got, 40)
	if atomic {
		// The fast path ran: the events went in atomic batches.
		s, _ := js.Stream(context.Background(), "TEST_EVENTS")
		m, err := s.GetMsg(context.Background(), 1)
		if err != nil || m.Header.Get("Nats-Batch-Id") == "" {
			t.Fatalf("first event not published in an atomic batch: %v %v", m, err)
		}
	}
}

func TestRelaySurvivesNATSOutage(t *testing.T) { modes(t, testOutage) }

func testOutage(t *testing.T, atomic bool) {
	srv, _, st := setup(t)
	nc := srv.Connect(t)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, st, 0, 10)
	runRelay(t, js, st, atomic)
	natstest.Eventually(t, 10*time.Second, func() error {
		if n, _ := st.OutboxLen(t.Context()); n != 0 {
			return fmt.Errorf("outbox has %d", n)
		}
		return nil
	})
	srv.Shutdown()
	// Commits go on while NATS is away: they wait in the outbox.
	appendN(t, st, 10, 30)
	time.Sleep(300 * time.Millisecond) // let the relay fail a few times
	if n, _ := st.OutboxLen(t.Context()); n == 0 {
		t.Fatal("outbox emptied while NATS was down")
	}
	srv.Restart(t)
	natstest.Eventually(t, 20*time.Second, func() error {
		if n, _ := st.OutboxLen(t.Context()); n != 0 {
			return fmt.Errorf("outbox has %d", n)
		}
		return nil
	})
	got, _ := streamContents(t, js)
	wantInOrder(t, got, 30)
}

// A relay that crashed after JetStream stored its publishes but before it
// deleted them republishes them on restart; the Nats-Msg-Id makes that a
// no-op within the duplicate window.
func TestRepublishAfterCrashIsDeduplicated(t *testing.T) { modes(t, testRepublish) }

func testRepublish(t *testing.T, atomic bool) {
	_, js, st := setup(t)
	appendN(t, st, 0, 12)
	entries, err := st.PendingOutbox(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries[:8] { // the crashed relay got this far
		m := nats.NewMsg(e.Subject)
		m.Data = e.Body
		m.Header.Set(jetstream.MsgIDHeader, e.MsgID)
		if _, err := js.PublishMsg(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	runRelay(t, js, st, atomic)
	natstest.Eventually(t, 10*time.Second, func() error {
		if n, _ := st.OutboxLen(t.Context()); n != 0 {
			return fmt.Errorf("outbox has %d", n)
		}
		return nil
	})
	got, _ := streamContents(t, js)
	wantInOrder(t, got, 12)
}

// big is an event whose padding makes it as large as asked.
type big struct {
	N   int    `json:"n"`
	Pad string `json:"pad"`
}

func (big) EventType() string { return "Big" }

// An entry the server refuses as too large — over the server's max payload
// (refused by the client before sending) or over the stream's max message
// size (refused by the server) — is parked, and the entries behind it are
// published in order; nothing is retried for ever.
func TestTooLargeEntryIsParkedAndDoesNotBlock(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		server []natstest.Option
		stream func(*jetstream.StreamConfig)
		pad    int
	}{
		{"over the server's max payload", []natstest.Option{natstest.WithMaxPayload(64 << 10)}, nil, 100 << 10},
		{"over the stream's max message size", nil, func(c *jetstream.StreamConfig) { c.MaxMsgSize = 8 << 10 }, 20 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := natstest.RunJetStream(t, tc.server...)
			js := srv.JetStream(t)
			cfg := jetstream.StreamConfig{Name: "TEST_EVENTS", Subjects: []string{"test.events.>"}, Storage: jetstream.FileStorage,
				Duplicates: 2 * time.Minute, AllowAtomicPublish: true}
			if tc.stream != nil {
				tc.stream(&cfg)
			}
			if _, err := js.CreateStream(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			reg := envelope.NewRegistry()
			envelope.RegisterPublic[happened](reg, "test")
			envelope.RegisterPublic[big](reg, "test")
			st, err := eventstore.Open(filepath.Join(t.TempDir(), "t.db"), eventstore.Options{Service: "test", Registry: reg})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			appendN(t, st, 0, 2)
			if err := st.Update(context.Background(), func(tx *eventstore.Tx) error {
				_, err := tx.Append("blob", "b1", 0, eventstore.Meta{}, big{N: 99, Pad: strings.Repeat("x", tc.pad)})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			appendN(t, st, 2, 4)
			relay := &outbox.Relay{Store: st, JS: js, Stream: "TEST_EVENTS", Atomic: true}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- relay.Run(ctx) }()
			natstest.Eventually(t, 10*time.Second, func() error {
				if n, _ := st.OutboxLen(context.Background()); n != 0 {
					return fmt.Errorf("%d entries left in the outbox", n)
				}
				return nil
			})
			cancel()
			<-done
			ns, _ := streamContents(t, js)
			if fmt.Sprint(ns) != "[0 1 2 3]" {
				t.Fatalf("stream holds %v, want [0 1 2 3] in order, without the big one", ns)
			}
			parked, err := st.Parked(context.Background())
			if err != nil || len(parked) != 1 || !strings.Contains(parked[0].Subject, "test.events.Big.b1") ||
				!strings.Contains(parked[0].Reason, "too large") || parked[0].Size < tc.pad {
				t.Fatalf("parked = %+v, %v", parked, err)
			}
			// An operator drops it; it is gone from the parked area, not from the log.
			if err := st.DropParked(context.Background(), parked[0].Seq); err != nil {
				t.Fatal(err)
			}
			if n, _ := st.ParkedLen(); n != 0 {
				t.Fatalf("%d parked after drop", n)
			}
			if err := st.DropParked(context.Background(), parked[0].Seq); !errors.Is(err, eventstore.ErrNotFound) {
				t.Fatalf("second drop: %v", err)
			}
		})
	}
}

// A read smaller than AtomicMin goes as single publishes (a small atomic
// batch costs the server more than its messages singly); a backlog of
// AtomicMin or more as one atomic batch.
func TestRelayBatchesOnlyABacklog(t *testing.T) {
	t.Parallel()
	_, js, st := setup(t)
	r := &outbox.Relay{Store: st, JS: js, Stream: "TEST_EVENTS", Atomic: true, AtomicMin: 10}
	appendN(t, st, 0, 5)
	if n, err := r.Flush(t.Context()); n != 5 || err != nil {
		t.Fatalf("first flush: %d, %v", n, err)
	}
	appendN(t, st, 5, 17)
	if n, err := r.Flush(t.Context()); n != 12 || err != nil {
		t.Fatalf("second flush: %d, %v", n, err)
	}
	got, _ := streamContents(t, js)
	wantInOrder(t, got, 17)
	s, _ := js.Stream(context.Background(), "TEST_EVENTS")
	for seq := uint64(1); seq <= 17; seq++ {
		m, err := s.GetMsg(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		if batched := m.Header.Get("Nats-Batch-Id") != ""; batched != (seq > 5) {
			t.Errorf("stream seq %d: in an atomic batch %v, want %v", seq, batched, seq > 5)
		}
	}
	if n, _ := st.OutboxLen(t.Context()); n != 0 {
		t.Errorf("outbox has %d after both flushes", n)
	}
}
