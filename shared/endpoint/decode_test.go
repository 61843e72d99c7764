package endpoint_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/choreo-dev/choreo/shared/endpoint"
)

const validOrder = `{"customer_id":"c1","items":[{"sku":"a","quantity":1}],"shipping_address":{"name":"Ann","country":"US"}}`

func TestDecodeAccepts(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"minimal":      validOrder,
		"at the limit": validOrder + strings.Repeat(" ", endpoint.MaxBodySize-len(validOrder)),
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

// The rules of strict decoding are package strictjson's (its tests pin every
// message); these are the contract's replies to them, and the endpoint's own
// rules: size, empty body, validation.
func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		status     int
		msg        string
	}{
		{"empty body", "", 400, "customer_id is required; items must have between 1 and 100 entries; shipping_address is required"},
		{"blank body", " \n ", 400, "customer_id is required; items must have between 1 and 100 entries; shipping_address is required"},
		{"too large", validOrder + strings.Repeat(" ", endpoint.MaxBodySize-len(validOrder)+1), 413, "request body is 65537 bytes, limit is 65536"},
		{"too large and malformed", strings.Repeat("x", endpoint.MaxBodySize+1), 413, "request body is 65537 bytes, limit is 65536"},
		{"truncated", `{"customer_id":`, 400, "malformed JSON at byte 15: unexpected end of JSON input"},
		{"array", `[]`, 400, "request body must be a JSON object"},
		{"unknown field", `{"foo":1}`, 400, "foo: unknown field"},
		{"duplicate field", `{"customer_id":"a","customer_id":"b"}`, 400, "customer_id: duplicate field"},
		{"string for integer", `{"items":[{"sku":"a","quantity":"2"}]}`, 400, "items[0].quantity must be an integer"},
		{"invalid UTF-8", "{\"customer_id\":\"\xff\"}", 400, "customer_id must be valid UTF-8"},
		{"missing quantity", `{"customer_id":"c1","items":[{"sku":"a"}],"shipping_address":{"name":"Ann","country":"US"}}`, 400, "items[0].quantity is required"},
		{"quantity out of range", `{"customer_id":"c1","items":[{"sku":"a","quantity":1},{"sku":"b","quantity":1},{"sku":"c","quantity":10001}],"shipping_address":{"name":"Ann","country":"US"}}`, 400, "items[2].quantity must be between 1 and 10000"},
		{"bad id", `{"customer_id":"c 1","items":[{"sku":"a","quantity":1}],"shipping_address":{"name":"Ann","country":"US"}}`, 400, "customer_id must match ^[A-Za-z0-9_-]{1,64}$"},
		{"bad country", `{"customer_id":"c1","items":[{"sku":"a","quantity":1}],"shipping_address":{"name":"Ann","country":"us"}}`, 400, `shipping_address.country must be an ISO 3166-1 alpha-2 country code such as "US"`},
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
			if want := map[int]error{400: endpoint.ErrInvalidArgument, 413: endpoint.ErrTooLarge}[tc.status]; !errors.Is(err, want) {
				t.Fatalf("error %v is not %v", err, want)
			}
		})
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

// ticket decodes its own JSON and refuses with a contract error of its own.
type ticket struct{ n int }

func (t *ticket) UnmarshalJSON(b []byte) error {
	if string(b) != "1" {
		return endpoint.Conflict("ticket %s is taken", b)
	}
	t.n = 1
	return nil
}

func TestDecodeKeepsAnUnmarshalersError(t *testing.T) {
	t.Parallel()
	type req struct {
		Ticket ticket `json:"ticket"`
	}
	_, err := endpoint.Decode[req]([]byte(`{"ticket":2}`))
	var e *endpoint.Error
	if !errors.As(err, &e) || e.Status != 409 || e.Message != "ticket 2 is taken" {
		t.Fatalf("got %v, want the ticket's own 409", err)
	}
}
