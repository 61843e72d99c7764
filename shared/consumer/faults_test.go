package consumer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/consumer"
	"github.com/choreo-dev/choreo/shared/deadletter"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/health"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/partition"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// dlqCount is how many dead letters the DLQ holds.
func dlqCount(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), streams.DLQ)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// A transient fault — the disk full — is retried for as long as it lasts,
// far past MaxDeliver, and never dead-lettered; the consumer's check fails
// meanwhile (once, with the reason) and passes again after.
func TestTransientFaultIsRetriedNotDeadLettered(t *testing.T) {
	t.Parallel()
	checks := health.New(zerolog.Nop())
	var sawDiskFull atomic.Bool
	checks.OnChange(func(s health.Status) {
		if !s.OK && s.Reason == "disk full" {
			sawDiskFull.Store(true)
		}
	})
	f := newFixtureWith(t, func(c *consumer.Config) { c.Checks = checks; c.MaxDeliver = 3 })
	publish(t, f.js, pinged{OrderID: "o-full", Seq: 1, Fail: 12, Mode: "enospc"}, "")
	natstest.Eventually(t, 20*time.Second, func() error {
		if n := f.effects("o-full"); n != 1 {
			return fmt.Errorf("%d effects", n)
		}
		return nil
	})
	if n := dlqCount(t, f.js); n != 0 {
		t.Fatalf("%d dead letters for a transient fault", n)
	}
	if !sawDiskFull.Load() {
		t.Fatal("the consumer's check never said disk full")
	}
	// Ready again once it has kept passing for the settle time.
	natstest.Eventually(t, 10*time.Second, func() error {
		if r := checks.Report(); !r.Ready {
			return fmt.Errorf("not ready after the fault passed: %+v", r)
		}
		return nil
	})
}

// A handler that panics on a message every time has it dead-lettered after
// MaxDeliver failures — counted in the store, not by deliveries.
func TestHandlerThatAlwaysPanicsIsDeadLettered(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.js, pinged{OrderID: "o-bug", Seq: 1, Mode: "panic"}, "")
	m := dlq(t, f.js, "dlq.payment.order.events.Pinged.o-bug")
	if got := m.Header.Get(deadletter.HeaderError); !strings.Contains(got, "handler failed 5 times") || !strings.Contains(got, "panic") {
		t.Fatalf("dead letter error %q", got)
	}
}

// An event that does not agree with where it came from is dead-lettered at
// once, with the reason, and changes nothing.
func TestInconsistentEventsAreRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	good := func(order string) envelope.Envelope {
		data, _ := json.Marshal(pinged{OrderID: order, Seq: 1})
		return envelope.Envelope{ID: envelope.NewID(), Type: "Pinged", SchemaVersion: 1, AggregateType: "order",
			AggregateID: order, Version: 1, OccurredAt: time.Now().UTC(), CorrelationID: order, CausationID: "test", Data: data}
	}
	for _, tc := range []struct {
		name, subject string
		env           envelope.Envelope
		want          string
	}{
		{"subject id is another order", "order.events.Pinged.zzz", good("o-a"), "subject order.events.Pinged.zzz does not match the envelope"},
		{"subject type is another type", "order.events.Other.o-b", good("o-b"), "does not match the envelope (type Pinged"},
		{"correlation is another order", "order.events.Pinged.o-c", func() envelope.Envelope {
			e := good("o-c")
			e.CorrelationID = "o-other"
			return e
		}(), `correlation_id "o-other" is not the event's saga "o-c"`},
		{"aggregate is another order than the data's", "order.events.Pinged.o-d", func() envelope.Envelope {
			e := good("o-x")
			e.AggregateID = "o-d"
			e.CorrelationID = "o-x"
			return e
		}(), `subject id "o-d" is not the event's saga "o-x"`},
		{"payload out of the contract's limits", "order.events.Pinged.o-e", func() envelope.Envelope {
			e := good("o-e")
			e.Data, _ = json.Marshal(pinged{OrderID: "o-e", Seq: -7})
			return e
		}(), "invalid Pinged: seq must not be negative"},
	} {
		body, _ := json.Marshal(tc.env)
		publishRaw(t, f.js, tc.subject, body, "")
		m := dlq(t, f.js, "dlq.payment."+tc.subject)
		if got := m.Header.Get(deadletter.HeaderError); !strings.Contains(got, tc.want) || m.Header.Get(deadletter.HeaderDeliveries) != "1" {
			t.Errorf("%s: dead letter error %q after %s deliveries, want %q at once", tc.name, got, m.Header.Get(deadletter.HeaderDeliveries), tc.want)
		}
		if n := f.effects(tc.env.AggregateID) + f.effects(tc.env.CorrelationID); n != 0 {
			t.Errorf("%s: %d effects", tc.name, n)
		}
	}
}

