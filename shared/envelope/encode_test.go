package envelope_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/envelope"
)

// FuzzEncodeMatchesMarshal: Encode is a faster json.Marshal of an envelope
// whose data is already compact JSON, so it must give the very same bytes,
// whatever the strings hold and whatever the time.
func FuzzEncodeMatchesMarshal(f *testing.F) {
	f.Add("0195f0c2-7a3e-7c4d-9b1e-123456789abc", "OrderPlaced", "order", "ord-1", uint64(1), int64(1763812345123456789), "ord-1", "cmd-1", 1)
	f.Add(`qu"ote\back`, "<b>&</b>", "\u2028\u2029", "é ü 日本", uint64(0), int64(0), "\x00\x1f\x7f", "\xff\xfe invalid", 0)
	f.Add("", "", "", "", ^uint64(0), int64(-62135596800), "a\tb\nc", "\u007f", -3)
	f.Fuzz(func(t *testing.T, id, typ, aggType, aggID string, version uint64, nanos int64, corr, cause string, schema int) {
		at := time.Unix(0, nanos).UTC()
		if nanos%3 == 0 {
			at = at.In(time.FixedZone("X", 5*3600+30*60))
		}
		e := envelope.Envelope{ID: id, Type: typ, SchemaVersion: schema, AggregateType: aggType, AggregateID: aggID,
			Version: version, OccurredAt: at, CorrelationID: corr, CausationID: cause,
			Data: json.RawMessage(`{"order_id":"o-1","items":[{"sku":"a","quantity":2}],"note":"\u003c\u0026"}`)}
		want, wantErr := json.Marshal(e)
		got, err := envelope.Encode(e)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("Encode error %v, json.Marshal error %v", err, wantErr)
		}
		if err == nil && !bytes.Equal(got, want) {
			t.Fatalf("Encode\n %s\njson.Marshal\n %s", got, want)
		}
	})
}

func TestEncodeRefusesEmptyData(t *testing.T) {
	t.Parallel()
	if _, err := envelope.Encode(envelope.Envelope{ID: "x"}); err == nil {
		t.Fatal("Encode without data: no error")
	}
}

// BenchmarkEncode compares Encode with json.Marshal on an OrderPlaced-sized
// envelope.
func BenchmarkEncode(b *testing.B) {
	e := envelope.Envelope{ID: envelope.NewID(), Type: "OrderPlaced", SchemaVersion: 1, AggregateType: "order",
		AggregateID: "0195f0c2-7a3e-7c4d-9b1e-123456789abc", Version: 1, OccurredAt: time.Now().UTC(),
		CorrelationID: "0195f0c2-7a3e-7c4d-9b1e-123456789abc", CausationID: envelope.NewID(),
		Data: json.RawMessage(`{"order_id":"0195f0c2-7a3e-7c4d-9b1e-123456789abc","customer_id":"cust-42",` +
			`"items":[{"sku":"sku-1","quantity":2,"unit_price_cents":1500},{"sku":"sku-2","quantity":1,"unit_price_cents":999}],` +
			`"total_cents":3999,"currency":"USD","shipping_address":{"name":"Ada Lovelace","line1":"1 Main St",` +
			`"city":"Springfield","postal_code":"12345","country":"US"},"deadline":"2026-11-22T22:50:00.123456789Z"}`)}
	b.Run("Encode", func(b *testing.B) {
		for b.Loop() {
			if _, err := envelope.Encode(e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(e); err != nil {
				b.Fatal(err)
			}
		}
	})
}
