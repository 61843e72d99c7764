package envelope

import (
	"encoding/json"
	"errors"
	"strconv"
)

// Encode returns e's JSON, the same bytes as json.Marshal(e), without
// encoding e.Data a second time: json.Marshal validates and compacts a
// json.RawMessage byte by byte, and the event store has just produced Data
// with json.Marshal itself. Data must therefore already be valid, compact
// JSON; Encode checks only that it is present.
func Encode(e Envelope) ([]byte, error) {
	if len(e.Data) == 0 {
		return nil, errors.New("envelope: encode: data is empty")
	}
	b := make([]byte, 0, 512+len(e.Data)) // the fields around data: ~350 bytes with UUIDs
	b = append(b, `{"id":`...)
	b = appendString(b, e.ID)
	b = append(b, `,"type":`...)
	b = appendString(b, e.Type)
	b = append(b, `,"schema_version":`...)
	b = strconv.AppendInt(b, int64(e.SchemaVersion), 10)
	b = append(b, `,"aggregate_type":`...)
	b = appendString(b, e.AggregateType)
	b = append(b, `,"aggregate_id":`...)
	b = appendString(b, e.AggregateID)
	b = append(b, `,"version":`...)
	b = strconv.AppendUint(b, e.Version, 10)
	b = append(b, `,"occurred_at":`...)
	t, err := e.OccurredAt.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b = append(b, t...)
	b = append(b, `,"correlation_id":`...)
	b = appendString(b, e.CorrelationID)
	b = append(b, `,"causation_id":`...)
	b = appendString(b, e.CausationID)
	b = append(b, `,"data":`...)
	b = append(b, e.Data...)
	return append(b, '}'), nil
}

// appendString appends s as a JSON string. Ids, type names and subject
// tokens are plain printable ASCII and are copied as they are; anything else
// goes through encoding/json, so the escaping (including its HTML-safe
// \u003c, \u003e, \u0026 and of U+2028/U+2029) is exactly json.Marshal's.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
