package eventschema_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/eventschema"
)

type address struct {
	City    string `json:"city"`
	Country string `json:"country"`
}

type everyKind struct {
	Name     string            `json:"name"`
	Count    int64             `json:"count"`
	Small    uint8             `json:"small"`
	Ratio    float64           `json:"ratio"`
	OK       bool              `json:"ok"`
	At       time.Time         `json:"at"`
	Maybe    *time.Time        `json:"maybe"`
	Items    []line            `json:"items"`
	Pair     [2]int            `json:"pair"`
	Blob     []byte            `json:"blob"`
	Labels   map[string]string `json:"labels"`
	Address  address           `json:"address"`
	Note     string            `json:"note,omitempty"`
	Zero     int               `json:"zero,omitzero"`
	Untagged string
	Skipped  string `json:"-"`
	private  string //nolint:unused // not encoded, so not described
}

func TestGenerateDescribesWhatEncodingJSONWrites(t *testing.T) {
	t.Parallel()
	s, err := eventschema.Generate(reflect.TypeFor[everyKind]())
	if err != nil {
		t.Fatal(err)
	}
	got, err := eventschema.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "properties": {
    "Untagged": {"type": "string"},
    "address": {
      "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
      "required": ["city", "country"],
      "type": "object"
    },
    "at": {"format": "date-time", "type": "string"},
    "blob": {"contentEncoding": "base64", "type": ["string", "null"]},
    "count": {"type": "integer"},
    "items": {
      "items": {
        "properties": {"quantity": {"type": "integer"}, "sku": {"type": "string"}},
        "required": ["quantity", "sku"],
        "type": "object"
      },
      "type": ["array", "null"]
    },
    "labels": {"additionalProperties": {"type": "string"}, "type": ["object", "null"]},
    "maybe": {"format": "date-time", "type": ["string", "null"]},
    "name": {"type": "string"},
    "note": {"type": "string"},
    "ok": {"type": "boolean"},
    "pair": {"items": {"type": "integer"}, "type": "array"},
    "ratio": {"type": "number"},
    "small": {"type": "integer"},
    "zero": {"type": "integer"}
  },
  "required": ["Untagged", "address", "at", "blob", "count", "items", "labels", "maybe", "name", "ok", "pair", "ratio", "small"],
  "type": "object"
}`
	if !jsonEqual(t, got, []byte(want)) {
		t.Fatalf("schema:\n%s\nwant:\n%s", got, want)
	}

	// What encoding/json writes for the zero value and for a full one
	// satisfies it.
	full := everyKind{Name: "n", Items: []line{{SKU: "A", Quantity: 1}}, Blob: []byte{1, 2}, Labels: map[string]string{"a": "b"},
		Maybe: &sentAt, At: sentAt, Note: "x", Zero: 3}
	for _, v := range []everyKind{{}, full} {
		data, _ := json.Marshal(v)
		if err := s.Validate(data); err != nil {
			t.Errorf("%s: %v", data, err)
		}
	}
}

func TestGenerateRefusesWhatItCannotDescribe(t *testing.T) {
	t.Parallel()
	type withAny struct {
		V any `json:"v"`
	}
	type withEmbedded struct {
		address
		ID string `json:"id"`
	}
	type withMarshaler struct {
		D json.RawMessage `json:"d"`
	}
	type withStringOpt struct {
		N int64 `json:"n,string"`
	}
	type withIntKeys struct {
		M map[int]string `json:"m"`
	}
	type node struct {
		Next *node `json:"next"`
	}
	type nested struct {
		Lines []struct {
			F func() `json:"f"`
		} `json:"lines"`
	}
	for _, c := range []struct {
		t     reflect.Type
		field string
	}{
		{reflect.TypeFor[withAny](), "v"},
		{reflect.TypeFor[withEmbedded](), "address"},
		{reflect.TypeFor[withMarshaler](), "d"},
		{reflect.TypeFor[withStringOpt](), "n"},
		{reflect.TypeFor[withIntKeys](), "m"},
		{reflect.TypeFor[node](), "next"},
		{reflect.TypeFor[nested](), "lines[].f"},
	} {
		_, err := eventschema.Generate(c.t)
		if !errors.Is(err, eventschema.ErrUnsupported) || !strings.HasPrefix(err.Error(), c.field+":") {
			t.Errorf("%v: %v, want ErrUnsupported naming %s", c.t, err, c.field)
		}
	}
}

func TestForEventNamesTypeAndVersionAndCarriesTheExample(t *testing.T) {
	t.Parallel()
	s, err := eventschema.ForEvent(depot, "ParcelSent", 2, reflect.TypeFor[parcelSent](), exampleV2)
	if err != nil {
		t.Fatal(err)
	}
	if s.Schema != eventschema.Draft || s.ID != "urn:choreo:event:depot:ParcelSent:v2" || s.Title != "ParcelSent v2" {
		t.Errorf("header $schema %q, $id %q, title %q", s.Schema, s.ID, s.Title)
	}
	want, _ := json.Marshal(exampleV2)
	if len(s.Examples) != 1 || !jsonEqual(t, s.Examples[0], want) {
		t.Errorf("examples %s, want [%s]", s.Examples, want)
	}
	if _, err := eventschema.ForEvent(depot, "ParcelSent", 2, reflect.TypeFor[parcelSent](), exampleV1); err == nil {
		t.Error("an example of another type was accepted")
	}
}

func TestMarshalIsDeterministic(t *testing.T) {
	t.Parallel()
	var first []byte
	for i := range 20 {
		s, err := eventschema.ForEvent(depot, "ParcelSent", 2, reflect.TypeFor[parcelSent](), exampleV2)
		if err != nil {
			t.Fatal(err)
		}
		data, err := eventschema.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = data
		} else if string(data) != string(first) {
			t.Fatalf("run %d:\n%s\nfirst:\n%s", i, data, first)
		}
	}
	// Keys are sorted at every level, the example's too.
	if !strings.Contains(string(first), "\"carrier\": \"UPS\",\n      \"lines\"") || !strings.HasSuffix(string(first), "}\n") {
		t.Errorf("not the committed layout:\n%s", first)
	}
	// A parsed file marshals back to the same bytes.
	s, err := eventschema.Parse(first)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := eventschema.Marshal(s)
	if string(again) != string(first) {
		t.Errorf("parse and marshal changed the file:\n%s", again)
	}
}

func TestParseRefusesUnknownKeywords(t *testing.T) {
	t.Parallel()
	_, err := eventschema.Parse([]byte(`{"type":"object","properties":{"a":{"type":"string","maxLength":3}}}`))
	if !errors.Is(err, eventschema.ErrInvalid) || !strings.Contains(err.Error(), "maxLength") {
		t.Errorf("err = %v, want ErrInvalid naming maxLength", err)
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}
