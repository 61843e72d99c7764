// Package provision creates on the broker what Choreo's services need and,
// in the secure profile, may not create themselves: each service's event
// stream, the DLQ, and every service's durable consumers. It makes exactly
// what a service makes for itself when it may — the same stream
// configurations (streams.Ensure) and the same durables, derived from the
// same declarations (consumer.For) and created or updated the same way
// (consumer.Ensure) — so the two modes never disagree.
package provision

import (
	"context"
	"fmt"

	"github.com/choreo-dev/choreo/shared/consumer"
	"github.com/choreo-dev/choreo/shared/partition"
	"github.com/choreo-dev/choreo/shared/saga"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go/jetstream"
)

// Durable is one durable consumer provisioning made or updated.
type Durable struct {
	Stream  string `json:"stream"`
	Name    string `json:"name"`
	Created bool   `json:"created"`
}

// Report says what Apply did.
type Report struct {
	// Streams were created or updated to their configuration.
	Streams   []string  `json:"streams"`
	Consumers []Durable `json:"consumers"`
}

// Apply creates or updates the event streams of the described services and
// the DLQ, then every durable consumer of every service. It is idempotent:
// run it before the services start, and again after an upgrade that adds
// an event type or a reaction. A durable that exists keeps its position.
func Apply(ctx context.Context, js jetstream.JetStream, services []saga.Description, o streams.Options) (Report, error) {
	var r Report
	names := make([]string, len(services))
	for i, d := range services {
		names[i] = d.Service
	}
	if err := streams.Ensure(ctx, js, names, o); err != nil {
		return r, err
	}
	for _, cfg := range streams.Configs(names, o) {
		r.Streams = append(r.Streams, cfg.Name)
	}
	for _, d := range services {
		for _, cc := range consumer.For(d, partition.Whole) {
			_, created, err := consumer.Ensure(ctx, js, cc)
			if err != nil {
				return r, fmt.Errorf("durable %s on %s: %w", cc.Service, cc.Stream, err)
			}
			r.Consumers = append(r.Consumers, Durable{Stream: cc.Stream, Name: cc.ConsumerConfig().Durable, Created: created})
		}
	}
	return r, nil
}
