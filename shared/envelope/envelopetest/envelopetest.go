// Package envelopetest holds test helpers for pure event-sourced domains:
// folding events into a state, and checking that snapshots are faithful.
package envelopetest

import (
	"encoding/json"
	"reflect"
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
