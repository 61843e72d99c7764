// Package streams names Choreo's JetStream streams and subjects and holds
// their configuration, in one place: every service derives its own stream,
// its subjects and the filters of the consumers it needs from a service name
// and an event type, never from hand-typed strings.
//
// A service "payment" owns the stream PAYMENT_EVENTS, which carries
// "payment.events.>"; an event of type PaymentCompleted about aggregate o-1
// is published on "payment.events.PaymentCompleted.o-1".
package streams

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/choreo-dev/choreo/shared/partition"

	"github.com/nats-io/nats.go/jetstream"
)

// DLQ is the stream of dead letters, "dlq.<service>.<original subject>".
const DLQ = "DLQ"

// DuplicateWindow is how long JetStream remembers a Nats-Msg-Id. A relay that
// republishes an event within it is de-duplicated by the server; past it, the
// consumers' inboxes do the job.
const DuplicateWindow = 2 * time.Minute

// Name is the stream a service owns: "payment" owns "PAYMENT_EVENTS".
func Name(service string) string { return strings.ToUpper(service) + "_EVENTS" }

// Subjects is what a service's stream carries: "<service>.events.>".
func Subjects(service string) string { return service + ".events.>" }

// Subject is where a service publishes an event of eventType about the
// aggregate aggID: "<service>.events.<Type>.<aggregate id>".
func Subject(service, eventType, aggID string) string {
	return service + ".events." + eventType + "." + aggID
}

// Filter selects one event type of a service's stream:
// "<service>.events.<Type>.>".
func Filter(service, eventType string) string {
	return service + ".events." + eventType + ".>"
}

// PartitionFilter selects one event type's share of partition part, in a
// stream that partitions its subjects (see Options.Partitions):
// "<service>.events.<Type>.*.<part>".
func PartitionFilter(service, eventType string, part int) string {
	return service + ".events." + eventType + ".*." + strconv.Itoa(part)
}

// ParseSubject splits an event subject into its service, event type and
// aggregate id; ok is false if the subject is not of that shape. The
// partition token a partitioned stream adds to what it stores is accepted
// and left out (see Stored).
func ParseSubject(subject string) (service, eventType, aggID string, ok bool) {
	parts := strings.Split(subject, ".")
	if len(parts) == 5 {
		if _, err := strconv.Atoi(parts[4]); err != nil {
			return "", "", "", false
		}
		parts = parts[:4]
	}
	if len(parts) != 4 || parts[1] != "events" || parts[0] == "" || parts[2] == "" || parts[3] == "" {
		return "", "", "", false
	}
	return parts[0], parts[2], parts[3], true
}

// AggregateID is the aggregate id of an event subject (its fourth token),
// with or without the partition token a partitioned stream adds, found
// without allocating: the consumers order their work by it. A subject of
// another shape is returned whole.
func AggregateID(subject string) string {
	start, dots := 0, 0
	for i := 0; i < len(subject); i++ {
		if subject[i] != '.' {
			continue
		}
		switch dots++; dots {
		case 3:
			start = i + 1
		case 4:
			return subject[start:i]
		}
	}
	if dots == 3 {
		return subject[start:]
	}
	return subject
}

// Stored is the subject a stream stores an event published on subject under:
// subject itself, or with the partition of its id token appended when the
// stream partitions its subjects into partitions (> 1) — what a consumer of
// that stream sees.
func Stored(subject string, partitions int) string {
	if partitions <= 1 {
		return subject
	}
	_, _, id, ok := ParseSubject(subject)
	if !ok {
		return subject
	}
	return subject + "." + strconv.Itoa(partition.Of(id, partitions))
}

// Published is the subject an event stored on subject was published on:
// subject without the partition token a partitioned stream appends (see
// Stored); any other subject as it is.
func Published(subject string) string {
	if _, _, _, ok := ParseSubject(subject); ok && strings.Count(subject, ".") == 4 {
		return subject[:strings.LastIndexByte(subject, '.')]
	}
	return subject
}

// DeadLetterSubject is where a service's dead letter of a message first
// published on subject goes: "dlq.<service>.<subject>".
func DeadLetterSubject(service, subject string) string { return "dlq." + service + "." + subject }

