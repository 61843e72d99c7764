package sagatest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// badPlace is a valid order.place body; the table breaks it one way at a time.
const badPlace = `{"customer_id":"bad-cust","items":[{"sku":"bad-sku","quantity":1,"unit_price_cents":100}],` +
	`"shipping_address":{"name":"Ada","line1":"1 Way","city":"London","postal_code":"N1","country":"GB"}}`

// badInput is one malformed request and the error reply it must get.
type badInput struct {
	name    string
	subject string
	body    []byte
	status  int
	code    string
	field   string // the message must contain it; "" when no field applies
}

// badPlaceWith is badPlace with its first old replaced by new.
func badPlaceWith(old, new string) []byte {
	if !strings.Contains(badPlace, old) {
		panic("badPlaceWith: " + old + " not in the body")
	}
	return []byte(strings.Replace(badPlace, old, new, 1))
}

// badPadded is `{"<key>":"xxx…"}` of exactly n bytes.
func badPadded(key string, n int) []byte {
	head := `{"` + key + `":"`
	return []byte(head + strings.Repeat("x", n-len(head)-2) + `"}`)
}

// badItems is order.place with n copies of a valid item.
func badItems(n int) []byte {
	item := `{"sku":"bad-sku","quantity":1,"unit_price_cents":100}`
	return badPlaceWith(`[`+item+`]`, `[`+strings.Repeat(item+",", max(n-1, 0))+strings.Repeat(item, min(n, 1))+`]`)
}

