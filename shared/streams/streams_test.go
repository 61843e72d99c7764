package streams_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/partition"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go/jetstream"
)

func TestNames(t *testing.T) {
	t.Parallel()
	if got := streams.Name("shop"); got != "SHOP_EVENTS" {
		t.Errorf("Name = %q", got)
	}
	if got := streams.Subject("shop", "Sold", "o-1"); got != "shop.events.Sold.o-1" {
		t.Errorf("Subject = %q", got)
	}
	if got := streams.Filter("shop", "Sold"); got != "shop.events.Sold.>" {
		t.Errorf("Filter = %q", got)
	}
	svc, typ, id, ok := streams.ParseSubject("shop.events.Sold.o-1")
	if !ok || svc != "shop" || typ != "Sold" || id != "o-1" {
		t.Errorf("ParseSubject = %q %q %q %v", svc, typ, id, ok)
	}
	for _, bad := range []string{"shop.events.Sold", "shop.other.Sold.o-1", "dlq.shop.events.Sold", ".events.Sold.x"} {
		if _, _, _, ok := streams.ParseSubject(bad); ok {
			t.Errorf("ParseSubject(%q) ok", bad)
		}
	}
	for _, n := range []int{1, 2, 7} {
		stored := streams.Stored("shop.events.Sold.o-1", n)
		if got := streams.Published(stored); got != "shop.events.Sold.o-1" {
			t.Errorf("Published(Stored(…, %d) = %q) = %q, want the subject as published", n, stored, got)
		}
	}
	for _, other := range []string{"dlq.shop.events.Sold.o-1", "shop.events.Sold.o-1.x", "a.b"} {
		if got := streams.Published(other); got != other {
			t.Errorf("Published(%q) = %q, want it unchanged", other, got)
		}
	}
	for subject, want := range map[string]string{
		"shop.events.Sold.o-1":   "o-1",
		"shop.events.Sold.o-1.1": "o-1", // partitioned: the token after the id is not the id
		"a.b":                    "a.b",
	} {
		if got := streams.AggregateID(subject); got != want {
			t.Errorf("AggregateID(%q) = %q, want %q", subject, got, want)
		}
	}
}

func TestEnsureIsIdempotentAndRestoresConfig(t *testing.T) {
	t.Parallel()
	js := natstest.RunJetStream(t).JetStream(t)
	ctx := context.Background()
	services := []string{"shop", "bank"}
	if err := streams.Ensure(ctx, js, services, streams.Options{}); err != nil {
		t.Fatal(err)
	}
	// Someone shortened the duplicate window by hand; the next start puts it back.
	cfg := streams.EventStream("shop", streams.Options{})
	cfg.Duplicates = time.Second
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := streams.Ensure(ctx, js, services, streams.Options{}); err != nil {
		t.Fatalf("second ensure: %v", err)
	}
	want := map[string]string{"SHOP_EVENTS": "shop.events.>", "BANK_EVENTS": "bank.events.>", streams.DLQ: "dlq.>"}
	for name, subject := range want {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		got := s.CachedInfo().Config
		if got.Storage != jetstream.FileStorage || got.Duplicates != streams.DuplicateWindow || got.Subjects[0] != subject || got.Replicas != 1 {
			t.Errorf("%s: %+v", name, got)
		}
	}
}

// A partitioned stream stores each event with the partition of its id
// appended — the partition package's own hash — while publishers keep the
// contract's subjects; a partition's filter selects exactly its share.
func TestPartitionedStream(t *testing.T) {
	t.Parallel()
	js := natstest.RunJetStream(t).JetStream(t)
	ctx := context.Background()
	o := streams.Options{Partitions: 2}
	if err := streams.Ensure(ctx, js, []string{"shop"}, o); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"o-1", "o-2", "o-3", "o-4"} {
		if _, err := js.Publish(ctx, streams.Subject("shop", "Sold", id), []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	st, err := js.Stream(ctx, streams.Name("shop"))
	if err != nil {
		t.Fatal(err)
	}
	for seq, id := range []string{"o-1", "o-2", "o-3", "o-4"} {
		m, err := st.GetMsg(ctx, uint64(seq+1))
		if err != nil {
			t.Fatal(err)
		}
		want := streams.Stored(streams.Subject("shop", "Sold", id), 2)
		if m.Subject != want {
			t.Errorf("stored %s, want %s", m.Subject, want)
		}
		svc, typ, got, ok := streams.ParseSubject(m.Subject)
		if !ok || svc != "shop" || typ != "Sold" || got != id {
			t.Errorf("ParseSubject(%s) = %s %s %s %v", m.Subject, svc, typ, got, ok)
		}
	}
	for part := range 2 {
		c, err := st.CreateConsumer(ctx, jetstream.ConsumerConfig{FilterSubject: streams.PartitionFilter("shop", "Sold", part)})
		if err != nil {
			t.Fatal(err)
		}
		info, err := c.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, id := range []string{"o-1", "o-2", "o-3", "o-4"} {
			if partition.Of(id, 2) == part {
				n++
			}
		}
		if int(info.NumPending) != n {
			t.Errorf("partition %d's filter selects %d messages, want %d", part, info.NumPending, n)
		}
	}
}

// Missing names what is not there and creates nothing.
func TestMissingChangesNothing(t *testing.T) {
	t.Parallel()
	js := natstest.RunJetStream(t).JetStream(t)
	ctx := context.Background()
	services := []string{"shop", "bank"}
	missing, err := streams.Missing(ctx, js, services)
	if err != nil || !slices.Equal(missing, []string{streams.DLQ, "SHOP_EVENTS", "BANK_EVENTS"}) {
		t.Fatalf("Missing on an empty server = %v, %v", missing, err)
	}
	if err := streams.Ensure(ctx, js, []string{"shop"}, streams.Options{}); err != nil {
		t.Fatal(err)
	}
	if missing, err = streams.Missing(ctx, js, services); err != nil || !slices.Equal(missing, []string{"BANK_EVENTS"}) {
		t.Fatalf("Missing = %v, %v, want [BANK_EVENTS]", missing, err)
	}
	if _, err := js.Stream(ctx, "BANK_EVENTS"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("Missing created BANK_EVENTS: %v", err)
	}
}
