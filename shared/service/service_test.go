package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/consumer"
	"github.com/choreo-dev/choreo/shared/endpoint"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/health"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/saga"
	"github.com/choreo-dev/choreo/shared/service"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

type noted struct {
	Text string `json:"text"`
}

func (noted) EventType() string { return "Noted" }

// heardIt is the effect of hearing a note.
type heardIt struct{}

func (heardIt) EventType() string { return "HeardIt" }

type noteRequest struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// spec is a one-endpoint service, shop: shop.note appends a public event,
// which the relay must publish, and which the service also hears (a consumer
// to drain on shutdown).
func spec() service.Spec {
	reg := envelope.NewRegistry()
	envelope.RegisterPublic[noted](reg, "shop")
	envelope.Register[heardIt](reg)
	return service.Spec{
		Saga: saga.Service{
			Name:      "shop",
			Publishes: []saga.Event{saga.Publishes[noted](saga.Outside)},
			// Each note heard is an effect: a private event on ("heard", note id).
			Reactions: []saga.Reaction{saga.On(func(_ context.Context, tx *eventstore.Tx, env envelope.Envelope, _ noted) error {
				_, err := tx.Append("heard", env.AggregateID, tx.Version("heard", env.AggregateID), eventstore.Meta{}, heardIt{})
				return err
			})},
		},
		Registry: reg,
		Endpoints: func(st *eventstore.Store) []endpoint.Endpoint {
			return []endpoint.Endpoint{endpoint.New("shop.note", func(ctx context.Context, r *noteRequest) (any, error) {
				err := st.Update(ctx, func(tx *eventstore.Tx) error {
					_, err := tx.Append("note", r.ID, tx.Version("note", r.ID), eventstore.Meta{CorrelationID: r.ID}, noted{Text: r.Text})
					return err
				})
				return map[string]string{"id": r.ID}, err
			}), endpoint.New("shop.heard", func(ctx context.Context, r *noteRequest) (any, error) {
				var n uint64
				err := st.View(ctx, func(tx *eventstore.Tx) error { n = tx.Version("heard", r.ID); return nil })
				return map[string]uint64{"effects": n}, err
			})}
		},
	}
}

