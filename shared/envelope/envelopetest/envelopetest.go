// Package envelopetest holds test helpers for pure event-sourced domains:
// folding events into a state, checking that snapshots are faithful, and
// checking that a public event keeps the contract's wire shape.
package envelopetest

import (
	"encoding/json"
	"reflect"
	"regexp"
	"testing"

	"github.com/choreo-dev/choreo/shared/envelope"
)

// Fold applies events to s with evolve, in order.
func Fold[S any](s S, evolve func(S, envelope.Event) S, events ...envelope.Event) S {
	for _, e := range events {
		s = evolve(s, e)
	}
	return s
}

// CheckSnapshots checks that for every split of events, a JSON snapshot of the
// state after the head, with the tail applied, equals the full replay: what
// the event store relies on when it loads a snapshot and its tail.
func CheckSnapshots[S any](t testing.TB, zero S, evolve func(S, envelope.Event) S, events []envelope.Event) {
	t.Helper()
	want := Fold(zero, evolve, events...)
	for k := range len(events) + 1 {
		data, err := json.Marshal(Fold(zero, evolve, events[:k]...))
		if err != nil {
			t.Fatal(err)
		}
		var snap S
		if err := json.Unmarshal(data, &snap); err != nil {
			t.Fatal(err)
		}
		if got := Fold(snap, evolve, events[k:]...); !reflect.DeepEqual(got, want) {
			t.Fatalf("snapshot after %d events then tail = %+v, want %+v", k, got, want)
		}
	}
}

// Equal fails the test unless got and want are deeply equal.
func Equal(t testing.TB, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %#v, want %#v", what, got, want)
	}
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// CheckPublicEvent checks what the contract asks of an event other services
// read: every JSON key, nested ones too, is snake_case; r decodes the JSON
// back to an equal value; and r registers it as public (private events are
// never published).
func CheckPublicEvent(t testing.TB, r *envelope.Registry, ev envelope.Event) {
	t.Helper()
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var generic any
	if err := json.Unmarshal(data, &generic); err != nil {
		t.Fatal(err)
	}
	checkKeys(t, generic)
	got, err := r.Decode(envelope.Envelope{Type: ev.EventType(), SchemaVersion: 1, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ev) {
		t.Fatalf("decoded %#v, want %#v", got, ev)
	}
	if r.Publisher(ev.EventType()) == "" {
		t.Fatalf("%s is public but registered as private", ev.EventType())
	}
}

func checkKeys(t testing.TB, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			if !snakeCase.MatchString(k) {
				t.Errorf("key %q is not snake_case", k)
			}
			checkKeys(t, sub)
		}
	case []any:
		for _, sub := range v {
			checkKeys(t, sub)
		}
	}
}