// A burst for one order delays only that order: orders whose events come
// after the burst are handled while the burst is still being worked off —
// also when the stream is partitioned and every subject ends in a
// partition token (the same one for the hot order and the cold ones).
func TestHotOrderDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	for _, partitions := range []int{1, 2} {
		t.Run(fmt.Sprintf("partitions=%d", partitions), func(t *testing.T) {
			t.Parallel()
			testHotOrder(t, partitions)
		})
	}
}

func testHotOrder(t *testing.T, partitions int) {
	f := newFixtureWith(t, func(c *consumer.Config) { c.PerKey, c.Partitions = 16, partitions })
	// Each hot event takes 10ms, so the burst takes seconds to work off,
	// while the cold orders' events are delivered within moments whatever
	// the machine's load.
	const burst = 400
	for i := range burst {
		publish(t, f.js, pinged{OrderID: "hot", Seq: i, Mode: "slow"}, "")
	}
	// Cold orders in the hot one's partition.
	cold1, cold2 := sameKeyPartition("hot", partitions, 1), sameKeyPartition("hot", partitions, 2)
	publish(t, f.js, pinged{OrderID: cold1, Seq: 1}, "")
	publish(t, f.js, pinged{OrderID: cold2, Seq: 1}, "")
	natstest.Eventually(t, 30*time.Second, func() error {
		if f.effects(cold1) != 1 || f.effects(cold2) != 1 {
			return fmt.Errorf("cold orders not handled yet")
		}
		return nil
	})
	if done := f.effects("hot"); done > burst/2 {
		t.Fatalf("the cold orders waited until %d of the hot order's %d events were handled", done, burst)
	}
	natstest.Eventually(t, 60*time.Second, func() error {
		if n := f.effects("hot"); n != burst {
			return fmt.Errorf("hot: %d of %d", n, burst)
		}
		return nil
	})
	if consumer.Backpressure() == 0 {
		t.Error("the hot order's queue never filled: the test did not test the bound")
	}
}

// A deleted durable consumer is re-created by the runner's watchdog and the
// messages published meanwhile are handled.
func TestDeletedConsumerIsRecreated(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, func(c *consumer.Config) { c.Heal = 100 * time.Millisecond })
	publish(t, f.js, pinged{OrderID: "before", Seq: 1}, "")
	natstest.Eventually(t, 10*time.Second, func() error {
		if f.effects("before") != 1 {
			return fmt.Errorf("not handled")
		}
		return nil
	})
	if err := f.js.DeleteConsumer(context.Background(), streams.Name("order"), "payment"); err != nil {
		t.Fatal(err)
	}
	publish(t, f.js, pinged{OrderID: "after", Seq: 1}, "")
	natstest.Eventually(t, 10*time.Second, func() error {
		if f.effects("after") != 1 {
			return fmt.Errorf("not handled after the durable was deleted")
		}
		return nil
	})
	if n := f.effects("before"); n != 1 {
		t.Fatalf("the replay after re-creation applied an old event again: %d effects", n)
	}
	// The whole stream wiped and re-created (another service ensures it):
	// the durable is bound again on the new stream.
	if err := f.js.DeleteStream(context.Background(), streams.Name("order")); err != nil {
		t.Fatal(err)
	}
	if err := streams.Ensure(context.Background(), f.js, []string{"order"}, streams.Options{}); err != nil {
		t.Fatal(err)
	}
	publish(t, f.js, pinged{OrderID: "wiped", Seq: 1}, "")
	natstest.Eventually(t, 10*time.Second, func() error {
		if f.effects("wiped") != 1 {
			return fmt.Errorf("not handled after the stream was wiped")
		}
		return nil
	})
}

