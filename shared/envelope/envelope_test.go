package envelope_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/envelope"
)

type itemAdded struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
	Note     string `json:"note"` // added in v2, defaulted by the upcaster
}

func (itemAdded) EventType() string { return "ItemAdded" }

func TestUpcastOldEventStillLoads(t *testing.T) {
	t.Parallel()
	r := envelope.NewRegistry()
	envelope.Register[itemAdded](r, func(d json.RawMessage) (json.RawMessage, error) {
		var m map[string]any
		if err := json.Unmarshal(d, &m); err != nil {
			return nil, err
		}
		m["note"] = "none"
		return json.Marshal(m)
	})
	if got := r.SchemaVersion("ItemAdded"); got != 2 {
		t.Fatalf("schema version = %d, want 2", got)
	}
	// Stored before Note existed, as v1.
	v1 := envelope.Envelope{ID: envelope.NewID(), Type: "ItemAdded", SchemaVersion: 1, AggregateType: "cart",
		AggregateID: "c1", Version: 1, OccurredAt: time.Now(), Data: json.RawMessage(`{"sku":"A","quantity":2}`)}
	ev, err := r.Decode(v1)
	if err != nil {
		t.Fatal(err)
	}
	if got := ev.(itemAdded); got != (itemAdded{SKU: "A", Quantity: 2, Note: "none"}) {
		t.Fatalf("decoded %+v", got)
	}
	v1.SchemaVersion = 3
	if _, err := r.Decode(v1); !errors.Is(err, envelope.ErrSchemaVersion) {
		t.Fatalf("future schema: err = %v, want ErrSchemaVersion", err)
	}
	v1.Type = "Nope"
	if _, err := r.Decode(v1); !errors.Is(err, envelope.ErrUnknownType) {
		t.Fatalf("unknown type: err = %v, want ErrUnknownType", err)
	}
}

func TestParseRejectsIncomplete(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"not json":   `{`,
		"no id":      `{"type":"X","schema_version":1,"aggregate_type":"a","aggregate_id":"b","version":1,"data":{}}`,
		"data array": `{"id":"1","type":"X","schema_version":1,"aggregate_type":"a","aggregate_id":"b","version":1,"data":[]}`,
		"version 0":  `{"id":"1","type":"X","schema_version":1,"aggregate_type":"a","aggregate_id":"b","version":0,"data":{}}`,
	} {
		if _, err := envelope.Parse([]byte(body)); !errors.Is(err, envelope.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	ok := `{"id":"1","type":"X","schema_version":1,"aggregate_type":"a","aggregate_id":"b","version":1,"occurred_at":"2026-01-01T00:00:00Z","correlation_id":"o","causation_id":"c","data":{}}`
	if _, err := envelope.Parse([]byte(ok)); err != nil {
		t.Fatal(err)
	}
}

func TestNewIDIsV7AndSorted(t *testing.T) {
	t.Parallel()
	a, b := envelope.NewID(), envelope.NewID()
	if a[14] != '7' || len(a) != 36 {
		t.Fatalf("not a UUIDv7: %s", a)
	}
	if !(a < b) {
		t.Fatalf("ids not increasing: %s then %s", a, b)
	}
}
