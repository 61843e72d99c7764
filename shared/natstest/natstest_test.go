package natstest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-dev/choreo/shared/natstest"
)

func createStream(ctx context.Context, t *testing.T, js jetstream.JetStream) jetstream.Stream {
	t.Helper()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name:     "TEST",
		Subjects: []string{"test.>"},
		Storage:  jetstream.FileStorage,
	})
	if err != nil {
		t.Fatalf("create stream: %v", err)
	}
	return st
}

func TestRunJetStream(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := natstest.RunJetStream(t)

	if s.URL() == "" || s.StoreDir() == "" {
		t.Fatalf("URL %q, StoreDir %q: want both set", s.URL(), s.StoreDir())
	}
	js := s.JetStream(t)
	createStream(ctx, t, js)
	ack, err := js.Publish(ctx, "test.a", []byte("hello"))
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	if ack.Stream != "TEST" || ack.Sequence != 1 {
		t.Fatalf("ack = %+v, want stream TEST sequence 1", ack)
	}
}

func TestRestartKeepsStreamAndReconnects(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := natstest.RunJetStream(t, natstest.WithSyncAlways())
	url := s.URL()

	nc := s.Connect(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	createStream(ctx, t, js)
	if _, err := js.Publish(ctx, "test.before", []byte("before")); err != nil {
		t.Fatalf("publish before restart: %v", err)
	}

	s.Restart(t)

	if s.URL() != url {
		t.Fatalf("URL after restart = %q, want %q", s.URL(), url)
	}
	// The same connection comes back by itself and JetStream serves again.
	var ack *jetstream.PubAck
	natstest.Eventually(t, 10*time.Second, func() error {
		if !nc.IsConnected() {
			return fmt.Errorf("client status %v", nc.Status())
		}
		ack, err = js.Publish(ctx, "test.after", []byte("after"))
		return err
	})
	if ack.Sequence != 2 {
		t.Fatalf("sequence after restart = %d, want 2 (the first message survived)", ack.Sequence)
	}
	if nc.Stats().Reconnects == 0 {
		t.Fatal("client did not reconnect")
	}

	st, err := js.Stream(ctx, "TEST")
	if err != nil {
		t.Fatalf("stream after restart: %v", err)
	}
	msg, err := st.GetMsg(ctx, 1)
	if err != nil {
		t.Fatalf("get message 1: %v", err)
	}
	if string(msg.Data) != "before" || msg.Subject != "test.before" {
		t.Fatalf("message 1 = %s %q, want test.before \"before\"", msg.Subject, msg.Data)
	}
}

func TestShutdownThenRestart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := natstest.RunJetStream(t)
	nc := s.Connect(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	createStream(ctx, t, js)

	s.Shutdown()
	s.Shutdown() // idempotent
	natstest.Eventually(t, 5*time.Second, func() error {
		if nc.Status() == nats.CONNECTED {
			return errors.New("client still connected to a stopped server")
		}
		return nil
	})

	s.Restart(t)
	natstest.Eventually(t, 10*time.Second, func() error {
		_, err := js.Stream(ctx, "TEST")
		return err
	})
}

func TestWithStoreDir(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()

	first := natstest.RunJetStream(t, natstest.WithStoreDir(dir))
	if first.StoreDir() != dir {
		t.Fatalf("StoreDir = %q, want %q", first.StoreDir(), dir)
	}
	js := first.JetStream(t)
	createStream(ctx, t, js)
	if _, err := js.Publish(ctx, "test.a", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "jetstream")); err != nil {
		t.Fatalf("no JetStream files in the store dir: %v", err)
	}
	first.Shutdown()

	// A second server over the same files (on a new port) sees the stream.
	second := natstest.RunJetStream(t, natstest.WithStoreDir(dir))
	st, err := second.JetStream(t).Stream(ctx, "TEST")
	if err != nil {
		t.Fatalf("stream on second server: %v", err)
	}
	msg, err := st.GetMsg(ctx, 1)
	if err != nil || string(msg.Data) != "kept" {
		t.Fatalf("message 1 = %v, %v; want \"kept\"", msg, err)
	}
}

func TestEventually(t *testing.T) {
	t.Parallel()
	calls := 0
	natstest.Eventually(t, time.Second, func() error {
		calls++
		if calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if calls != 3 {
		t.Fatalf("calls = %d, want 3", calls)
	}
}
