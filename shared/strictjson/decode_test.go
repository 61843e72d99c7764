package strictjson_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/strictjson"
)

const validOrder = `{"customer_id":"c1","items":[{"sku":"a","quantity":1}],"shipping_address":{"name":"Ann","country":"US"}}`

func decodeOrder(body string) (*order, error) {
	var o order
	if err := strictjson.Decode([]byte(body), &o); err != nil {
		return nil, err
	}
	return &o, nil
}

func TestDecodeAccepts(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"minimal":          validOrder,
		"white space":      " \n\t" + validOrder + "\r\n ",
		"surrogate pair":   `{"customer_id":"c1","items":[{"sku":"a","quantity":1}],"shipping_address":{"name":"\ud83d\ude00","country":"US"}}`,
		"replacement char": `{"customer_id":"c1","items":[{"sku":"a","quantity":1}],"shipping_address":{"name":"` + "\uFFFD" + `","country":"US"}}`,
		"nulls":            `{"order_id":null,"customer_id":"c1","items":[{"sku":"a","quantity":1,"unit_price_cents":null}],"shipping_address":{"name":"Ann","country":"US"}}`,
		"escapes":          `{"customer_id":"\u0063\u0031","items":[{"sku":"a","quantity":1}],"shipping_address":{"name":"Ann","country":"US"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o, err := decodeOrder(body)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if o.CustomerID != "c1" || len(o.Items) != 1 || *o.Items[0].Quantity != 1 || o.Items[0].UnitPriceCents != nil {
				t.Fatalf("decoded %+v", o)
			}
		})
	}
	o, _ := decodeOrder(`{"customer_id":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00","shipping_address":{"name":"x"}}`)
	if want := "\"\\/\b\f\n\r\té😀"; o == nil || o.CustomerID != want || o.ShippingAddress.Name != "x" {
		t.Fatalf("decoded %+v, want customer_id %q", o, want)
	}
}

// TestDecodeRejects pins the messages: clients and tests read them, so they
// stay word for word (syntax errors' offsets included, see the package
// documentation).
func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	order := func(items, addr string) string {
		return `{"customer_id":"c1","items":` + items + `,"shipping_address":` + addr + `}`
	}
	const addr = `{"name":"Ann","country":"US"}`
	for _, tc := range []struct {
		name, body string
		kind       error
		field      string
		msg        string
	}{
		{"empty", "", strictjson.ErrSyntax, "", "malformed JSON at byte 0: unexpected end of JSON input"},
		{"truncated", `{"customer_id":`, strictjson.ErrSyntax, "", "malformed JSON at byte 15: unexpected end of JSON input"},
		{"missing colon", `{"customer_id" "c1"}`, strictjson.ErrSyntax, "", "malformed JSON at byte 15: invalid character '\"' after object key"},
		{"trailing comma", `{"items":[1,]}`, strictjson.ErrSyntax, "", "malformed JSON at byte 12: invalid character ']' looking for beginning of value"},
		{"comma before brace", `{"customer_id":1,}`, strictjson.ErrSyntax, "", "malformed JSON at byte 17: invalid character '}' looking for beginning of object key string"},
		{"bad literal", `nul`, strictjson.ErrSyntax, "", "malformed JSON at byte 3: unexpected end of JSON input"},
		{"garbage", `x`, strictjson.ErrSyntax, "", "malformed JSON at byte 1: invalid character 'x' looking for beginning of value"},
		{"close first", `]`, strictjson.ErrSyntax, "", "malformed JSON at byte 0: invalid character ']' looking for beginning of value"},
		{"no key", `{x}`, strictjson.ErrSyntax, "", "malformed JSON at byte 1: invalid character 'x'"},
		{"bad close", `{]`, strictjson.ErrSyntax, "", "malformed JSON at byte 1: invalid character ']'"},
		// Inside a string, number or literal the offset counts the bytes
		// of such tokens only, as encoding/json's scanner does.
		{"short true", `{"customer_id":tru}`, strictjson.ErrSyntax, "", "malformed JSON at byte 17: invalid character '}' in literal true (expecting 'e')"},
		{"short false", `{"customer_id":"a","items":[1,2,fals]}`, strictjson.ErrSyntax, "", "malformed JSON at byte 30: invalid character ']' in literal false (expecting 'e')"},
		{"bad null", `{"customer_id":nulx}`, strictjson.ErrSyntax, "", "malformed JSON at byte 17: invalid character 'x' in literal null (expecting 'l')"},
		{"lone minus", `{"customer_id":-}`, strictjson.ErrSyntax, "", "malformed JSON at byte 15: invalid character '}' in numeric literal"},
		{"bare point", `{"customer_id":1.}`, strictjson.ErrSyntax, "", "malformed JSON at byte 16: invalid character '}' after decimal point in numeric literal"},
		{"bare exponent", `{"customer_id":1e+}`, strictjson.ErrSyntax, "", "malformed JSON at byte 17: invalid character '}' in exponent of numeric literal"},
		{"control char", "{\"customer_id\":\"a\tb\"}", strictjson.ErrSyntax, "", `malformed JSON at byte 16: invalid character '\t' in string literal`},
		{"bad escape", `{"customer_id":"\x"}`, strictjson.ErrSyntax, "", "malformed JSON at byte 16: invalid character 'x' in string escape code"},
		{"bad hex", `{"customer_id":"\u12g4"}`, strictjson.ErrSyntax, "", `malformed JSON at byte 19: invalid character 'g' in \u hexadecimal character escape`},
		// Between tokens it is the byte's index.
		{"leading zero", `{"customer_id":01}`, strictjson.ErrSyntax, "", "malformed JSON at byte 16: invalid character '1' after object key:value pair"},
		{"after string", `{"customer_id":"x"y}`, strictjson.ErrSyntax, "", "malformed JSON at byte 18: invalid character 'y' after object key:value pair"},
		{"no comma", `{"items":[1 2]}`, strictjson.ErrSyntax, "", "malformed JSON at byte 12: invalid character '2' after array element"},
		{"brace in array", `{"items":[}`, strictjson.ErrSyntax, "", "malformed JSON at byte 10: invalid character '}' looking for beginning of value"},
		{"unbalanced", `{"items":[1]]`, strictjson.ErrSyntax, "", "malformed JSON at byte 12: invalid character ']' after object key:value pair"},
		{"array", `[]`, strictjson.ErrNotObject, "", "request body must be a JSON object"},
		{"string", `"x"`, strictjson.ErrNotObject, "", "request body must be a JSON object"},
		{"invalid string", "\"\xff\"", strictjson.ErrNotObject, "", "request body must be a JSON object"},
		{"number", `12`, strictjson.ErrNotObject, "", "request body must be a JSON object"},
		{"number and garbage", `1x`, strictjson.ErrNotObject, "", "request body must be a JSON object"},
		{"null", `null`, strictjson.ErrNotObject, "", "request body must be a JSON object"},
		{"trailing object", validOrder + ` {} `, strictjson.ErrSyntax, "", "malformed JSON at byte 105: unexpected data after the JSON object"},
		{"trailing garbage", validOrder + `x`, strictjson.ErrSyntax, "", "malformed JSON at byte 104: unexpected data after the JSON object"},
		{"unknown field", `{"foo":1}`, strictjson.ErrUnknownField, "foo", "foo: unknown field"},
		{"unknown before bad syntax", `{"a" "b"}`, strictjson.ErrUnknownField, "a", "a: unknown field"},
		{"nested unknown field", order(`[{"sku":"a","quantity":1}]`, `{"name":"Ann","nmae":"x"}`), strictjson.ErrUnknownField, "shipping_address.nmae", "shipping_address.nmae: unknown field"},
		{"unknown field in array", order(`[{"sku":"a","quantity":1},{"sku":"b","qty":1}]`, addr), strictjson.ErrUnknownField, "items[1].qty", "items[1].qty: unknown field"},
		{"other case", `{"Customer_ID":"c1"}`, strictjson.ErrUnknownField, "Customer_ID", "Customer_ID: unknown field"},
		{"odd field name", `{"a\nb":1}`, strictjson.ErrUnknownField, `"a\nb"`, `"a\nb": unknown field`},
		{"long field name", `{"` + strings.Repeat("é", 40) + `":1}`, strictjson.ErrUnknownField, `"` + strings.Repeat("é", 32) + `…"`, `"` + strings.Repeat("é", 32) + `…": unknown field`},
		{"duplicate field", `{"customer_id":"a","customer_id":"b"}`, strictjson.ErrDuplicateField, "customer_id", "customer_id: duplicate field"},
		{"escaped duplicate", `{"customer_id":"a","customer_\u0069d":"b"}`, strictjson.ErrDuplicateField, "customer_id", "customer_id: duplicate field"},
		{"duplicate in mistyped", `{"items":{"a":1,"a":2}}`, strictjson.ErrDuplicateField, "items.a", "items.a: duplicate field"},
		{"string for integer", order(`[{"sku":"a","quantity":1},{"sku":"b","quantity":"2"}]`, addr), strictjson.ErrType, "items[1].quantity", "items[1].quantity must be an integer"},
		{"fraction", order(`[{"sku":"a","quantity":1.5}]`, addr), strictjson.ErrType, "items[0].quantity", "items[0].quantity must be an integer"},
		{"huge number", order(`[{"sku":"a","quantity":99999999999999999999}]`, addr), strictjson.ErrRange, "items[0].quantity", "items[0].quantity is out of range"},
		{"huge exponent", order(`[{"sku":"a","quantity":1e400}]`, addr), strictjson.ErrRange, "items[0].quantity", "items[0].quantity is out of range"},
		{"big exponent", order(`[{"sku":"a","quantity":1e19}]`, addr), strictjson.ErrRange, "items[0].quantity", "items[0].quantity is out of range"},
		{"exponent", order(`[{"sku":"a","quantity":1e3}]`, addr), strictjson.ErrType, "items[0].quantity", "items[0].quantity must be an integer without a fraction or exponent"},
		{"point zero", order(`[{"sku":"a","quantity":2.0}]`, addr), strictjson.ErrType, "items[0].quantity", "items[0].quantity must be an integer without a fraction or exponent"},
		{"huge negative", order(`[{"sku":"a","quantity":-99999999999999999999}]`, addr), strictjson.ErrRange, "items[0].quantity", "items[0].quantity is out of range"},
		{"number for string", `{"customer_id":5}`, strictjson.ErrType, "customer_id", "customer_id must be a string"},
		{"object for array", `{"items":{}}`, strictjson.ErrType, "items", "items must be an array"},
		{"string for object", `{"shipping_address":"x"}`, strictjson.ErrType, "shipping_address", "shipping_address must be an object"},
		{"object for integer", order(`[{"sku":"a","quantity":{"n":1}}]`, addr), strictjson.ErrType, "items[0].quantity", "items[0].quantity must be an integer"},
		{"first wrong type", `{"customer_id":5,"currency":6}`, strictjson.ErrType, "customer_id", "customer_id must be a string"},
		{"unknown field after wrong type", `{"customer_id":5,"foo":1}`, strictjson.ErrUnknownField, "foo", "foo: unknown field"},
		{"bad syntax after wrong type", `{"customer_id":5,}`, strictjson.ErrSyntax, "", "malformed JSON at byte 17: invalid character '}' looking for beginning of object key string"},
		{"invalid UTF-8", order(`[{"sku":"a","quantity":1}]`, "{\"name\":\"An\xffn\",\"country\":\"US\"}"), strictjson.ErrInvalidUTF8, "shipping_address.name", "shipping_address.name must be valid UTF-8"},
		{"truncated rune", order("[{\"sku\":\"a\xc3\",\"quantity\":1}]", addr), strictjson.ErrInvalidUTF8, "items[0].sku", "items[0].sku must be valid UTF-8"},
		{"encoded surrogate", order(`[{"sku":"a","quantity":1}]`, "{\"name\":\"\xed\xa0\x80\"}"), strictjson.ErrInvalidUTF8, "shipping_address.name", "shipping_address.name must be valid UTF-8"},
		{"lone high surrogate", order(`[{"sku":"a","quantity":1}]`, `{"name":"\ud800x"}`), strictjson.ErrInvalidUTF8, "shipping_address.name", "shipping_address.name must be valid UTF-8"},
		{"high surrogate then escape", order(`[{"sku":"a","quantity":1}]`, `{"name":"\ud800\u0041"}`), strictjson.ErrInvalidUTF8, "shipping_address.name", "shipping_address.name must be valid UTF-8"},
		{"lone low surrogate", order(`[{"sku":"a","quantity":1}]`, `{"name":"\udc00"}`), strictjson.ErrInvalidUTF8, "shipping_address.name", "shipping_address.name must be valid UTF-8"},
		{"bad syntax after invalid UTF-8", "{\"customer_id\":\"\xff\x01\"}", strictjson.ErrSyntax, "", `malformed JSON at byte 16: invalid character '\x01' in string literal`},
		{"invalid UTF-8 field name", "{\"\xff\":1}", strictjson.ErrInvalidUTF8, "", "request body has a field name that is not valid UTF-8"},
		{"invalid UTF-8 nested field name", "{\"shipping_address\":{\"\xff\":1}}", strictjson.ErrInvalidUTF8, "shipping_address", "shipping_address has a field name that is not valid UTF-8"},
		{"too deep", `{"items":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, strictjson.ErrTooDeep, "", "request body nests deeper than 32 levels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, err := decodeOrder(tc.body)
			if err == nil {
				t.Fatalf("Decode accepted it: %+v", o)
			}
			var e *strictjson.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			if !errors.Is(err, tc.kind) || e.Field != tc.field || e.Error() != tc.msg {
				t.Fatalf("got %v %q %q, want %v %q %q", e.Kind, e.Field, e.Error(), tc.kind, tc.field, tc.msg)
			}
		})
	}
}

// Nesting is bounded, the top-level object included.
func TestDecodeDepth(t *testing.T) {
	t.Parallel()
	nest := func(n int) string { return `{"any":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}` }
	var l loose
	if err := strictjson.Decode([]byte(nest(strictjson.MaxDepth-1)), &l); err != nil {
		t.Fatalf("%d levels: %v", strictjson.MaxDepth, err)
	}
	if err := strictjson.Decode([]byte(nest(strictjson.MaxDepth)), &l); !errors.Is(err, strictjson.ErrTooDeep) {
		t.Fatalf("%d levels: %v, want ErrTooDeep", strictjson.MaxDepth+1, err)
	}
}

func TestDecodeLoose(t *testing.T) {
	t.Parallel()
	var l loose
	err := strictjson.Decode([]byte(`{"name":"n","note":"x","small":-3,"big":18446744073709551615,"ratio":0.5,"ok":true,"tags":["a"],"raw":"aGk=",`+
		`"counts":{"k":1},"nested":{"a":{"values":[1,2]},"b":{"values":[3]},"c":null},"any":{"free":[1,"x",null,true,{}]}}`), &l)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	want := loose{Embedded: Embedded{Note: "x"}, Name: "n", Small: -3, Big: 1<<64 - 1, Ratio: 0.5, OK: true, Tags: []string{"a"}, Raw: []byte("hi"),
		Counts: map[string]int{"k": 1}, Nested: map[string]*inner{"a": {Values: [2]int{1, 2}}, "b": {Values: [2]int{3, 0}}, "c": nil},
		Any: map[string]any{"free": []any{1.0, "x", nil, true, map[string]any{}}}}
	if !reflect.DeepEqual(l, want) {
		t.Fatalf("decoded %+v\nwant    %+v", l, want)
	}
	for body, want := range map[string]string{
		`{"small":300}`:                            "small is out of range",
		`{"big":-1}`:                               "big is out of range",
		`{"big":-0}`:                               "big must be an integer without a fraction or exponent",
		`{"ratio":1e400}`:                          "ratio is out of range",
		`{"ok":"yes"}`:                             "ok must be a boolean",
		`{"ok":1}`:                                 "ok must be a boolean",
		`{"name":true}`:                            "name must be a string",
		`{"tags":["a",1]}`:                         "tags[1] must be a string",
		`{"tags":["a","\udfff"]}`:                  "tags[1] must be valid UTF-8",
		`{"raw":"!!"}`:                             "request body is invalid: illegal base64 data at input byte 0",
		`{"counts":{"k":"v"}}`:                     "counts.k must be an integer",
		`{"counts":[]}`:                            "counts must be an object",
		`{"nested":{"a":{"values":[1,"2"]}}}`:      "nested.a.values[1] must be an integer",
		`{"nested":{"a":{"valuez":[]}}}`:           "nested.a.valuez: unknown field",
		`{"Skip":"x"}`:                             "Skip: unknown field",
		`{"hidden":"x"}`:                           "hidden: unknown field",
		`{"any":{"k":"\ud800"}}`:                   "any.k must be valid UTF-8",
		`{"any":{"k":[1e400]}}`:                    "any.k[0] is out of range",
		`{"counts":{"k":1,"k":2}}`:                 "counts.k: duplicate field",
		`{"any":{"k":1,"k":2}}`:                    "any.k: duplicate field",
		`{"Embedded":{"note":"x"}}`:                "Embedded: unknown field",
		`{"nested":{"a":{"values":[1,2]},"b":[]}}`: "nested.b must be an object",
	} {
		var l loose
		err := strictjson.Decode([]byte(body), &l)
		if err == nil || err.Error() != want {
			t.Errorf("Decode(%s) = %v, want %q", body, err, want)
		}
	}
}

// An array takes the first elements it has room for; the others are
// checked by the rules and dropped.
func TestDecodeArrayExtras(t *testing.T) {
	t.Parallel()
	var l loose
	if err := strictjson.Decode([]byte(`{"pair":[{"values":[1]},{"values":"x"},7],"nested":{"a":{"values":[1,2,"three",{"x":[]}]}}}`), &l); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if l.Nested["a"].Values != [2]int{1, 2} || l.Pair[0].Values != [2]int{1, 0} {
		t.Fatalf("decoded %+v", l)
	}
	err := strictjson.Decode([]byte(`{"pair":[{"values":[1]},{"valuez":1}]}`), &l)
	if !errors.Is(err, strictjson.ErrUnknownField) || err.Error() != "pair[1].valuez: unknown field" {
		t.Fatalf("got %v, want an unknown field", err)
	}
}

// stamped decodes a type that reads its own JSON.
type stamped struct {
	At  time.Time `json:"at"`
	Key keyed     `json:"key"`
}

type keyed struct{ s string }

var errBadKey = errors.New("bad key")

func (k *keyed) UnmarshalJSON(b []byte) error {
	if string(b) == `"bad"` {
		return errBadKey
	}
	k.s = string(b)
	return nil
}

func TestDecodeUnmarshalers(t *testing.T) {
	t.Parallel()
	var s stamped
	if err := strictjson.Decode([]byte(`{"at":"2026-01-02T03:04:05Z","key":{"free":[1]}}`), &s); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if !s.At.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) || s.Key.s != `{"free":[1]}` {
		t.Fatalf("decoded %+v", s)
	}
	err := strictjson.Decode([]byte(`{"key":"bad"}`), &s)
	if !errors.Is(err, strictjson.ErrInvalid) || !errors.Is(err, errBadKey) || err.Error() != "request body is invalid: bad key" {
		t.Fatalf("got %v, want ErrInvalid wrapping errBadKey", err)
	}
	// The rules apply inside too.
	err = strictjson.Decode([]byte(`{"key":{"a":1,"a":2}}`), &s)
	if !errors.Is(err, strictjson.ErrDuplicateField) {
		t.Fatalf("got %v, want a duplicate field", err)
	}
	err = strictjson.Decode([]byte(`{"at":5}`), &s)
	if !errors.Is(err, strictjson.ErrInvalid) || err.Error() != "request body is invalid: Time.UnmarshalJSON: input is not a JSON string" {
		t.Fatalf("got %v, want time's refusal", err)
	}
}

func TestDecodeNeedsAPointer(t *testing.T) {
	t.Parallel()
	var o order
	for _, v := range []any{o, (*order)(nil), nil} {
		err := strictjson.Decode([]byte(validOrder), v)
		var e *strictjson.Error
		if err == nil || errors.As(err, &e) {
			t.Errorf("Decode into %T: %v, want a usage error", v, err)
		}
	}
}
