package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/consumer"
	"github.com/choreo-dev/choreo/shared/endpoint"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/service"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/rs/zerolog"
)

type noted struct {
	Text string `json:"text"`
}

func (noted) EventType() string { return "Noted" }

type noteRequest struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// spec is a one-endpoint service on the order stream: order.note appends a
// public event, which the relay must publish.
func spec() service.Spec {
	reg := envelope.NewRegistry()
	envelope.RegisterPublic[noted](reg, "order")
	return service.Spec{
		Name: "order", Stream: streams.Order, Registry: reg,
		// It hears its own events: a consumer to drain on shutdown.
		Consumers: func(*eventstore.Store) []consumer.Config {
			return []consumer.Config{{Stream: streams.Order, Subjects: []string{"order.events.Noted.>"},
				Handler: func(context.Context, *eventstore.Tx, envelope.Envelope, envelope.Event) error { return nil }}}
		},
		Endpoints: func(st *eventstore.Store) []endpoint.Endpoint {
			return []endpoint.Endpoint{endpoint.New("order.note", func(ctx context.Context, r *noteRequest) (any, error) {
				err := st.Update(ctx, func(tx *eventstore.Tx) error {
					_, err := tx.Append("note", r.ID, tx.Version("note", r.ID), eventstore.Meta{CorrelationID: r.ID}, noted{Text: r.Text})
					return err
				})
				return map[string]string{"id": r.ID}, err
			})}
		},
	}
}

func run(t *testing.T, url, dir string) (ready chan struct{}, stop func() error) {
	t.Helper()
	ready = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- service.Run(ctx, spec(), service.Options{NATSURL: url, DataDir: dir, Logger: zerolog.Nop(), Ready: ready})
	}()
	var stopped bool
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			return errors.New("service did not stop")
		}
	}
	t.Cleanup(func() { _ = stop() })
	return ready, stop
}

// A service started while NATS is down keeps trying, and serves (and
// publishes what it committed meanwhile) once NATS is up.
func TestStartsBeforeNATSAndCatchesUp(t *testing.T) {
	t.Parallel()
	srv := natstest.RunJetStream(t)
	url := srv.URL()
	srv.Shutdown()
	ready, stop := run(t, url, t.TempDir())
	select {
	case <-ready:
		t.Fatal("ready without NATS")
	case <-time.After(300 * time.Millisecond):
	}
	srv.Restart(t)
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatal("not ready after NATS came up")
	}
	nc := srv.Connect(t)
	if _, err := nc.Request("order.note", []byte(`{"id":"n1","text":"hi"}`), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	js := srv.JetStream(t)
	natstest.Eventually(t, 10*time.Second, func() error {
		s, err := js.Stream(context.Background(), streams.Order)
		if err != nil {
			return err
		}
		_, err = s.GetLastMsgForSubject(context.Background(), "order.events.Noted.n1")
		return err
	})
	if err := stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
}

// A second process on the same data directory fails fast with ErrLocked.
func TestSecondInstanceFailsFast(t *testing.T) {
	t.Parallel()
	srv := natstest.RunJetStream(t)
	dir := t.TempDir()
	ready, _ := run(t, srv.URL(), dir)
	<-ready
	start := time.Now()
	err := service.Run(context.Background(), spec(), service.Options{NATSURL: srv.URL(), DataDir: dir, Logger: zerolog.Nop()})
	if !errors.Is(err, eventstore.ErrLocked) {
		t.Fatalf("second instance: err = %v, want ErrLocked", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("second instance took %v to fail", d)
	}
}

// A service whose NATS went away first still stops promptly: goreman stops
// the Procfile's processes one after the other, and each used to wait ~10s
// for a pull iterator's drain that cannot finish without a connection.
func TestStopsPromptlyWhenNATSIsGone(t *testing.T) {
	t.Parallel()
	srv := natstest.RunJetStream(t)
	ready, stop := run(t, srv.URL(), t.TempDir())
	<-ready
	srv.Shutdown()
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// A hang detector, not a speed goal: the bound is 2.5 times the worst
	// case the runner allows itself (2s for a drain while connected).
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("stopping without NATS took %v", d)
	}
}
