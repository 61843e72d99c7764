package eventschema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Draft is the JSON Schema dialect of every schema this package writes.
const Draft = "https://json-schema.org/draft/2020-12/schema"

// JSON types.
const (
	TypeNull    = "null"
	TypeBoolean = "boolean"
	TypeInteger = "integer"
	TypeNumber  = "number"
	TypeString  = "string"
	TypeArray   = "array"
	TypeObject  = "object"
)

// Schema is the part of JSON Schema that Generate writes. The top level of an
// event's schema also carries $schema, $id, title, description and examples.
type Schema struct {
	Schema               string             `json:"$schema,omitempty"`
	ID                   string             `json:"$id,omitempty"`
	Title                string             `json:"title,omitempty"`
	Description          string             `json:"description,omitempty"`
	Type                 Types              `json:"type,omitempty"`
	Format               string             `json:"format,omitempty"`
	ContentEncoding      string             `json:"contentEncoding,omitempty"`
	Properties           map[string]*Schema `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	Items                *Schema            `json:"items,omitempty"`
	AdditionalProperties *Schema            `json:"additionalProperties,omitempty"`
	Examples             []json.RawMessage  `json:"examples,omitempty"`
}

// Types is a schema's "type": one name is written as a string, several (a
// nullable value) as an array.
type Types []string

// MarshalJSON writes one type as a string, several as an array.
func (t Types) MarshalJSON() ([]byte, error) {
	if len(t) == 1 {
		return json.Marshal(t[0])
	}
	return json.Marshal([]string(t))
}

// UnmarshalJSON reads a string or an array of strings.
func (t *Types) UnmarshalJSON(data []byte) error {
	var one string
	if json.Unmarshal(data, &one) == nil {
		*t = Types{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return fmt.Errorf("type must be a string or an array of strings")
	}
	*t = many
	return nil
}

// String is "integer", or "array or null".
func (t Types) String() string {
	if len(t) == 0 {
		return "any type"
	}
	return strings.Join(t, " or ")
}

// nullable returns t with "null" added.
func (t Types) nullable() Types {
	if slices.Contains(t, TypeNull) {
		return t
	}
	return append(slices.Clone(t), TypeNull)
}

// Marshal returns s as committed files hold it: keys sorted at every level
// (examples included), two-space indent, no HTML escaping, a final newline.
// Equal schemas give equal bytes, so committed files diff cleanly.
func Marshal(s *Schema) ([]byte, error) {
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("marshal schema: %w", err)
	}
	return canonical(raw)
}

// canonical re-encodes a JSON document with sorted keys and a fixed layout.
// Numbers keep their text (UseNumber), so large integers stay exact.
func canonical(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	return buf.Bytes(), nil
}

// Parse reads a schema file. It refuses keywords this package does not
// write: a comparison that skipped them would miss changes.
func Parse(data []byte) (*Schema, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Schema
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("parse schema: %w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("parse schema: %w: data after the schema", ErrInvalid)
	}
	return &s, nil
}
