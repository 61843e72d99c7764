package stages_test

import (
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/stages"
)

func TestRecordsTracedSubjectsOnly(t *testing.T) {
	dir := t.TempDir()
	stages.Mark("order", stages.StoreRun, "order.events.OrderPlaced.t-1", time.Now()) // not recording yet
	stop, err := stages.Start(dir, "proc", "t-")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stages.Start(dir, "proc2", "t-"); err == nil {
		t.Fatal("a second Start while recording succeeded")
	}
	at := time.Unix(1700000000, 123456789)
	if !stages.On("order.events.OrderPlaced.t-1") || stages.On("order.events.OrderPlaced.x-1") {
		t.Fatal("On does not follow the prefix of the subject's order id")
	}
	if !stages.On("order.events.OrderPlaced.t-1.0") || stages.On("order.events.OrderPlaced.x-1.0") {
		t.Fatal("On does not find the order id before a partition token")
	}
	stages.Mark("order", stages.StoreRun, "order.events.OrderPlaced.t-1", at)
	stages.Mark("order", stages.StoreRun, "order.events.OrderPlaced.x-1", at)
	// A partitioned consumer hears the subject with the partition token the
	// server added; it is recorded as the relay published it.
	stages.Mark("payment", stages.ConsumerStart, "order.events.OrderPlaced.t-1.1", at.Add(time.Millisecond))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if stages.Enabled() {
		t.Fatal("still recording after stop")
	}
	stages.Mark("order", stages.StoreRan, "order.events.OrderPlaced.t-1", at) // stopped: dropped
	var got []stages.Record
	if err := stages.ReadDir(dir, func(r stages.Record) { got = append(got, r) }); err != nil {
		t.Fatal(err)
	}
	want := []stages.Record{
		{At: at, Service: "order", Stage: stages.StoreRun, Subject: "order.events.OrderPlaced.t-1"},
		{At: at.Add(time.Millisecond), Service: "payment", Stage: stages.ConsumerStart, Subject: "order.events.OrderPlaced.t-1"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d records %v, want %v", len(got), got, want)
	}
	for i := range want {
		if !got[i].At.Equal(want[i].At) || got[i].Service != want[i].Service || got[i].Stage != want[i].Stage || got[i].Subject != want[i].Subject {
			t.Errorf("record %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestStartNeedsAPrefix(t *testing.T) {
	if _, err := stages.Start(t.TempDir(), "proc", ""); err == nil {
		t.Fatal("Start without a prefix succeeded")
	}
}