// Different orders are handled concurrently (their writes share commits)
// also when the stream is partitioned: the partition token every subject of
// a partition ends in is not what the runner orders by.
func TestOrdersOfOnePartitionRunConcurrently(t *testing.T) {
	t.Parallel()
	for _, partitions := range []int{1, 2} {
		t.Run(fmt.Sprintf("partitions=%d", partitions), func(t *testing.T) {
			t.Parallel()
			f := newFixtureWith(t, func(c *consumer.Config) { c.Partitions = partitions })
			const orders = 200
			ids := make([]string, orders)
			for i := range ids {
				ids[i] = sameKeyPartition("hot", partitions, i+1)
				publish(t, f.js, pinged{OrderID: ids[i], Seq: 1}, "")
			}
			natstest.Eventually(t, 30*time.Second, func() error {
				for _, id := range ids {
					if f.effects(id) != 1 {
						return fmt.Errorf("%s not handled yet", id)
					}
				}
				return nil
			})
			if n := f.maxBatch.Load(); n < 2 {
				t.Fatalf("%d orders of one partition were handled one at a time (largest commit: %d write)", orders, n)
			}
		})
	}
}

// sameKeyPartition is the n-th order id "cold-<i>" that falls in the
// partition of key.
func sameKeyPartition(key string, partitions, n int) string {
	for i := 0; ; i++ {
		id := fmt.Sprintf("cold-%d", i)
		if partition.Of(id, partitions) == partition.Of(key, partitions) {
			if n--; n == 0 {
				return id
			}
		}
	}
}

// A hot order whose burst is larger than the durable's window of
// unacknowledged messages: handed back, its surplus would fill the window
// and the server would deliver nothing else until the burst was worked off.
// Set aside in the store, it leaves the window to the other orders — and
// the hot order's events are still handled once each, in stream order,
// also when some fail and are retried, and across a restart of the consumer
// half-way through.
func TestHotOrderLargerThanTheWindow(t *testing.T) {
	t.Parallel()
	srv := natstest.RunJetStream(t)
	js := srv.JetStream(t)
	if err := streams.Ensure(context.Background(), js, []string{"order"}, streams.Options{}); err != nil {
		t.Fatal(err)
	}
	reg := envelope.NewRegistry()
	envelope.RegisterPublic[pinged](reg, "order")
	envelope.Register[counted](reg)
	f := &fixture{js: js, order: map[string][]int{}}
	st, err := eventstore.Open(filepath.Join(t.TempDir(), "c.db"), eventstore.Options{Service: "payment", Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f.store = st
	start := func() (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() {
			done <- consumer.Run(ctx, js, consumer.Config{Service: "payment", Stream: streams.Name("order"),
				Subjects: []string{"order.events.>"}, Store: st, Handler: f.handle, PerKey: 16, MaxAckPending: 64,
				Backoff: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
		}()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
	stop := start()
	const burst = 600 // 10ms each: seconds of work, ten windows' worth
	for i := range burst {
		p := pinged{OrderID: "hot", Seq: i, Mode: "slow"}
		if i%100 == 50 {
			// Fails twice, then works: the events after it wait for it.
			p.Mode, p.Fail = "", 2
		}
		publish(t, js, p, "")
	}
	for i := range 3 {
		publish(t, js, pinged{OrderID: fmt.Sprintf("cold%d", i), Seq: 0}, "")
	}
	natstest.Eventually(t, 30*time.Second, func() error {
		for i := range 3 {
			if f.effects(fmt.Sprintf("cold%d", i)) != 1 {
				return fmt.Errorf("cold%d not handled yet", i)
			}
		}
		return nil
	})
	if done := f.effects("hot"); done > burst/2 {
		t.Fatalf("the cold orders waited until %d of the hot order's %d events were handled", done, burst)
	}
	// A restart half-way: what was set aside is picked up where it was.
	natstest.Eventually(t, 30*time.Second, func() error {
		if n := f.effects("hot"); n < burst/3 {
			return fmt.Errorf("hot: %d handled", n)
		}
		return nil
	})
	stop()
	t.Logf("stopped with %d of the hot order's %d events handled", f.effects("hot"), burst)
	stop = start()
	defer stop()
	natstest.Eventually(t, 60*time.Second, func() error {
		if n := f.effects("hot"); n != burst {
			return fmt.Errorf("hot: %d of %d", n, burst)
		}
		return nil
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, s := range f.order["hot"] {
		if s != i {
			t.Fatalf("hot order handled out of order at %d: %v", i, f.order["hot"][max(0, i-5):min(len(f.order["hot"]), i+5)])
		}
	}
	if len(f.order["hot"]) != burst {
		t.Fatalf("hot order: %d handlings of %d events", len(f.order["hot"]), burst)
	}
}