func badInputs(maxPayload int) []badInput {
	const (
		invalid  = "invalid_argument"
		tooLarge = "too_large"
	)
	id65 := strings.Repeat("a", 65)
	text201 := strings.Repeat("x", 201)
	rows := []badInput{
		// Not JSON, or not one JSON object.
		{"place broken JSON", "order.place", []byte(`{"customer_id":"c1","items":[`), 400, invalid, ""},
		{"place trailing garbage", "order.place", []byte(badPlace + `x`), 400, invalid, ""},
		{"place two objects", "order.place", []byte(badPlace + ` {}`), 400, invalid, ""},
		{"place array", "order.place", []byte(`[]`), 400, invalid, ""},
		{"cancel string", "order.cancel", []byte(`"x"`), 400, invalid, ""},
		{"get null", "order.get", []byte(`null`), 400, invalid, ""},
		{"history number", "order.history", []byte(`42`), 400, invalid, ""},
		{"timeline number", "order.timeline", []byte(`42`), 400, invalid, ""},
		{"balance not JSON", "payment.balance", []byte(`customer_id=c1`), 400, invalid, ""},
		{"inventory.get array", "inventory.get", []byte(`["sku"]`), 400, invalid, ""},
		{"shipping.get trailing garbage", "shipping.get", []byte(`{"order_id":"o1"}}`), 400, invalid, ""},
		{"payment.get unterminated string", "payment.get", []byte(`{"order_id":"o1`), 400, invalid, ""},

		// Wrong types.
		{"place customer_id number", "order.place", badPlaceWith(`"customer_id":"bad-cust"`, `"customer_id":42`), 400, invalid, "customer_id"},
		{"place items object", "order.place", badPlaceWith(`"items":[{"sku":"bad-sku","quantity":1,"unit_price_cents":100}]`, `"items":{"sku":"bad-sku"}`), 400, invalid, "items"},
		{"place quantity string", "order.place", badPlaceWith(`"quantity":1`, `"quantity":"1"`), 400, invalid, "items[0].quantity"},
		{"place quantity fraction", "order.place", badPlaceWith(`"quantity":1`, `"quantity":1.5`), 400, invalid, "items[0].quantity"},
		{"place shipping_address string", "order.place", badPlaceWith(`"shipping_address":{"name":"Ada","line1":"1 Way","city":"London","postal_code":"N1","country":"GB"}`, `"shipping_address":"London"`), 400, invalid, "shipping_address"},
		{"list limit string", "order.list", []byte(`{"limit":"10"}`), 400, invalid, "limit"},
		{"deposit amount string", "payment.deposit", []byte(`{"customer_id":"bad-cust","amount_cents":"100"}`), 400, invalid, "amount_cents"},
		{"deposit amount bool", "payment.deposit", []byte(`{"customer_id":"bad-cust","amount_cents":true}`), 400, invalid, "amount_cents"},
		{"restock sku number", "inventory.restock", []byte(`{"sku":7,"quantity":1}`), 400, invalid, "sku"},
		{"cancel reason object", "order.cancel", []byte(`{"order_id":"o1","reason":{}}`), 400, invalid, "reason"},

		// Unknown fields, top-level and nested.
		{"place unknown top-level", "order.place", badPlaceWith(`{`, `{"coupon":"FREE",`), 400, invalid, "coupon"},
		{"place unknown in item", "order.place", badPlaceWith(`"quantity":1`, `"qty":1`), 400, invalid, "items[0].qty"},
		{"place unknown in address", "order.place", badPlaceWith(`"country":"GB"`, `"country":"GB","zip":"N1"`), 400, invalid, "shipping_address.zip"},
		{"place field in other case", "order.place", badPlaceWith(`"customer_id"`, `"Customer_ID"`), 400, invalid, "Customer_ID"},
		{"get unknown", "order.get", []byte(`{"order_id":"o1","verbose":true}`), 400, invalid, "verbose"},
		{"history unknown", "order.history", []byte(`{"order_id":"o1","from":1}`), 400, invalid, "from"},
		{"timeline unknown", "order.timeline", []byte(`{"order_id":"o1","service":"payment"}`), 400, invalid, "service"},
		{"payment.get unknown", "payment.get", []byte(`{"id":"o1"}`), 400, invalid, "id"},
		{"restock unknown", "inventory.restock", []byte(`{"sku":"bad-sku","quantity":1,"warehouse":"w1"}`), 400, invalid, "warehouse"},
		{"shipping.get unknown", "shipping.get", []byte(`{"order_id":"o1","carrier":"x"}`), 400, invalid, "carrier"},

		// Missing fields.
		{"place no customer_id", "order.place", badPlaceWith(`"customer_id":"bad-cust",`, ``), 400, invalid, "customer_id"},
		{"place no items", "order.place", badPlaceWith(`"items":[{"sku":"bad-sku","quantity":1,"unit_price_cents":100}],`, ``), 400, invalid, "items"},
		{"place no quantity", "order.place", badPlaceWith(`"quantity":1,`, ``), 400, invalid, "items[0].quantity"},
		{"place no unit price", "order.place", badPlaceWith(`,"unit_price_cents":100`, ``), 400, invalid, "items[0].unit_price_cents"},
		{"place no sku", "order.place", badPlaceWith(`"sku":"bad-sku",`, ``), 400, invalid, "items[0].sku"},
		{"place no shipping_address", "order.place", badPlaceWith(`,"shipping_address":{"name":"Ada","line1":"1 Way","city":"London","postal_code":"N1","country":"GB"}`, ``), 400, invalid, "shipping_address"},
		{"place no city", "order.place", badPlaceWith(`"city":"London",`, ``), 400, invalid, "shipping_address.city"},
		{"place blank name", "order.place", badPlaceWith(`"name":"Ada"`, `"name":"   "`), 400, invalid, "shipping_address.name"},
		{"cancel empty body", "order.cancel", []byte(``), 400, invalid, "order_id"},
		{"get empty object", "order.get", []byte(`{}`), 400, invalid, "order_id"},
		{"deposit no amount", "payment.deposit", []byte(`{"customer_id":"bad-cust"}`), 400, invalid, "amount_cents"},
		{"deposit amount null", "payment.deposit", []byte(`{"customer_id":"bad-cust","amount_cents":null}`), 400, invalid, "amount_cents"},
		{"restock no quantity", "inventory.restock", []byte(`{"sku":"bad-sku"}`), 400, invalid, "quantity"},
		{"inventory.get no sku", "inventory.get", []byte(`{}`), 400, invalid, "sku"},
		{"payment.get no order_id", "payment.get", []byte(` `), 400, invalid, "order_id"},

		// Identifiers that are not subject tokens.
		{"place customer_id a.b", "order.place", badPlaceWith(`"bad-cust"`, `"a.b"`), 400, invalid, "customer_id"},
		{"place customer_id a*", "order.place", badPlaceWith(`"bad-cust"`, `"a*"`), 400, invalid, "customer_id"},
		{"place sku a>", "order.place", badPlaceWith(`"bad-sku"`, `"a>"`), 400, invalid, "items[0].sku"},
		{"place order_id with space", "order.place", badPlaceWith(`{`, `{"order_id":"a b",`), 400, invalid, "order_id"},
		{"place customer_id 65 chars", "order.place", badPlaceWith(`"bad-cust"`, `"`+id65+`"`), 400, invalid, "customer_id"},
		{"place customer_id empty", "order.place", badPlaceWith(`"bad-cust"`, `""`), 400, invalid, "customer_id"},
		{"cancel order_id a.b", "order.cancel", []byte(`{"order_id":"a.b"}`), 400, invalid, "order_id"},
		{"get order_id a>", "order.get", []byte(`{"order_id":"a>"}`), 400, invalid, "order_id"},
		{"history order_id empty", "order.history", []byte(`{"order_id":""}`), 400, invalid, "order_id"},
		{"timeline order_id a.b", "order.timeline", []byte(`{"order_id":"a.b"}`), 400, invalid, "order_id"},
		{"timeline no order_id", "order.timeline", []byte(`{}`), 400, invalid, "order_id"},
		{"list customer_id with space", "order.list", []byte(`{"customer_id":"a b"}`), 400, invalid, "customer_id"},
		{"deposit customer_id a*", "payment.deposit", []byte(`{"customer_id":"a*","amount_cents":100}`), 400, invalid, "customer_id"},
		{"balance customer_id 65 chars", "payment.balance", []byte(`{"customer_id":"` + id65 + `"}`), 400, invalid, "customer_id"},
		{"payment.get order_id a.b", "payment.get", []byte(`{"order_id":"a.b"}`), 400, invalid, "order_id"},
		{"restock sku with space", "inventory.restock", []byte(`{"sku":"a b","quantity":1}`), 400, invalid, "sku"},
		{"inventory.get sku a>", "inventory.get", []byte(`{"sku":"a>"}`), 400, invalid, "sku"},
		{"shipping.get order_id a*", "shipping.get", []byte(`{"order_id":"a*"}`), 400, invalid, "order_id"},
		{"shipping.get order_id 65 chars", "shipping.get", []byte(`{"order_id":"` + id65 + `"}`), 400, invalid, "order_id"},
		{"balance customer_id unicode", "payment.balance", []byte(`{"customer_id":"café"}`), 400, invalid, "customer_id"},

		// Limits exceeded by one.
		{"place 0 items", "order.place", badItems(0), 400, invalid, "items"},
		{"place 101 items", "order.place", badItems(101), 400, invalid, "items"},
		{"place quantity 0", "order.place", badPlaceWith(`"quantity":1`, `"quantity":0`), 400, invalid, "items[0].quantity"},
		{"place quantity 10001", "order.place", badPlaceWith(`"quantity":1`, `"quantity":10001`), 400, invalid, "items[0].quantity"},
		{"place unit price -1", "order.place", badPlaceWith(`"unit_price_cents":100`, `"unit_price_cents":-1`), 400, invalid, "items[0].unit_price_cents"},
		{"place unit price 100000001", "order.place", badPlaceWith(`"unit_price_cents":100`, `"unit_price_cents":100000001`), 400, invalid, "items[0].unit_price_cents"},
		{"place name 201 bytes", "order.place", badPlaceWith(`"name":"Ada"`, `"name":"`+text201+`"`), 400, invalid, "shipping_address.name"},
		{"place line1 201 bytes", "order.place", badPlaceWith(`"line1":"1 Way"`, `"line1":"`+text201+`"`), 400, invalid, "shipping_address.line1"},
		{"place country XX", "order.place", badPlaceWith(`"country":"GB"`, `"country":"XX"`), 400, invalid, "shipping_address.country"},
		{"place country gb", "order.place", badPlaceWith(`"country":"GB"`, `"country":"gb"`), 400, invalid, "shipping_address.country"},
		{"place country GBR", "order.place", badPlaceWith(`"country":"GB"`, `"country":"GBR"`), 400, invalid, "shipping_address.country"},
		{"place currency lower case", "order.place", badPlaceWith(`{`, `{"currency":"eur",`), 400, invalid, "currency"},
		{"cancel reason 201 bytes", "order.cancel", []byte(`{"order_id":"o1","reason":"` + text201 + `"}`), 400, invalid, "reason"},
		{"list limit 0", "order.list", []byte(`{"limit":0}`), 400, invalid, "limit"},
		{"list limit 1001", "order.list", []byte(`{"limit":1001}`), 400, invalid, "limit"},
		{"list status unknown", "order.list", []byte(`{"status":"shipped"}`), 400, invalid, "status"},
		{"deposit 0", "payment.deposit", []byte(`{"customer_id":"bad-cust","amount_cents":0}`), 400, invalid, "amount_cents"},
		{"deposit 1000000001", "payment.deposit", []byte(`{"customer_id":"bad-cust","amount_cents":1000000001}`), 400, invalid, "amount_cents"},
		{"restock 0", "inventory.restock", []byte(`{"sku":"bad-sku","quantity":0}`), 400, invalid, "quantity"},
		{"restock 1000001", "inventory.restock", []byte(`{"sku":"bad-sku","quantity":1000001}`), 400, invalid, "quantity"},

		// Huge and negative numbers.
		{"place quantity 1e30", "order.place", badPlaceWith(`"quantity":1`, `"quantity":1e30`), 400, invalid, "items[0].quantity"},
		{"place quantity 2^63", "order.place", badPlaceWith(`"quantity":1`, `"quantity":9223372036854775808`), 400, invalid, "items[0].quantity"},
		{"place unit price -2^63-1", "order.place", badPlaceWith(`"unit_price_cents":100`, `"unit_price_cents":-9223372036854775809`), 400, invalid, "items[0].unit_price_cents"},
		{"deposit 2^63", "payment.deposit", []byte(`{"customer_id":"bad-cust","amount_cents":9223372036854775808}`), 400, invalid, "amount_cents"},
		{"deposit 1e30", "payment.deposit", []byte(`{"customer_id":"bad-cust","amount_cents":1e30}`), 400, invalid, "amount_cents"},
		{"deposit negative", "payment.deposit", []byte(`{"customer_id":"bad-cust","amount_cents":-500}`), 400, invalid, "amount_cents"},
		{"deposit 1e2", "payment.deposit", []byte(`{"customer_id":"bad-cust","amount_cents":1e2}`), 400, invalid, "amount_cents"},
		{"restock 2^63", "inventory.restock", []byte(`{"sku":"bad-sku","quantity":9223372036854775808}`), 400, invalid, "quantity"},
		{"restock negative", "inventory.restock", []byte(`{"sku":"bad-sku","quantity":-1}`), 400, invalid, "quantity"},
		{"list limit 1e30", "order.list", []byte(`{"limit":1e30}`), 400, invalid, "limit"},

		// Invalid UTF-8 (raw 0xff, and a lone surrogate escape).
		{"place name 0xff", "order.place", badPlaceWith(`"name":"Ada"`, "\"name\":\"Ad\xffa\""), 400, invalid, "shipping_address.name"},
		{"place city lone surrogate", "order.place", badPlaceWith(`"city":"London"`, `"city":"Lon\udc00don"`), 400, invalid, "shipping_address.city"},
		{"cancel reason 0xff", "order.cancel", []byte("{\"order_id\":\"o1\",\"reason\":\"\xff\xfe\"}"), 400, invalid, "reason"},
		{"inventory.get sku 0xff", "inventory.get", []byte("{\"sku\":\"\xff\"}"), 400, invalid, "sku"},
		{"shipping.get order_id 0xff", "shipping.get", []byte("{\"order_id\":\"o\xff1\"}"), 400, invalid, "order_id"},

		// Duplicated keys, top-level and nested.
		{"place duplicate customer_id", "order.place", badPlaceWith(`{`, `{"customer_id":"other",`), 400, invalid, "customer_id"},
		{"place duplicate quantity", "order.place", badPlaceWith(`"quantity":1`, `"quantity":1,"quantity":2`), 400, invalid, "items[0].quantity"},
		{"balance duplicate customer_id", "payment.balance", []byte(`{"customer_id":"a","customer_id":"b"}`), 400, invalid, "customer_id"},
		{"restock duplicate quantity", "inventory.restock", []byte(`{"sku":"bad-sku","quantity":1,"quantity":1}`), 400, invalid, "quantity"},

		// Size: 64 KiB is accepted (and then rejected for its content), one
		// byte more is too large, and so is a body close to max_payload.
		{"balance 65536 bytes", "payment.balance", badPadded("customer_id", 64<<10), 400, invalid, "customer_id"},
		{"place 65537 bytes", "order.place", badPlaceWith(`"name":"Ada"`, `"name":"`+strings.Repeat("x", 65537-len(badPlace)+3)+`"`), 413, tooLarge, ""},
		{"deposit 65537 bytes", "payment.deposit", badPadded("customer_id", 64<<10+1), 413, tooLarge, ""},
		{"inventory.get 65537 bytes of garbage", "inventory.get", bytes.Repeat([]byte{0xff}, 64<<10+1), 413, tooLarge, ""},
		{"shipping.get max_payload-1 bytes", "shipping.get", badPadded("order_id", maxPayload-1), 413, tooLarge, ""},
		{"order.list max_payload-1 bytes", "order.list", badPadded("customer_id", maxPayload-1), 413, tooLarge, ""},

		// Event schemas: bad filters, and a type or version the service does
		// not publish.
		{"schemas type number", "order.schemas", []byte(`{"type":1}`), 400, invalid, "type"},
		{"schemas type a.b", "shipping.schemas", []byte(`{"type":"a.b"}`), 400, invalid, "type"},
		{"schemas version 0", "payment.schemas", []byte(`{"version":0}`), 400, invalid, "version"},
		{"schemas version string", "inventory.schemas", []byte(`{"version":"1"}`), 400, invalid, "version"},
		{"schemas unknown field", "inventory.schemas", []byte(`{"type":"StockReserved","format":"yaml"}`), 400, invalid, "format"},
		{"schemas another service's type", "order.schemas", []byte(`{"type":"PaymentCompleted"}`), 404, "not_found", "type"},
		{"schemas unknown version", "shipping.schemas", []byte(`{"type":"ShipmentFailed","version":2}`), 404, "not_found", "version"},

		// The parked area's operator endpoints, on every service.
		{"parked unknown field", "order.parked", []byte(`{"limit":3}`), 400, invalid, "limit"},
		{"parked not an object", "payment.parked", []byte(`[]`), 400, invalid, ""},
		{"parked trailing data", "inventory.parked", []byte(`{} {}`), 400, invalid, ""},
		{"parked unknown field", "shipping.parked", []byte(`{"seq":1}`), 400, invalid, "seq"},
		{"parked_retry no seq", "order.parked_retry", []byte(`{}`), 400, invalid, "seq"},
		{"parked_retry seq 0", "payment.parked_retry", []byte(`{"seq":0}`), 400, invalid, "seq"},
		{"parked_retry seq string", "inventory.parked_retry", []byte(`{"seq":"7"}`), 400, invalid, "seq"},
		{"parked_retry nothing parked", "shipping.parked_retry", []byte(`{"seq":7}`), 404, "not_found", "seq"},
		{"parked_drop no seq", "order.parked_drop", []byte(`{}`), 400, invalid, "seq"},
		{"parked_drop negative", "payment.parked_drop", []byte(`{"seq":-1}`), 400, invalid, "seq"},
		{"parked_drop float", "inventory.parked_drop", []byte(`{"seq":1.5}`), 400, invalid, "seq"},
		{"parked_drop nothing parked", "shipping.parked_drop", []byte(`{"seq":9}`), 404, "not_found", "seq"},

		// Deep nesting.
		{"place deep nesting", "order.place", []byte(`{"items":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`), 400, invalid, ""},
	}
	return rows
}

