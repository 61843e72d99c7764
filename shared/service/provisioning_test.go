package service_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/consumer"
	"github.com/choreo-dev/choreo/shared/health"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/service"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/choreo-dev/choreo/shared/syncbuf"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// failing waits until check fails with a reason containing want.
func failing(t *testing.T, checks *health.Checks, check, want string) {
	t.Helper()
	natstest.Eventually(t, 10*time.Second, func() error {
		for _, s := range checks.Failing() {
			if s.Name == check && strings.Contains(s.Reason, want) {
				return nil
			}
		}
		return fmt.Errorf("check %s not failing with %q: %+v", check, want, checks.Report().Checks)
	})
}

// With external provisioning a service creates nothing on the broker: it
// says, once per episode, what is missing and waits, and it is ready once
// provisioning has made its streams and durables, with the configuration
// the runner would have made (consumer.Ensure, from the same derivation).
// A durable deleted later is not re-created either.
func TestExternalProvisioningOnlyLooks(t *testing.T) {
	t.Parallel()
	srv := natstest.RunJetStream(t)
	js := srv.JetStream(t)
	ctx := context.Background()
	logs := &syncbuf.Buffer{}
	checks := health.New(zerolog.New(logs))
	ready, stop := run(t, srv.URL(), t.TempDir(), func(o *service.Options) {
		o.ExternalProvisioning, o.Checks, o.HealEvery = true, checks, 50*time.Millisecond
		o.ConsumerTuning = func(c *consumer.Config) { c.Heal = 50 * time.Millisecond }
	})

	failing(t, checks, "streams", "missing DLQ, SHOP_EVENTS: provisioning is external, run `choreo provision`")
	if names := streamNames(t, js); len(names) != 0 {
		t.Fatalf("the service created streams %v", names)
	}
	if err := streams.Ensure(ctx, js, []string{"shop"}, streams.Options{}); err != nil {
		t.Fatal(err)
	}
	failing(t, checks, "consumer:SHOP_EVENTS", "durable shop on SHOP_EVENTS missing: provisioning is external")
	if _, err := js.Consumer(ctx, "SHOP_EVENTS", "shop"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Fatalf("the service created its durable: %v", err)
	}
	select {
	case <-ready:
		t.Fatal("ready before its durable was provisioned")
	default:
	}
	for _, cc := range spec().Consumers() {
		if _, _, err := consumer.Ensure(ctx, js, cc); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatalf("not ready after provisioning: %+v", checks.Failing())
	}
	// One line when each check starts failing, one when it passes again —
	// once it has kept passing for the checks' settle time.
	natstest.Eventually(t, 10*time.Second, func() error {
		if f := checks.Failing(); len(f) > 0 {
			return fmt.Errorf("still failing: %+v", f)
		}
		return nil
	})
	out := logs.String()
	for _, check := range []string{"streams", "consumer:SHOP_EVENTS"} {
		if n := strings.Count(out, `"message":"not ready: `+check+`:`); n != 1 {
			t.Errorf("%d 'not ready' lines for %s, want 1:\n%s", n, check, out)
		}
		if n := strings.Count(out, `"message":"ready again: `+check+`"`); n != 1 {
			t.Errorf("%d 'ready again' lines for %s, want 1:\n%s", n, check, out)
		}
	}

	// Deleted by hand: noticed, said, not re-created.
	if err := js.DeleteConsumer(ctx, "SHOP_EVENTS", "shop"); err != nil {
		t.Fatal(err)
	}
	failing(t, checks, "consumer:SHOP_EVENTS", "missing: provisioning is external")
	if _, err := js.Consumer(ctx, "SHOP_EVENTS", "shop"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("the service re-created its durable: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}

func streamNames(t *testing.T, js jetstream.JetStream) []string {
	t.Helper()
	var names []string
	l := js.StreamNames(context.Background())
	for n := range l.Name() {
		names = append(names, n)
	}
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}
