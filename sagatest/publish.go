package sagatest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// PublishEvent publishes ev on service's stream the way that service
// would — an envelope with a new id (its Nats-Msg-Id too), aggregate and
// correlation the order, version 1, on <service>.events.<Type>.<order> —
// and returns the envelope: an event from nowhere, for tests of what the
// services, and the tools around them, make of one.
func (s *Stack) PublishEvent(t testing.TB, service string, ev envelope.Event, orderID string) envelope.Envelope {
	t.Helper()
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	env := envelope.Envelope{ID: envelope.NewID(), Type: ev.EventType(), SchemaVersion: 1,
		AggregateType: service, AggregateID: orderID, Version: 1, OccurredAt: time.Now().UTC(),
		CorrelationID: orderID, CausationID: orderID, Data: data}
	m := nats.NewMsg(streams.Subject(service, env.Type, orderID))
	m.Header.Set(jetstream.MsgIDHeader, env.ID)
	if m.Data, err = json.Marshal(env); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.JS.PublishMsg(ctx, m); err != nil {
		t.Fatalf("publish %s: %v", m.Subject, err)
	}
	return env
}