// TestBadInput sends every endpoint malformed requests and checks that each
// gets the contract's error reply, that the services keep serving, and that
// none of them changed anything.
func TestBadInput(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	c := sagatest.NewClient(s.NC)

	// Some state to protect: a wallet, a SKU and a completed order.
	if _, err := c.Deposit(t.Context(), "bad-alice", 10_000); err != nil {
		t.Fatalf("deposit: %v", err)
	}
	if _, err := c.Restock(t.Context(), "bad-widget", 10); err != nil {
		t.Fatalf("restock: %v", err)
	}
	v, err := c.Place(t.Context(), client.PlaceRequest{CustomerID: "bad-alice",
		Items: []client.Item{{SKU: "bad-widget", Quantity: 2, UnitPriceCents: 1_000}}, ShippingAddress: sagatest.Addr("GB")})
	if err != nil {
		t.Fatalf("place: %v", err)
	}
	natstest.Eventually(t, 30*time.Second, func() error {
		o, err := c.Get(t.Context(), v.OrderID)
		if err != nil {
			return err
		}
		if o.Status != "completed" {
			return fmt.Errorf("order %s is %s", o.OrderID, o.Status)
		}
		return s.Quiet()
	})
	before := badSnapshot(t, s, v.OrderID)

	rows := badInputs(int(s.NC.MaxPayload()))
	if len(rows) < 45 {
		t.Fatalf("only %d rows", len(rows))
	}
	covered := map[string]bool{}
	for _, row := range rows {
		covered[row.subject] = true
		t.Run(row.name, func(t *testing.T) {
			badCheck(t, s.NC, row)
		})
	}
	// Every endpoint every service serves has bad input of its own.
	for _, subject := range servedSubjects(t, s.NC) {
		if !covered[subject] {
			t.Errorf("no bad input for %s", subject)
		}
	}

	// Nothing changed, and nothing is on its way.
	natstest.Eventually(t, 30*time.Second, s.Quiet)
	after := badSnapshot(t, s, v.OrderID)
	for k, b := range before {
		if a := after[k]; a != b {
			t.Errorf("%s changed:\nbefore %s\nafter  %s", k, b, a)
		}
	}

	// Every service still serves.
	for _, q := range []struct{ subject, body string }{
		{"order.get", `{"order_id":"` + v.OrderID + `"}`},
		{"payment.get", `{"order_id":"` + v.OrderID + `"}`},
		{"inventory.get", `{"sku":"bad-widget"}`},
		{"shipping.get", `{"order_id":"` + v.OrderID + `"}`},
		{"order.schemas", `{"type":"OrderPlaced","version":1}`},
		{"payment.schemas", `{"type":"PaymentCompleted"}`},
		{"inventory.schemas", `{"version":1}`},
		{"shipping.schemas", `{}`},
	} {
		if err := c.Call(t.Context(), q.subject, []byte(q.body), nil); err != nil {
			t.Errorf("%s after the bad input: %v", q.subject, err)
		}
	}
	if b, err := c.Deposit(t.Context(), "bad-alice", 1); err != nil || b.BalanceCents != 8_001 {
		t.Errorf("deposit after the bad input: %+v, %v", b, err)
	}
}