func run(t *testing.T, url, dir string, tune ...func(*service.Options)) (ready chan struct{}, stop func() error) {
	t.Helper()
	ready = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	opts := service.Options{NATSURL: url, DataDir: dir, Logger: zerolog.Nop(), Ready: ready}
	for _, f := range tune {
		f(&opts)
	}
	go func() { done <- service.Run(ctx, spec(), opts) }()
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
	if _, err := nc.Request("shop.note", []byte(`{"id":"n1","text":"hi"}`), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	js := srv.JetStream(t)
	natstest.Eventually(t, 10*time.Second, func() error {
		s, err := js.Stream(context.Background(), streams.Name("shop"))
		if err != nil {
			return err
		}
		_, err = s.GetLastMsgForSubject(context.Background(), streams.Subject("shop", "Noted", "n1"))
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

// A consumer whose configuration the server refuses stops the service with
// the server's reason, instead of leaving it "not ready" for ever.
func TestConsumerConfigErrorStopsTheService(t *testing.T) {
	t.Parallel()
	srv := natstest.RunJetStream(t)
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- service.Run(context.Background(), spec(), service.Options{NATSURL: srv.URL(), DataDir: t.TempDir(),
			Logger: zerolog.Nop(), Ready: ready,
			// Overlapping filters: the server refuses them.
			ConsumerTuning: func(c *consumer.Config) { c.Subjects = []string{"shop.events.>", "shop.events.Noted.>"} }})
	}()
	select {
	case <-ready:
		t.Fatal("ready with a consumer the server refused")
	case err := <-done:
		// It stopped by itself, with the reason.
		if err == nil || !strings.Contains(err.Error(), "consumer") {
			t.Fatalf("Run returned %v, want the consumer's error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("still running 30s after the server refused its consumer")
	}
}

// A start aborted before the consumers bind (the stream a consumer needs
// never appeared) leaves no goroutine of the service behind.
func TestAbortedStartLeavesNoGoroutine(t *testing.T) {
	srv := natstest.RunJetStream(t)
	sp := spec()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- service.Run(ctx, sp, service.Options{NATSURL: srv.URL(), DataDir: t.TempDir(), Logger: zerolog.Nop(),
			// A stream nobody creates: the consumer waits for it.
			ConsumerTuning: func(c *consumer.Config) { c.Stream = "NOWHERE" }})
	}()
	js := srv.JetStream(t)
	// Its own stream exists: it is past setup, with a consumer waiting for
	// NOWHERE.
	natstest.Eventually(t, 10*time.Second, func() error {
		_, err := js.Stream(context.Background(), streams.Name("shop"))
		return err
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	natstest.Eventually(t, 5*time.Second, func() error {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		if i := strings.Index(stacks, "shared/service.Run"); i >= 0 {
			return fmt.Errorf("a goroutine of service.Run is still alive:\n%s", stacks[max(0, i-2000):min(len(stacks), i+500)])
		}
		return nil
	})
}

// effects asks the shop how many times it applied the note's effect.
func effects(t *testing.T, nc *nats.Conn, id string) (uint64, error) {
	t.Helper()
	msg, err := nc.Request("shop.heard", []byte(`{"id":"`+id+`"}`), 5*time.Second)
	if err != nil {
		return 0, err
	}
	var r struct{ Effects uint64 }
	return r.Effects, json.Unmarshal(msg.Data, &r)
}

// A broker that lost everything (restarted on a wiped store) is healed by
// the service alone: it re-creates its stream and its durable consumer,
// publishes its recent events again under their original ids — the stream
// holds them anew — and the inbox keeps their effects exactly-once; new
// work flows as before. No restart by hand.
func TestHealsAfterTheBrokerIsWiped(t *testing.T) {
	t.Parallel()
	srv := natstest.RunJetStream(t)
	checks := health.New(zerolog.Nop())
	ready, stop := run(t, srv.URL(), t.TempDir(), func(o *service.Options) {
		o.Checks, o.HealEvery = checks, 100*time.Millisecond
		o.NATSOptions = []nats.Option{nats.ReconnectWait(20 * time.Millisecond)}
		o.ConsumerTuning = func(c *consumer.Config) { c.Heal = 100 * time.Millisecond }
	})
	<-ready
	nc := srv.Connect(t)
	note := func(id string) {
		t.Helper()
		natstest.Eventually(t, 20*time.Second, func() error {
			_, err := nc.Request("shop.note", []byte(`{"id":"`+id+`","text":"hi"}`), 2*time.Second)
			return err
		})
	}
	heardOnce := func(id string) {
		t.Helper()
		natstest.Eventually(t, 30*time.Second, func() error {
			n, err := effects(t, nc, id)
			if err == nil && n != 1 {
				err = fmt.Errorf("note %s heard %d times", id, n)
			}
			return err
		})
	}
	note("n1")
	heardOnce("n1")

	srv.RestartWiped(t)

	js := srv.JetStream(t)
	natstest.Eventually(t, 30*time.Second, func() error {
		s, err := js.Stream(context.Background(), streams.Name("shop"))
		if err != nil {
			return err
		}
		_, err = s.GetLastMsgForSubject(context.Background(), streams.Subject("shop", "Noted", "n1"))
		return err
	})
	note("n2")
	heardOnce("n2")
	if n, err := effects(t, nc, "n1"); err != nil || n != 1 {
		t.Fatalf("n1 heard %d times after the replay (%v): the inbox must keep it once", n, err)
	}
	natstest.Eventually(t, 10*time.Second, func() error {
		if r := checks.Report(); !r.Ready {
			return fmt.Errorf("not ready: %+v", r.Checks)
		}
		return nil
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
