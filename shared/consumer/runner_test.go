package consumer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/consumer"
	"github.com/choreo-dev/choreo/shared/deadletter"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type pinged struct {
	OrderID string `json:"order_id"`
	Seq     int    `json:"seq"`
	Fail    int    `json:"fail"` // fail this many deliveries, -1 for permanently
	// Mode picks another behaviour: "enospc" fails Fail times with a full
	// disk; "panic" panics every time; "slow" takes 10ms.
	Mode string `json:"mode,omitempty"`
}

func (pinged) EventType() string { return "Pinged" }

func (p pinged) Correlation() string { return p.OrderID }

func (p pinged) Validate() error {
	if p.Seq < 0 {
		return errors.New("seq must not be negative")
	}
	return nil
}

type counted struct {
	Seq int `json:"seq"`
}

func (counted) EventType() string { return "Counted" }

type fixture struct {
	js    jetstream.JetStream
	store *eventstore.Store
	calls sync.Map // event id -> *atomic.Int32
	mu    sync.Mutex
	order map[string][]int // order id -> seqs in handling order
	// maxBatch is the most writes one commit of the store carried: more
	// than one only if handlers ran concurrently.
	maxBatch atomic.Int32
}

func newFixture(t *testing.T) *fixture { return newFixtureWith(t, nil) }

