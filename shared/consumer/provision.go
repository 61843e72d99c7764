package consumer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/choreo-dev/choreo/shared/partition"
	"github.com/choreo-dev/choreo/shared/saga"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of the settings the durable consumer on the server is made from
// (see Config).
const (
	DefaultAckWait       = 10 * time.Second
	DefaultMaxAckPending = 1024
	// DefaultOverflow is Config.Overflow's default.
	DefaultOverflow = 100_000
	DefaultHorizon  = 7 * 24 * time.Hour
)

// For derives a service's consumers from its saga declaration: one durable
// consumer, named after the service, on the stream of each service whose
// events it hears, filtered to exactly the event types it reacts to. Only
// Service, Stream and Subjects are set; the host adds the handler, the store
// and the rest. Provisioning and the permission table derive from the same
// function, so what a service binds to, what is created for it and what it
// may touch never disagree.
//
// For partition p of a partitioned service, each durable is named after the
// service and the partition ("payment-p1") and filtered to p's share of the
// stream (saga.Source.Filters).
func For(d saga.Description, p partition.Partition) []Config {
	var out []Config
	for _, src := range d.Sources() {
		out = append(out, Config{Service: d.Service, Durable: d.Service + p.Suffix(), Stream: streams.Name(src.Service), Subjects: src.Filters(p)})
	}
	return out
}

// Ensure makes the durable consumer of c exist on the server with c's
// configuration: it creates it if missing (starting Horizon ago, or at the
// start of the stream if Horizon is negative) and otherwise updates it,
// keeping where it started (a deliver policy cannot change). created says
// which. The runner does this when it binds; provisioning does it for a
// service that may not.
func Ensure(ctx context.Context, js jetstream.JetStream, c Config) (cons jetstream.Consumer, created bool, err error) {
	want := c.ConsumerConfig()
	cons, err = js.Consumer(ctx, c.Stream, want.Durable)
	switch {
	case err == nil:
		have := cons.CachedInfo().Config
		want.DeliverPolicy, want.OptStartSeq, want.OptStartTime = have.DeliverPolicy, have.OptStartSeq, have.OptStartTime
		cons, err = js.UpdateConsumer(ctx, c.Stream, want)
		return cons, false, err
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		horizon := c.Horizon
		if horizon == 0 {
			horizon = DefaultHorizon
		}
		if horizon > 0 {
			from := time.Now().Add(-horizon)
			want.DeliverPolicy, want.OptStartTime = jetstream.DeliverByStartTimePolicy, &from
		}
		cons, err = js.CreateConsumer(ctx, c.Stream, want)
		if errors.Is(err, jetstream.ErrConsumerExists) {
			return Ensure(ctx, js, c) // made by someone else meanwhile
		}
		return cons, err == nil, err
	}
	return nil, false, err
}

// lookUp returns the durable consumer of c as it is on the server, without
// creating or changing it: what a service whose consumers are provisioned
// for it does. A missing durable is ErrNotProvisioned.
func lookUp(ctx context.Context, js jetstream.JetStream, c Config) (jetstream.Consumer, error) {
	cons, err := js.Consumer(ctx, c.Stream, c.durable())
	if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("%w: durable %s on %s: %w", ErrNotProvisioned, c.Service, c.Stream, err)
	}
	return cons, err
}
