package eventstore_test

import (
	"testing"

	"github.com/choreo-dev/choreo/shared/stages"
)

// Not parallel: stages are recorded process-wide.
func TestUpdateRecordsTheStagesOfTracedEvents(t *testing.T) {
	dir := t.TempDir()
	stop, err := stages.Start(dir, "test", "traced-")
	if err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	add(t, s, "traced-1", 1)
	add(t, s, "other-1", 1)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var got []stages.Record
	if err := stages.ReadDir(dir, func(r stages.Record) { got = append(got, r) }); err != nil {
		t.Fatal(err)
	}
	want := []string{stages.StoreSubmit, stages.StoreRun, stages.StoreRan, stages.StoreCommit, stages.StoreCommitted}
	if len(got) != len(want) {
		t.Fatalf("got %d records %+v, want the %d stages of the traced event", len(got), got, len(want))
	}
	for i, r := range got {
		if r.Stage != want[i] || r.Service != "test" || r.Subject != "test.events.Added.traced-1" {
			t.Errorf("record %d = %+v, want stage %s of test.events.Added.traced-1", i, r, want[i])
		}
		if i > 0 && r.At.Before(got[i-1].At) {
			t.Errorf("%s at %v is before %s at %v", r.Stage, r.At, got[i-1].Stage, got[i-1].At)
		}
	}
}
