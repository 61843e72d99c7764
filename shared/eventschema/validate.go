package eventschema

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"time"
)

// maxProblems bounds how many problems one validation error lists.
const maxProblems = 10

// Validate checks a JSON document against s: types, date-time formats,
// base64 content, required properties, and the schemas of properties, array
// items and map values. The error wraps ErrInvalid and names every offending
// field ("items[0].quantity must be integer, not string"), at most ten.
func (s *Schema) Validate(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("%w: not JSON: %v", ErrInvalid, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: data after the JSON value", ErrInvalid)
	}
	var problems []string
	s.check(v, "", &problems)
	switch n := len(problems); {
	case n == 0:
		return nil
	case n > maxProblems:
		problems = append(problems[:maxProblems], fmt.Sprintf("and %d more", n-maxProblems))
	}
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = errors.New(p)
	}
	return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
}

func (s *Schema) check(v any, path string, problems *[]string) {
	at := path
	if at == "" {
		at = "data"
	}
	got := jsonType(v)
	if len(s.Type) > 0 && !slices.Contains(s.Type, got) &&
		!(got == TypeInteger && slices.Contains(s.Type, TypeNumber)) {
		*problems = append(*problems, fmt.Sprintf("%s must be %s, not %s", at, s.Type, got))
		return
	}
	switch v := v.(type) {
	case string:
		if s.Format == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
				*problems = append(*problems, fmt.Sprintf("%s must be an RFC 3339 date-time", at))
			}
		}
		if s.ContentEncoding == "base64" {
			if _, err := base64.StdEncoding.DecodeString(v); err != nil {
				*problems = append(*problems, fmt.Sprintf("%s must be base64", at))
			}
		}
	case []any:
		if s.Items != nil {
			for i, item := range v {
				s.Items.check(item, fmt.Sprintf("%s[%d]", path, i), problems)
			}
		}
	case map[string]any:
		for _, name := range s.Required {
			if _, ok := v[name]; !ok {
				*problems = append(*problems, join(path, name)+" is required")
			}
		}
		names := make([]string, 0, len(v))
		for name := range v {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if ps, ok := s.Properties[name]; ok {
				ps.check(v[name], join(path, name), problems)
			} else if s.AdditionalProperties != nil {
				s.AdditionalProperties.check(v[name], join(path, name), problems)
			}
		}
	}
}

// jsonType is the JSON Schema type of a value decoded with UseNumber; a number
// without a fractional part is an integer (1.0 and 1e2 are too).
func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return TypeNull
	case bool:
		return TypeBoolean
	case string:
		return TypeString
	case []any:
		return TypeArray
	case map[string]any:
		return TypeObject
	case json.Number:
		if _, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return TypeInteger
		}
		if f, err := strconv.ParseFloat(string(v), 64); err == nil && f == math.Trunc(f) && !math.IsInf(f, 0) {
			return TypeInteger
		}
		return TypeNumber
	}
	return fmt.Sprintf("%T", v)
}
