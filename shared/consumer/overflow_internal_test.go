package consumer

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/syncbuf"
	"github.com/rs/zerolog"
)

// A store that cannot take what is set aside (closed here; a full disk in
// life) makes the overflow hand every message back — and say so once for
// the whole spell, not once per batch; an order is called hot only once its
// events are really set aside.
func TestOverflowTellsOnce(t *testing.T) {
	t.Parallel()
	st, err := eventstore.Open(filepath.Join(t.TempDir(), "o.db"), eventstore.Options{Service: "payment", Registry: envelope.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	o := newOverflow(st, newScheduler(4), "payment", "ORDER_EVENTS/payment", 4, 1000, zerolog.New(logs), func(int) {})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); o.write(ctx) }()
	for batch := range 5 {
		for i := range 3 {
			seq := uint64(batch*3 + i + 1)
			m := &storedMsg{o: o, row: eventstore.DeferredMsg{Subject: "order.events.Pinged.hot", Seq: seq, Stream: "ORDER_EVENTS"}}
			if !o.take("hot", m) {
				t.Fatalf("message %d not taken", seq)
			}
		}
		// Each batch is handed back (and the order forgotten) before the
		// next comes.
		deadline := time.Now().Add(5 * time.Second)
		for o.holds("hot") {
			if time.Now().After(deadline) {
				t.Fatal("the batch was never handed back")
			}
			time.Sleep(time.Millisecond)
		}
	}
	cancel()
	<-done
	out := logs.String()
	if n := strings.Count(out, "could not set hot-order events aside"); n != 1 {
		t.Errorf("the failing store is reported %d times over 5 batches, want once:\n%s", n, out)
	}
	if strings.Contains(out, "hot order: its further events are set aside") {
		t.Errorf("an order is called hot although nothing of it was set aside:\n%s", out)
	}
}

// Set aside batch after batch, a hot order is called hot once.
func TestOverflowCallsAnOrderHotOnce(t *testing.T) {
	t.Parallel()
	st, err := eventstore.Open(filepath.Join(t.TempDir(), "o.db"), eventstore.Options{Service: "payment", Registry: envelope.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	logs := &syncbuf.Buffer{}
	o := newOverflow(st, newScheduler(4), "payment", "ORDER_EVENTS/payment", 4, 1000, zerolog.New(logs), func(int) {})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); o.write(ctx) }() // stores; nothing feeds them back
	for seq := range uint64(9) {
		// The fake delivery's own Ack (the JetStream ack) finds no row of
		// its own to delete: the row set aside stays.
		m := &storedMsg{o: o, row: eventstore.DeferredMsg{Subject: "order.events.Pinged.hot", Seq: seq + 1, Stream: "ORDER_EVENTS"}}
		if !o.take("hot", m) {
			t.Fatalf("message %d not taken", seq+1)
		}
		time.Sleep(2 * time.Millisecond) // batches of one, mostly
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		keys, err := st.DeferredKeys(ctx, "ORDER_EVENTS/payment")
		if err != nil {
			t.Fatal(err)
		}
		if keys["hot"] == 9 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("set aside: %v", keys)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if n := strings.Count(logs.String(), "hot order: its further events are set aside"); n != 1 {
		t.Errorf("the hot order is called hot %d times, want once:\n%s", n, logs.String())
	}
}
