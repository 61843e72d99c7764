package strictjson_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/choreo-dev/choreo/shared/strictjson"
)

func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		"",
		"{}",
		validOrder,
		`{"order_id":"o-1","customer_id":"c1","items":[{"sku":"a","quantity":2,"unit_price_cents":100},{"sku":"b","quantity":1}],"currency":"EUR","shipping_address":{"name":"Zoë","line1":"1 Rue","city":"Paris","postal_code":"75001","country":"FR"}}`,
		`{"customer_id":"c1","items":[{"sku":"a","quantity":99999999999999999999}]}`,
		`{"customer_id":"c1","items":[{"sku":"a","quantity":"1"}]}`,
		"{\"shipping_address\":{\"name\":\"\xff\"}}",
		`{"shipping_address":{"name":"\ud800"}}`,
		`{"foo":1}`,
		`{"customer_id":"a","customer_id":"b"}`,
		`[1,2,3]`,
		`{"a":` + strings.Repeat("[", 40),
		`{} {}`,
		`{"name":"n","note":"x","small":-3,"big":18446744073709551615,"ratio":0.5,"ok":true,"tags":["a"],"raw":"aGk=","counts":{"k":1},"nested":{"a":{"values":[1,2]}},"any":{"free":[1,"x",null,true]}}`,
		`{"nested":{"a":{"values":[1,2,3]}}}`,
		`{"pair":[{"values":[1]},{"valuez":1}]}`,
		`{"customer_id":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}`,
		`{"customer_id":tru}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecode[order](t, body)
		checkDecode[loose](t, body)
	})
}

// checkDecode asserts Decode's contract on one body: a value, or an *Error
// matching its Kind with a clean message; and a decoded value survives a
// round trip.
func checkDecode[T any](t *testing.T, body []byte) {
	v := new(T)
	err := strictjson.Decode(body, v)
	if err != nil {
		var e *strictjson.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %T %v is not an *Error", err, err)
		}
		if !errors.Is(err, e.Kind) || e.Kind == nil {
			t.Fatalf("error %q does not match its kind %v", e.Error(), e.Kind)
		}
		// A refusal by a type decoding its own JSON is its own message.
		named := e.Kind == strictjson.ErrInvalid || strings.Contains(e.Error(), e.Field)
		if e.Error() == "" || !utf8.ValidString(e.Error()) || !named {
			t.Fatalf("bad message %q (field %q)", e.Error(), e.Field)
		}
		return
	}
	if !json.Valid(body) {
		t.Fatalf("Decode accepted invalid JSON %q", body)
	}
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	v2 := new(T)
	if err := strictjson.Decode(again, v2); err != nil {
		t.Fatalf("Decode of re-marshalled %s: %v", again, err)
	}
	if !reflect.DeepEqual(v, v2) {
		t.Fatalf("round trip changed %+v to %+v", v, v2)
	}
}