// badCheck sends one row and checks the error reply.
func badCheck(t *testing.T, nc *nats.Conn, row badInput) {
	t.Helper()
	msg, err := nc.Request(row.subject, row.body, 10*time.Second)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	code := msg.Header.Get(micro.ErrorCodeHeader)
	desc := msg.Header.Get(micro.ErrorHeader)
	if code != strconv.Itoa(row.status) {
		t.Errorf("%s = %q, want %d (reply %q)", micro.ErrorCodeHeader, code, row.status, badShort(msg.Data))
	}
	if desc == "" {
		t.Errorf("%s is empty", micro.ErrorHeader)
	}
	var reply struct {
		Error *struct {
			Code    *string `json:"code"`
			Message *string `json:"message"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(msg.Data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&reply); err != nil || dec.More() || reply.Error == nil ||
		reply.Error.Code == nil || reply.Error.Message == nil {
		t.Fatalf("reply body %q is not {\"error\":{\"code\",\"message\"}} (%v)", badShort(msg.Data), err)
	}
	if got := *reply.Error.Code; got != row.code {
		t.Errorf("code %q, want %q (message %q)", got, row.code, *reply.Error.Message)
	}
	m := *reply.Error.Message
	if m == "" || m != desc {
		t.Errorf("message %q, header %q: want the same, not empty", m, desc)
	}
	if !strings.Contains(m, row.field) {
		t.Errorf("message %q does not name %q", m, row.field)
	}
}

// badSnapshot records what the bad input must not change: the replies to
// queries about the known state and about the ids the table uses, and every
// stream's message count and last sequence.
func badSnapshot(t *testing.T, s *sagatest.Stack, orderID string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	for _, q := range []struct{ subject, body string }{
		{"payment.balance", `{"customer_id":"bad-alice"}`},
		{"payment.balance", `{"customer_id":"bad-cust"}`},
		{"inventory.get", `{"sku":"bad-widget"}`},
		{"inventory.get", `{"sku":"bad-sku"}`},
		{"order.list", `{"limit":1000}`},
		{"order.list", `{"customer_id":"bad-cust"}`},
		{"order.get", `{"order_id":"` + orderID + `"}`},
		{"order.get", `{"order_id":"o1"}`},
		{"order.history", `{"order_id":"` + orderID + `"}`},
		{"order.timeline", `{"order_id":"` + orderID + `"}`},
		{"payment.get", `{"order_id":"` + orderID + `"}`},
		{"shipping.get", `{"order_id":"` + orderID + `"}`},
	} {
		msg, err := s.NC.Request(q.subject, []byte(q.body), 10*time.Second)
		if err != nil {
			t.Fatalf("%s %s: %v", q.subject, q.body, err)
		}
		snap[q.subject+" "+q.body] = msg.Header.Get(micro.ErrorCodeHeader) + " " + string(msg.Data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, name := range append(sagatest.StreamNames(), streams.DLQ) {
		st, err := s.JS.Stream(ctx, name)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			t.Fatalf("stream %s info: %v", name, err)
		}
		snap["stream "+name] = fmt.Sprintf("%d messages, last sequence %d", info.State.Msgs, info.State.LastSeq)
	}
	return snap
}

// badShort shortens a reply body for a message.
func badShort(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// servedSubjects lists every endpoint subject the four services serve, from
// their own $SRV.INFO: a new endpoint needs bad input here without anyone
// remembering to add it to a list.
func servedSubjects(t *testing.T, nc *nats.Conn) []string {
	t.Helper()
	var out []string
	for _, svc := range sagatest.Services {
		msg, err := nc.Request("$SRV.INFO."+svc, nil, 5*time.Second)
		if err != nil {
			t.Fatalf("$SRV.INFO.%s: %v", svc, err)
		}
		var info micro.Info
		if err := json.Unmarshal(msg.Data, &info); err != nil {
			t.Fatal(err)
		}
		for _, e := range info.Endpoints {
			out = append(out, e.Subject)
		}
	}
	if len(out) < 15 {
		t.Fatalf("only %d endpoints served: %v", len(out), out)
	}
	return out
}