// Options are the deployment's stream settings.
type Options struct {
	// Replicas is each stream's replication factor: 1 on a single server,
	// 3 in a three-node cluster. Default 1.
	Replicas int
	// Partitions, above 1, is how many partitions the services run as: each
	// event stream then stores "<service>.events.<Type>.<id>" as
	// "<service>.events.<Type>.<id>.<partition of id>" (JetStream's
	// deterministic partition() mapping), so a partition's consumer is
	// delivered only its share. Publishers and core subscribers keep the
	// contract's subjects. Default 1: subjects stored as published.
	Partitions int
}

func (o Options) replicas() int { return max(1, o.Replicas) }

// EventStream returns the configuration of a service's event stream.
func EventStream(service string, o Options) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        Name(service),
		Description: "Choreo events published by the " + service + " service",
		Subjects:    []string{Subjects(service)},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Duplicates:  DuplicateWindow,
		Replicas:    o.replicas(),
		// The outbox relay publishes in atomic batches: one request and one
		// fsync for many events.
		AllowAtomicPublish: true,
		SubjectTransform:   partitionTransform(service, o.Partitions),
	}
}

// partitionTransform appends the partition of the id token to every event
// subject, when there is more than one partition.
func partitionTransform(service string, partitions int) *jetstream.SubjectTransformConfig {
	if partitions <= 1 {
		return nil
	}
	return &jetstream.SubjectTransformConfig{
		Source:      service + ".events.*.*",
		Destination: service + ".events.{{wildcard(1)}}.{{wildcard(2)}}.{{partition(" + strconv.Itoa(partitions) + ",2)}}",
	}
}

// DLQStream is where consumers put the messages they gave up on.
func DLQStream(o Options) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        DLQ,
		Description: "Choreo dead letters: dlq.<service>.<original subject>",
		Subjects:    []string{"dlq.>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Duplicates:  DuplicateWindow,
		Replicas:    o.replicas(),
	}
}

// Configs are the streams of the named services and the DLQ: what Ensure
// and Recreate make, and what provisioning creates for services that may not.
func Configs(services []string, o Options) []jetstream.StreamConfig {
	cfgs := []jetstream.StreamConfig{DLQStream(o)}
	for _, s := range services {
		cfgs = append(cfgs, EventStream(s, o))
	}
	return cfgs
}

// Ensure creates or updates the event streams of the named services and the
// DLQ (see also Recreate). It is idempotent: a service calls it on every start for its own
// stream and the streams of the services it hears, so that no service waits
// for another to have started once (every service derives the same
// configuration from the same name). In a deployment where services may not
// create streams, provisioning does it instead.
func Ensure(ctx context.Context, js jetstream.JetStream, services []string, o Options) error {
	for _, cfg := range Configs(services, o) {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("ensure stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// Recreate creates those of the named services' event streams and the DLQ
// that do not exist, and leaves the others as they are: what a service does
// between starts, when a stream may have been lost (a wiped server, `nats
// stream rm`) but an operator's change to one that exists is not its
// business until it restarts. It returns the names it created.
func Recreate(ctx context.Context, js jetstream.JetStream, services []string, o Options) ([]string, error) {
	var created []string
	for _, cfg := range Configs(services, o) {
		_, err := js.Stream(ctx, cfg.Name)
		if err == nil {
			continue
		}
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return created, fmt.Errorf("look up stream %s: %w", cfg.Name, err)
		}
		if _, err := js.CreateStream(ctx, cfg); err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return created, fmt.Errorf("re-create stream %s: %w", cfg.Name, err)
		}
		created = append(created, cfg.Name)
	}
	return created, nil
}

// Missing returns the names of those of the named services' event streams
// and the DLQ that do not exist, changing nothing: what a service whose
// streams are provisioned for it checks.
func Missing(ctx context.Context, js jetstream.JetStream, services []string) ([]string, error) {
	var missing []string
	for _, cfg := range Configs(services, Options{}) {
		_, err := js.Stream(ctx, cfg.Name)
		switch {
		case errors.Is(err, jetstream.ErrStreamNotFound):
			missing = append(missing, cfg.Name)
		case err != nil:
			return missing, fmt.Errorf("look up stream %s: %w", cfg.Name, err)
		}
	}
	return missing, nil
}
