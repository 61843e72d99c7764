// Package streams declares Choreo's JetStream streams in one place, so that
// every service creates (or updates) them with the same configuration,
// whichever starts first.
package streams

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream names, from the contract.
const (
	Order     = "ORDER_EVENTS"
	Payment   = "PAYMENT_EVENTS"
	Inventory = "INVENTORY_EVENTS"
	Shipping  = "SHIPPING_EVENTS"
	DLQ       = "DLQ"
)

// DuplicateWindow is how long JetStream remembers a Nats-Msg-Id. A relay that
// republishes an event within it is de-duplicated by the server; past it, the
// consumers' inboxes do the job.
const DuplicateWindow = 2 * time.Minute

// EventStream returns the configuration of a service's event stream. The
// owner's name is the subject prefix: "order" owns "order.events.>".
func EventStream(name, service string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        name,
		Description: "Choreo events published by the " + service + " service",
		Subjects:    []string{service + ".events.>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Duplicates:  DuplicateWindow,
		Replicas:    1,
		// The outbox relay publishes in atomic batches: one request and one
		// fsync for many events.
		AllowAtomicPublish: true,
	}
}

// DLQStream is where consumers put the messages they gave up on.
func DLQStream() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        DLQ,
		Description: "Choreo dead letters: dlq.<service>.<original subject>",
		Subjects:    []string{"dlq.>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Duplicates:  DuplicateWindow,
		Replicas:    1,
	}
}

// All is every stream of the platform, by name.
func All() map[string]jetstream.StreamConfig {
	return map[string]jetstream.StreamConfig{
		Order:     EventStream(Order, "order"),
		Payment:   EventStream(Payment, "payment"),
		Inventory: EventStream(Inventory, "inventory"),
		Shipping:  EventStream(Shipping, "shipping"),
		DLQ:       DLQStream(),
	}
}

// Ensure creates or updates the named streams (all of them if none is named).
// It is idempotent: services call it on every start.
func Ensure(ctx context.Context, js jetstream.JetStream, names ...string) error {
	all := All()
	if len(names) == 0 {
		for n := range all {
			names = append(names, n)
		}
	}
	for _, n := range names {
		cfg, ok := all[n]
		if !ok {
			return fmt.Errorf("ensure stream %s: unknown stream", n)
		}
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("ensure stream %s: %w", n, err)
		}
	}
	return nil
}
