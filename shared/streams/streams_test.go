package streams_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/natstest"
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
