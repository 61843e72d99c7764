package domain_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/choreo-dev/choreo/shared/envelope"
)

func fold[S any](s S, evolve func(S, envelope.Event) S, events ...envelope.Event) S {
	for _, e := range events {
		s = evolve(s, e)
	}
	return s
}

// checkSnapshots checks that for every split of events, a JSON snapshot of the
// state after the head, with the tail applied, equals the full replay.
func checkSnapshots[S any](t *testing.T, zero S, evolve func(S, envelope.Event) S, events []envelope.Event) {
	t.Helper()
	want := fold(zero, evolve, events...)
	for k := range len(events) + 1 {
		data, err := json.Marshal(fold(zero, evolve, events[:k]...))
		if err != nil {
			t.Fatal(err)
		}
		var snap S
		if err := json.Unmarshal(data, &snap); err != nil {
			t.Fatal(err)
		}
		if got := fold(snap, evolve, events[k:]...); !reflect.DeepEqual(got, want) {
			t.Fatalf("snapshot after %d events then tail = %+v, want %+v", k, got, want)
		}
	}
}

func eq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %#v, want %#v", what, got, want)
	}
}
