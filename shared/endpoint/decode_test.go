package endpoint_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/choreo-dev/choreo/shared/endpoint"
)

const validOrder = `{"customer_id":"c1","items":[{"sku":"a","quantity":1}],"shipping_address":{"name":"Ann","country":"US"}}`

func TestDecodeAccepts(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"minimal":          validOrder,
		"white space":      " \n\t" + validOrder + "\r\n ",
		"surrogate pair":   `{"customer_id":"c1","items":[{"sku":"a","quantity":1}],"shipping_address":{"name":"\ud83d\ude00","country":"US"}}`,
		"replacement char": `{"customer_id":"c1","items":[{"sku":"a","quantity":1}],"shipping_address":{"name":"` + "\uFFFD" + `","country":"US"}}`,
		"at the limit":     validOrder + strings.Repeat(" ", endpoint.MaxBodySize-len(validOrder)),
		"nulls":            `{"order_id":null,"customer_id":"c1","items":[{"sku":"a","quantity":1,"unit_price_cents":null}],"shipping_address":{"name":"Ann","country":"US"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			req, err := endpoint.Decode[placeOrder]([]byte(body))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if req.CustomerID != "c1" || len(req.Items) != 1 || *req.Items[0].Quantity != 1 {
				t.Fatalf("decoded %+v", req)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	order := func(items, addr string) string {
		return `{"customer_id":"c1","items":` + items + `,"shipping_address":` + addr + `}`
	}
	const addr = `{"name":"Ann","country":"US"}`
	for _, tc := range []struct {
		name, body string
		status     int
		msg        string
	}{
		{"empty body", "", 400, "customer_id is required; items must have between 1 and 100 entries; shipping_address is required"},
		{"blank body", " \n ", 400, "customer_id is required; items must have between 1 and 100 entries; shipping_address is required"},
		{"too large", validOrder + strings.Repeat(" ", endpoint.MaxBodySize-len(validOrder)+1), 413, "request body is 65537 bytes, limit is 65536"},
		{"truncated", `{"customer_id":`, 400, "malformed JSON at byte 15: unexpected end of JSON input"},
		{"missing colon", `{"customer_id" "c1"}`, 400, "malformed JSON at byte 15: invalid character '\"' after object key"},
		{"trailing comma", `{"items":[1,]}`, 400, "malformed JSON at byte 12: invalid character ']' looking for beginning of value"},
		{"bad literal", `nul`, 400, "malformed JSON at byte 3: unexpected end of JSON input"},
		{"array", `[]`, 400, "request body must be a JSON object"},
		{"string", `"x"`, 400, "request body must be a JSON object"},
		{"number", `12`, 400, "request body must be a JSON object"},
		{"null", `null`, 400, "request body must be a JSON object"},
		{"trailing object", validOrder + ` {} `, 400, "malformed JSON at byte 105: unexpected data after the JSON object"},
		{"trailing garbage", validOrder + `x`, 400, "malformed JSON at byte 104: unexpected data after the JSON object"},
		{"unknown field", `{"foo":1}`, 400, "foo: unknown field"},
		{"nested unknown field", order(`[{"sku":"a","quantity":1}]`, `{"name":"Ann","nmae":"x"}`), 400, "shipping_address.nmae: unknown field"},
		{"unknown field in array", order(`[{"sku":"a","quantity":1},{"sku":"b","qty":1}]`, addr), 400, "items[1].qty: unknown field"},
		{"other case", `{"Customer_ID":"c1"}`, 400, "Customer_ID: unknown field"},
		{"odd field name", `{"a\nb":1}`, 400, `"a\nb": unknown field`},
		{"duplicate field", `{"customer_id":"a","customer_id":"b"}`, 400, "customer_id: duplicate field"},
		{"string for integer", order(`[{"sku":"a","quantity":1},{"sku":"b","quantity":"2"}]`, addr), 400, "items[1].quantity must be an integer"},
		{"fraction", order(`[{"sku":"a","quantity":1.5}]`, addr), 400, "items[0].quantity must be an integer"},
		{"huge number", order(`[{"sku":"a","quantity":99999999999999999999}]`, addr), 400, "items[0].quantity is out of range"},
		{"huge exponent", order(`[{"sku":"a","quantity":1e400}]`, addr), 400, "items[0].quantity is out of range"},
		{"big exponent", order(`[{"sku":"a","quantity":1e19}]`, addr), 400, "items[0].quantity is out of range"},
		{"exponent", order(`[{"sku":"a","quantity":1e3}]`, addr), 400, "items[0].quantity must be an integer without a fraction or exponent"},
		{"huge negative", order(`[{"sku":"a","quantity":-99999999999999999999}]`, addr), 400, "items[0].quantity is out of range"},
		{"number for string", `{"customer_id":5}`, 400, "customer_id must be a string"},
		{"object for array", `{"items":{}}`, 400, "items must be an array"},
		{"string for object", `{"shipping_address":"x"}`, 400, "shipping_address must be an object"},
		{"object for integer", order(`[{"sku":"a","quantity":{"n":1}}]`, addr), 400, "items[0].quantity must be an integer"},
		{"invalid UTF-8", order(`[{"sku":"a","quantity":1}]`, "{\"name\":\"An\xffn\",\"country\":\"US\"}"), 400, "shipping_address.name must be valid UTF-8"},
		{"truncated rune", order("[{\"sku\":\"a\xc3\",\"quantity\":1}]", addr), 400, "items[0].sku must be valid UTF-8"},
		{"encoded surrogate", order(`[{"sku":"a","quantity":1}]`, "{\"name\":\"\xed\xa0\x80\"}"), 400, "shipping_address.name must be valid UTF-8"},
		{"lone high surrogate", order(`[{"sku":"a","quantity":1}]`, `{"name":"\ud800x"}`), 400, "shipping_address.name must be valid UTF-8"},
		{"lone low surrogate", order(`[{"sku":"a","quantity":1}]`, `{"name":"\udc00"}`), 400, "shipping_address.name must be valid UTF-8"},
		{"invalid UTF-8 field name", "{\"\xff\":1}", 400, "request body has a field name that is not valid UTF-8"},
		{"invalid UTF-8 nested field name", "{\"shipping_address\":{\"\xff\":1}}", 400, "shipping_address has a field name that is not valid UTF-8"},
		{"too deep", `{"items":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, 400, "request body nests deeper than 32 levels"},
		{"missing quantity", order(`[{"sku":"a"}]`, addr), 400, "items[0].quantity is required"},
		{"quantity out of range", order(`[{"sku":"a","quantity":1},{"sku":"b","quantity":1},{"sku":"c","quantity":10001}]`, addr), 400, "items[2].quantity must be between 1 and 10000"},
		{"bad id", `{"customer_id":"c 1","items":[{"sku":"a","quantity":1}],"shipping_address":{"name":"Ann","country":"US"}}`, 400, "customer_id must match ^[A-Za-z0-9_-]{1,64}$"},
		{"bad country", order(`[{"sku":"a","quantity":1}]`, `{"name":"Ann","country":"us"}`), 400, `shipping_address.country must be an ISO 3166-1 alpha-2 country code such as "US"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := endpoint.Decode[placeOrder]([]byte(tc.body))
			if err == nil {
				t.Fatalf("Decode accepted it: %+v", req)
			}
			var e *endpoint.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			if e.Status != tc.status || e.Message != tc.msg {
				t.Fatalf("got %d %q, want %d %q", e.Status, e.Message, tc.status, tc.msg)
			}
		})
	}
}

func TestDecodeLoose(t *testing.T) {
	t.Parallel()
	req, err := endpoint.Decode[loose]([]byte(`{"name":"n","note":"x","small":-3,"tags":["a"],"counts":{"k":1},"nested":{"a":{"values":[1,2]}},"any":{"free":[1,"x"]}}`))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if req.Name != "n" || req.Note != "x" || req.Small != -3 || req.Nested["a"].Values != [2]int{1, 2} {
		t.Fatalf("decoded %+v", req)
	}
	for body, want := range map[string]string{
		`{"small":300}`:                            "small is out of range",
		`{"big":-1}`:                               "big is out of range",
		`{"ratio":1e400}`:                          "ratio is out of range",
		`{"ok":"yes"}`:                             "ok must be a boolean",
		`{"tags":["a",1]}`:                         "tags[1] must be a string",
		`{"tags":["a","\udfff"]}`:                  "tags[1] must be valid UTF-8",
		`{"counts":{"k":"v"}}`:                     "counts.k must be an integer",
		`{"nested":{"a":{"values":[1,"2"]}}}`:      "nested.a.values[1] must be an integer",
		`{"nested":{"a":{"valuez":[]}}}`:           "nested.a.valuez: unknown field",
		`{"Skip":"x"}`:                             "Skip: unknown field",
		`{"hidden":"x"}`:                           "hidden: unknown field",
		`{"any":{"k":"\ud800"}}`:                   "any.k must be valid UTF-8",
		`{"counts":{"k":1,"k":2}}`:                 "counts.k: duplicate field",
		`{"Embedded":{"note":"x"}}`:                "Embedded: unknown field",
		`{"nested":{"a":{"values":[1,2]},"b":[]}}`: "nested.b must be an object",
	} {
		_, err := endpoint.Decode[loose]([]byte(body))
		var e *endpoint.Error
		if !errors.As(err, &e) || e.Status != 400 || e.Message != want {
			t.Errorf("Decode(%s) = %v, want 400 %q", body, err, want)
		}
	}
}

type plainValidate struct {
	N int `json:"n"`
}

func (p plainValidate) Validate() error {
	if p.N != 1 {
		return errors.New("n must be 1")
	}
	return nil
}

func TestDecodeValidateError(t *testing.T) {
	t.Parallel()
	_, err := endpoint.Decode[plainValidate]([]byte(`{"n":2}`))
	if !errors.Is(err, endpoint.ErrInvalidArgument) || err.Error() != "n must be 1" {
		t.Fatalf("got %v, want invalid_argument n must be 1", err)
	}
	if _, err := endpoint.Decode[plainValidate]([]byte(`{"n":1}`)); err != nil {
		t.Fatalf("Decode: %v", err)
	}
}

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
		`{"name":"n","note":"x","small":-3,"big":18446744073709551615,"ratio":0.5,"ok":true,"tags":["a"],"counts":{"k":1},"nested":{"a":{"values":[1,2]}},"any":{"free":[1,"x",null,true]}}`,
		`{"nested":{"a":{"values":[1,2,3]}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecode[placeOrder](t, body)
		checkDecode[loose](t, body)
	})
}

// checkDecode asserts Decode's contract on one body: a value, or an *Error
// with status 400 or 413 and a clean message; and a decoded value survives a
// round trip.
func checkDecode[Req any](t *testing.T, body []byte) {
	req, err := endpoint.Decode[Req](body)
	if err != nil {
		if req != nil {
			t.Fatalf("Decode returned both %+v and %v", req, err)
		}
		var e *endpoint.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %T %v is not an *Error", err, err)
		}
		if e.Status != 400 && e.Status != 413 {
			t.Fatalf("status %d for %q", e.Status, e.Message)
		}
		if (e.Status == 413) != (len(body) > endpoint.MaxBodySize) {
			t.Fatalf("status %d for a %d-byte body", e.Status, len(body))
		}
		if e.Message == "" || !utf8.ValidString(e.Message) {
			t.Fatalf("bad message %q", e.Message)
		}
		return
	}
	if req == nil {
		t.Fatal("Decode returned neither a value nor an error")
	}
	if !json.Valid(body) && strings.Trim(string(body), " \t\r\n") != "" {
		t.Fatalf("Decode accepted invalid JSON %q", body)
	}
	again, err := json.Marshal(req)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	req2, err := endpoint.Decode[Req](again)
	if err != nil {
		t.Fatalf("Decode of re-marshalled %s: %v", again, err)
	}
	if !reflect.DeepEqual(req, req2) {
		t.Fatalf("round trip changed %+v to %+v", req, req2)
	}
}
