package order

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/choreo-dev/choreo/order/domain"
	"github.com/choreo-dev/choreo/shared/endpoint"
)

// FuzzPlaceRequest runs order.place's request decoding and validation on
// arbitrary bodies, without NATS. It never panics; every rejection is an
// *endpoint.Error with status 400 (413 exactly when the body is over 64 KiB);
// what it accepts is within the contract's limits and is a command the
// domain accepts. Validate alone, on whatever encoding/json makes of the
// body, never panics either and fails only with a 400.
func FuzzPlaceRequest(f *testing.F) {
	const valid = `{"order_id":"o-1","customer_id":"c1","items":[{"sku":"widget","quantity":2,"unit_price_cents":1500}],` +
		`"currency":"EUR","shipping_address":{"name":"Ada Lovelace","line1":"1 Analytical Way","city":"London","postal_code":"N1 9GU","country":"GB"}}`
	item := `{"sku":"s","quantity":10000,"unit_price_cents":100000000}`
	for _, seed := range []string{
		"",
		"{}",
		"[]",
		"null",
		valid,
		strings.Replace(valid, `"order_id":"o-1",`, ``, 1),
		strings.Replace(valid, `"quantity":2`, `"quantity":9223372036854775807`, 1),
		strings.Replace(valid, `"quantity":2`, `"quantity":1e30`, 1),
		strings.Replace(valid, `"unit_price_cents":1500`, `"unit_price_cents":-1`, 1),
		strings.Replace(valid, `"quantity":2`, `"qty":2`, 1),
		strings.Replace(valid, `"country":"GB"`, `"country":"gb"`, 1),
		strings.Replace(valid, `"name":"Ada Lovelace"`, "\"name\":\"Ada \xff\"", 1),
		strings.Replace(valid, `"city":"London"`, `"city":"\ud800"`, 1),
		strings.Replace(valid, `"customer_id":"c1"`, `"customer_id":"a.b"`, 1),
		strings.Replace(valid, `"customer_id":"c1"`, `"customer_id":"c1","customer_id":"c2"`, 1),
		strings.Replace(valid, `[{"sku":"widget","quantity":2,"unit_price_cents":1500}]`, `[`+strings.Repeat(item+",", 99)+item+`]`, 1),
		strings.Replace(valid, `[{"sku":"widget","quantity":2,"unit_price_cents":1500}]`, `[`+strings.Repeat(item+",", 100)+item+`]`, 1),
		`{"items":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
		valid + " x",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := endpoint.Decode[placeRequest](body)
		if err != nil {
			if r != nil {
				t.Fatalf("Decode returned both %+v and %v", r, err)
			}
			checkRejection(t, err, len(body) > endpoint.MaxBodySize)
		} else {
			checkAccepted(t, r)
		}

		// Validate on its own, on what a lenient decoder makes of the body.
		var lenient placeRequest
		if json.Unmarshal(body, &lenient) == nil {
			if err := lenient.Validate(); err != nil {
				checkRejection(t, err, false)
			}
		}
	})
}

// checkRejection asserts that err is a contract error reply fit to send.
func checkRejection(t *testing.T, err error, tooLarge bool) {
	t.Helper()
	e, ok := err.(*endpoint.Error)
	if !ok {
		t.Fatalf("error %T %v is not an *endpoint.Error", err, err)
	}
	switch {
	case tooLarge && (e.Status != 413 || e.Code != endpoint.CodeTooLarge):
		t.Fatalf("body over %d bytes: %d %s %q, want 413 too_large", endpoint.MaxBodySize, e.Status, e.Code, e.Message)
	case !tooLarge && (e.Status != 400 || e.Code != endpoint.CodeInvalidArgument):
		t.Fatalf("%d %s %q, want 400 invalid_argument", e.Status, e.Code, e.Message)
	case strings.TrimSpace(e.Message) == "" || !utf8.ValidString(e.Message):
		t.Fatalf("bad message %q", e.Message)
	}
}

// checkAccepted asserts that an accepted request is within the contract's
// limits and that the domain takes the command it makes.
func checkAccepted(t *testing.T, r *placeRequest) {
	t.Helper()
	if r == nil {
		t.Fatal("Decode returned neither a request nor an error")
	}
	if err := r.Validate(); err != nil {
		t.Fatalf("Decode accepted %+v but Validate says %v", r, err)
	}
	if r.OrderID != "" && !endpoint.ValidID(r.OrderID) || !endpoint.ValidID(r.CustomerID) {
		t.Fatalf("accepted ids order_id %q customer_id %q", r.OrderID, r.CustomerID)
	}
	if n := len(r.Items); n < 1 || n > maxItems {
		t.Fatalf("accepted %d items", n)
	}
	for i, it := range r.Items {
		if !endpoint.ValidID(it.SKU) || it.Quantity == nil || it.UnitPriceCents == nil ||
			*it.Quantity < 1 || *it.Quantity > maxQuantity || *it.UnitPriceCents < 0 || *it.UnitPriceCents > maxUnitPrice {
			t.Fatalf("accepted items[%d] %q %v %v", i, it.SKU, it.Quantity, it.UnitPriceCents)
		}
	}
	a := r.ShippingAddress
	if a == nil || !endpoint.IsCountry(a.Country) {
		t.Fatalf("accepted shipping_address %+v", a)
	}
	for _, s := range []string{a.Name, a.Line1, a.City, a.PostalCode} {
		if strings.TrimSpace(s) == "" || len(s) > endpoint.MaxTextLen || !utf8.ValidString(s) {
			t.Fatalf("accepted shipping_address %+v", a)
		}
	}
	cmd := r.command("o-fuzz")
	events, err := domain.Place(domain.Order{}, cmd, time.Unix(1_700_000_000, 0), time.Minute)
	if err != nil || len(events) != 1 {
		t.Fatalf("domain rejects accepted request %+v: %v", cmd, err)
	}
}
