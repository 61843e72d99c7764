package envelope_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/choreo-dev/choreo/shared/envelope"
)

// fuzzPlaced and fuzzShipped are sample event types for FuzzParse: one at
// schema version 1 with nested values, one at version 2 behind an upcaster.
type fuzzPlaced struct {
	OrderID string `json:"order_id"`
	Items   []struct {
		SKU      string `json:"sku"`
		Quantity int64  `json:"quantity"`
	} `json:"items"`
	TotalCents int64             `json:"total_cents"`
	Address    map[string]string `json:"address"`
}

func (fuzzPlaced) EventType() string { return "FuzzPlaced" }

type fuzzShipped struct {
	Carrier  string `json:"carrier"`
	Tracking string `json:"tracking"`
}

func (fuzzShipped) EventType() string { return "FuzzShipped" }

// fuzzRegistry knows the sample types; the upcaster renames a field and
// fails on data that is not an object of strings.
func fuzzRegistry() *envelope.Registry {
	r := envelope.NewRegistry()
	envelope.Register[fuzzPlaced](r)
	envelope.Register[fuzzShipped](r, func(d json.RawMessage) (json.RawMessage, error) {
		var m map[string]string
		if err := json.Unmarshal(d, &m); err != nil {
			return nil, err
		}
		m["tracking"] = m["tracking_number"]
		delete(m, "tracking_number")
		return json.Marshal(m)
	})
	return r
}

const fuzzValid = `{"id":"0190a4b2-7c3d-7e8f-9a0b-1c2d3e4f5a6b","type":"FuzzPlaced","schema_version":1,` +
	`"aggregate_type":"order","aggregate_id":"o-1","version":1,"occurred_at":"2024-07-01T12:00:00Z",` +
	`"correlation_id":"o-1","causation_id":"0190a4b2-7c3d-7e8f-9a0b-1c2d3e4f5a6a",` +
	`"data":{"order_id":"o-1","items":[{"sku":"a","quantity":2}],"total_cents":300,"address":{"country":"GB"}}}`

// FuzzParse checks that Parse never panics on any input; that what it
// accepts survives a round trip through json.Marshal; and that decoding an
// accepted envelope as any registered type never panics.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"",
		"{}",
		"null",
		fuzzValid,
		fuzzValid[:len(fuzzValid)/2],
		strings.Replace(fuzzValid, `"version":1`, `"version":"1"`, 1),
		strings.Replace(fuzzValid, `"schema_version":1`, `"schema_version":-1`, 1),
		strings.Replace(fuzzValid, `"2024-07-01T12:00:00Z"`, `"2024-07-01T14:00:00.123456789+02:00"`, 1),
		strings.Replace(fuzzValid, `"total_cents":300`, `"total_cents":1e400`, 1),
		strings.Replace(fuzzValid, `"data":{`, `"data":{"deep":`+strings.Repeat(`[`, 200)+strings.Repeat(`]`, 200)+`,`, 1),
		strings.Replace(fuzzValid, `"country":"GB"`, `"country":"Zoë \u2028 \ud83d\ude00 <&> \ud800"`, 1),
		strings.Replace(fuzzValid, `"aggregate_id":"o-1"`, "\"aggregate_id\":\"o-\xff\"", 1),
		`{"id":"e1","type":"FuzzShipped","schema_version":1,"aggregate_type":"shipment","aggregate_id":"o-1","version":3,` +
			`"occurred_at":"2024-07-01T12:00:00Z","correlation_id":"o-1","causation_id":"e0","data":{"carrier":"UPS","tracking_number":"1Z"}}`,
	} {
		f.Add([]byte(seed))
	}
	registry := fuzzRegistry()
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := envelope.Parse(body)
		if err != nil {
			if !errors.Is(err, envelope.ErrInvalid) {
				t.Fatalf("Parse error %v is not ErrInvalid", err)
			}
			return
		}
		again, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("Marshal of a parsed envelope %+v: %v", e, err)
		}
		e2, err := envelope.Parse(again)
		if err != nil {
			t.Fatalf("Parse of re-marshalled %s: %v", again, err)
		}
		if !fuzzSame(e, e2) {
			t.Fatalf("round trip changed\n%+v\nto\n%+v", e, e2)
		}
		third, err := json.Marshal(e2)
		if err != nil || !bytes.Equal(again, third) {
			t.Fatalf("marshalling is not stable:\n%s\n%s (%v)", again, third, err)
		}

		// Decoding never panics: as the envelope's own type, and as each
		// registered type.
		fuzzDecode(t, registry, e)
		for _, typ := range []string{"FuzzPlaced", "FuzzShipped"} {
			e.Type = typ
			fuzzDecode(t, registry, e)
		}
	})
}

func fuzzDecode(t *testing.T, r *envelope.Registry, e envelope.Envelope) {
	t.Helper()
	ev, err := r.Decode(e)
	switch {
	case err != nil:
		if !errors.Is(err, envelope.ErrUnknownType) && !errors.Is(err, envelope.ErrSchemaVersion) &&
			!errors.Is(err, envelope.ErrInvalid) && !strings.HasPrefix(err.Error(), "upcast ") {
			t.Fatalf("Decode %s: unexpected error %v", e.Type, err)
		}
	case ev == nil:
		t.Fatalf("Decode %s returned neither an event nor an error", e.Type)
	case ev.EventType() != e.Type:
		t.Fatalf("Decode %s returned a %s", e.Type, ev.EventType())
	}
}

// fuzzSame reports whether two envelopes are equal: the same instant and
// offset, and the same data up to what json.Marshal normalises in a raw
// message (white space, HTML-sensitive characters).
func fuzzSame(a, b envelope.Envelope) bool {
	_, aoff := a.OccurredAt.Zone()
	_, boff := b.OccurredAt.Zone()
	if !a.OccurredAt.Equal(b.OccurredAt) || aoff != boff {
		return false
	}
	var data bytes.Buffer
	if err := json.Compact(&data, a.Data); err != nil {
		return false
	}
	var escaped bytes.Buffer
	json.HTMLEscape(&escaped, data.Bytes())
	if !bytes.Equal(escaped.Bytes(), b.Data) {
		return false
	}
	a.OccurredAt = b.OccurredAt
	a.Data, b.Data = nil, nil
	return reflect.DeepEqual(a, b)
}
