package streams_test

import (
	"context"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go/jetstream"
)

func TestEnsureIsIdempotentAndRestoresConfig(t *testing.T) {
	t.Parallel()
	js := natstest.RunJetStream(t).JetStream(t)
	ctx := context.Background()
	if err := streams.Ensure(ctx, js); err != nil {
		t.Fatal(err)
	}
	// Someone shortened the duplicate window by hand; the next start puts it back.
	cfg := streams.EventStream(streams.Order, "order")
	cfg.Duplicates = time.Second
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := streams.Ensure(ctx, js); err != nil {
		t.Fatalf("second ensure: %v", err)
	}
	for name, want := range streams.All() {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		got := s.CachedInfo().Config
		if got.Storage != jetstream.FileStorage || got.Duplicates != streams.DuplicateWindow || got.Subjects[0] != want.Subjects[0] {
			t.Errorf("%s: %+v", name, got)
		}
	}
	if err := streams.Ensure(ctx, js, "NOPE"); err == nil {
		t.Fatal("unknown stream accepted")
	}
}