func newFixtureWith(t *testing.T, tune func(*consumer.Config)) *fixture {
	t.Helper()
	// The stream is partitioned as the consumer is told (Partitions).
	var probe consumer.Config
	if tune != nil {
		tune(&probe)
	}
	srv := natstest.RunJetStream(t)
	js := srv.JetStream(t)
	if err := streams.Ensure(context.Background(), js, []string{"order"}, streams.Options{Partitions: probe.Partitions}); err != nil {
		t.Fatal(err)
	}
	reg := envelope.NewRegistry()
	envelope.RegisterPublic[pinged](reg, "order")
	envelope.Register[counted](reg)
	f := &fixture{js: js, order: map[string][]int{}}
	st, err := eventstore.Open(filepath.Join(t.TempDir(), "c.db"), eventstore.Options{Service: "payment", Registry: reg,
		CommitObserver: func(_ time.Duration, writes int) {
			for old := f.maxBatch.Load(); int32(writes) > old && !f.maxBatch.CompareAndSwap(old, int32(writes)); old = f.maxBatch.Load() {
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f.store = st
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	cfg := consumer.Config{
		Service: "payment", Stream: streams.Name("order"), Subjects: []string{"order.events.>"}, Store: st,
		Backoff: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond, Handler: f.handle,
	}
	if tune != nil {
		tune(&cfg)
	}
	go func() { done <- consumer.Run(ctx, js, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return f
}

// handle appends one private event per effect: the store then counts effects.
func (f *fixture) handle(_ context.Context, tx *eventstore.Tx, env envelope.Envelope, ev envelope.Event) error {
	p := ev.(pinged)
	n, _ := f.calls.LoadOrStore(env.ID, new(atomic.Int32))
	attempt := n.(*atomic.Int32).Add(1)
	switch p.Mode {
	case "enospc":
		if int(attempt) <= p.Fail {
			return fmt.Errorf("commit: %w", &os.PathError{Op: "write", Path: "c.db", Err: syscall.ENOSPC})
		}
	case "panic":
		panic("handler bug")
	case "slow":
		time.Sleep(10 * time.Millisecond)
	}
	if p.Fail < 0 {
		return consumer.Permanent(errors.New("this can never work"))
	}
	if p.Mode == "" && int(attempt) <= p.Fail {
		return fmt.Errorf("transient failure %d", attempt)
	}
	f.mu.Lock()
	f.order[p.OrderID] = append(f.order[p.OrderID], p.Seq)
	f.mu.Unlock()
	_, err := tx.Append("effect", p.OrderID, tx.Version("effect", p.OrderID), eventstore.Meta{}, counted{Seq: p.Seq})
	return err
}

func (f *fixture) effects(orderID string) uint64 {
	var v uint64
	_ = f.store.View(context.Background(), func(tx *eventstore.Tx) error { v = tx.Version("effect", orderID); return nil })
	return v
}

func publish(t *testing.T, js jetstream.JetStream, p pinged, msgID string) envelope.Envelope {
	t.Helper()
	data, _ := json.Marshal(p)
	env := envelope.Envelope{ID: envelope.NewID(), Type: "Pinged", SchemaVersion: 1, AggregateType: "order",
		AggregateID: p.OrderID, Version: 1, OccurredAt: time.Now().UTC(), CorrelationID: p.OrderID, CausationID: "test", Data: data}
	publishEnv(t, js, env, msgID)
	return env
}

func publishEnv(t *testing.T, js jetstream.JetStream, env envelope.Envelope, msgID string) {
	t.Helper()
	body, _ := json.Marshal(env)
	publishRaw(t, js, "order.events.Pinged."+env.AggregateID, body, msgID)
}

func publishRaw(t *testing.T, js jetstream.JetStream, subject string, body []byte, msgID string) {
	t.Helper()
	m := nats.NewMsg(subject)
	m.Data = body
	if msgID != "" {
		m.Header.Set(jetstream.MsgIDHeader, msgID)
	}
	if _, err := js.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

func dlq(t *testing.T, js jetstream.JetStream, subject string) *jetstream.RawStreamMsg {
	t.Helper()
	var msg *jetstream.RawStreamMsg
	natstest.Eventually(t, 10*time.Second, func() error {
		s, err := js.Stream(context.Background(), streams.DLQ)
		if err != nil {
			return err
		}
		msg, err = s.GetLastMsgForSubject(context.Background(), subject)
		return err
	})
	return msg
}

func TestDuplicateDeliveryHasOneEffect(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	env := publish(t, f.js, pinged{OrderID: "o1", Seq: 1}, "first")
	natstest.Eventually(t, 5*time.Second, func() error {
		if f.effects("o1") != 1 {
			return errors.New("not handled yet")
		}
		return nil
	})
	// The same event republished with a new Nats-Msg-Id (an outbox replayed
	// past the duplicate window) reaches the consumer, and the inbox stops it.
	publishEnv(t, f.js, env, "second")
	publish(t, f.js, pinged{OrderID: "o1", Seq: 2}, "") // a marker behind it
	natstest.Eventually(t, 5*time.Second, func() error {
		if f.effects("o1") != 2 {
			return fmt.Errorf("effects %d", f.effects("o1"))
		}
		return nil
	})
	if got := f.effects("o1"); got != 2 {
		t.Fatalf("effects = %d, want 2 (the duplicate had an effect)", got)
	}
}

func TestTransientFailureIsRetriedAndPoisonIsDeadLettered(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.js, pinged{OrderID: "flaky", Seq: 1, Fail: 2}, "")
	publish(t, f.js, pinged{OrderID: "doomed", Seq: 1, Fail: 100}, "")
	publish(t, f.js, pinged{OrderID: "bad", Seq: 1, Fail: -1}, "")
	publishRaw(t, f.js, "order.events.Pinged.garbage", []byte("not json"), "")
	for i := range 20 {
		publish(t, f.js, pinged{OrderID: fmt.Sprintf("ok%d", i), Seq: 1}, "")
	}
	natstest.Eventually(t, 10*time.Second, func() error {
		for i := range 20 {
			if f.effects(fmt.Sprintf("ok%d", i)) != 1 {
				return fmt.Errorf("ok%d not handled", i)
			}
		}
		if f.effects("flaky") != 1 {
			return errors.New("flaky not handled")
		}
		return nil
	})
	m := dlq(t, f.js, "dlq.payment.order.events.Pinged.doomed")
	if m.Header.Get(deadletter.HeaderDeliveries) != "5" || m.Header.Get(deadletter.HeaderStream) != streams.Name("order") ||
		m.Header.Get(deadletter.HeaderSubject) != "order.events.Pinged.doomed" || m.Header.Get(deadletter.HeaderSequence) == "" ||
		m.Header.Get(deadletter.HeaderError) == "" {
		t.Fatalf("doomed dead letter headers: %v", m.Header)
	}
	if f.effects("doomed") != 0 {
		t.Fatal("doomed had an effect")
	}
	m = dlq(t, f.js, "dlq.payment.order.events.Pinged.bad")
	if m.Header.Get(deadletter.HeaderDeliveries) != "1" {
		t.Fatalf("permanent failure retried: %v", m.Header)
	}
	m = dlq(t, f.js, "dlq.payment.order.events.Pinged.garbage")
	if string(m.Data) != "not json" || m.Header.Get(deadletter.HeaderDeliveries) != "1" {
		t.Fatalf("garbage dead letter: %q %v", m.Data, m.Header)
	}
	if _, ok := m.Header[deadletter.HeaderMsgID]; ok {
		t.Fatalf("garbage had no Nats-Msg-Id, its dead letter has %s: %v", deadletter.HeaderMsgID, m.Header)
	}
}

func TestEventsOfOneOrderAreHandledInOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const perOrder = 30
	for i := range perOrder {
		for o := range 5 {
			publish(t, f.js, pinged{OrderID: fmt.Sprintf("ord%d", o), Seq: i}, "")
		}
	}
	natstest.Eventually(t, 10*time.Second, func() error {
		for o := range 5 {
			if got := f.effects(fmt.Sprintf("ord%d", o)); got != perOrder {
				return fmt.Errorf("ord%d: %d effects", o, got)
			}
		}
		return nil
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, seqs := range f.order {
		for i, s := range seqs {
			if s != i {
				t.Fatalf("%s handled out of order: %v", id, seqs)
			}
		}
	}
}

// TestPoisonFromAtomicBatchIsDeadLettered: the relay publishes in JetStream
// atomic batches, and the stored messages keep their Nats-Batch-* headers.
// Copied onto the dead letter they would make the DLQ publish a fragment of a
// batch that never commits, refused for ever: the poison message would cycle
// instead of reaching the DLQ.
func TestPoisonFromAtomicBatchIsDeadLettered(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	nc := f.js.Conn()
	var last *nats.Msg
	for i, id := range []string{"batched-ok", "batched-bad"} {
		p := pinged{OrderID: id, Seq: 1}
		if id == "batched-bad" {
			p.Fail = -1
		}
		data, _ := json.Marshal(p)
		env := envelope.Envelope{ID: envelope.NewID(), Type: "Pinged", SchemaVersion: 1, AggregateType: "order",
			AggregateID: id, Version: 1, OccurredAt: time.Now().UTC(), CorrelationID: id, CausationID: "test", Data: data}
		body, _ := json.Marshal(env)
		m := nats.NewMsg("order.events.Pinged." + id)
		m.Data = body
		m.Header.Set(jetstream.MsgIDHeader, env.ID)
		m.Header.Set("Nats-Batch-Id", "b1")
		m.Header.Set("Nats-Batch-Sequence", fmt.Sprint(i+1))
		if i == 0 {
			if err := nc.PublishMsg(m); err != nil {
				t.Fatal(err)
			}
			continue
		}
		m.Header.Set("Nats-Batch-Commit", "1")
		last = m
	}
	resp, err := nc.RequestMsg(last, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var ack struct {
		Count int                 `json:"count"`
		Error *jetstream.APIError `json:"error"`
	}
	if err := json.Unmarshal(resp.Data, &ack); err != nil || ack.Error != nil || ack.Count != 2 {
		t.Fatalf("atomic batch not committed: %s (%v)", resp.Data, err)
	}
	m := dlq(t, f.js, "dlq.payment.order.events.Pinged.batched-bad")
	if m.Header.Get(deadletter.HeaderDeliveries) != "1" || m.Header.Get(deadletter.HeaderMsgID) == "" {
		t.Fatalf("dead letter headers: %v", m.Header)
	}
	for k := range m.Header {
		if strings.HasPrefix(strings.ToLower(k), "nats-batch-") {
			t.Fatalf("dead letter kept the batch header %s: %v", k, m.Header)
		}
	}
	natstest.Eventually(t, 5*time.Second, func() error {
		if f.effects("batched-ok") != 1 {
			return errors.New("batched-ok not handled")
		}
		return nil
	})
	if f.effects("batched-bad") != 0 {
		t.Fatal("batched-bad had an effect")
	}
}
