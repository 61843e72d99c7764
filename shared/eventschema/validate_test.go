package eventschema_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/choreo-dev/choreo/shared/eventschema"
)

func TestValidateNamesEveryOffendingField(t *testing.T) {
	t.Parallel()
	s, err := eventschema.Generate(reflect.TypeFor[everyKind]())
	if err != nil {
		t.Fatal(err)
	}
	const valid = `{"Untagged":"","address":{"city":"c","country":"US"},"at":"2026-01-02T03:04:05Z",` +
		`"blob":"AQI=","count":1,"items":[{"sku":"A","quantity":1}],"labels":{"a":"b"},"maybe":null,` +
		`"name":"n","ok":true,"pair":[1,2],"ratio":0.5,"small":1}`
	if err := s.Validate([]byte(valid)); err != nil {
		t.Fatalf("valid document: %v", err)
	}
	edit := func(old, new string) string {
		if !strings.Contains(valid, old) {
			t.Fatalf("%s is not in the document", old)
		}
		return strings.Replace(valid, old, new, 1)
	}
	for _, c := range []struct{ doc, want string }{
		{edit(`"count":1`, `"count":"1"`), "count must be integer, not string"},
		{edit(`"count":1`, `"count":1.5`), "count must be integer, not number"},
		{edit(`"ratio":0.5`, `"ratio":null`), "ratio must be number, not null"},
		{edit(`"name":"n",`, ``), "name is required"},
		{edit(`"city":"c",`, ``), "address.city is required"},
		{edit(`"quantity":1`, `"quantity":true`), "items[0].quantity must be integer, not boolean"},
		{edit(`"at":"2026-01-02T03:04:05Z"`, `"at":"yesterday"`), "at must be an RFC 3339 date-time"},
		{edit(`"blob":"AQI="`, `"blob":"%%%"`), "blob must be base64"},
		{edit(`"labels":{"a":"b"}`, `"labels":{"a":1}`), "labels.a must be string, not integer"},
		{edit(`"pair":[1,2]`, `"pair":{}`), "pair must be array, not object"},
		{`[]`, "data must be object, not array"},
		{`{"a":`, "not JSON"},
	} {
		err := s.Validate([]byte(c.doc))
		if !errors.Is(err, eventschema.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrInvalid saying %q", c.doc, err, c.want)
		}
	}
	// Integral numbers are integers, whatever their spelling; null is fine
	// where Go may write it.
	for _, doc := range []string{edit(`"count":1`, `"count":1.0`), edit(`"count":1`, `"count":1e2`),
		edit(`"items":[{"sku":"A","quantity":1}]`, `"items":null`), edit(`"ratio":0.5`, `"ratio":2`)} {
		if err := s.Validate([]byte(doc)); err != nil {
			t.Errorf("%s: %v", doc, err)
		}
	}
}
