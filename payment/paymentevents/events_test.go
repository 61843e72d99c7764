package paymentevents_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"testing"

	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/envelope"
)

var (
	items   = []orderevents.Item{{SKU: "A", Quantity: 2, UnitPriceCents: 150}, {SKU: "B", Quantity: 1}}
	address = orderevents.Address{Name: "N", Line1: "L", City: "C", PostalCode: "P", Country: "US"}
)

func TestEventsRoundTripThroughRegistry(t *testing.T) {
	t.Parallel()
	r := envelope.NewRegistry()
	paymentevents.Register(r)
	for _, ev := range []envelope.Event{
		paymentevents.PaymentCompleted{OrderID: "o1", PaymentID: "p1", CustomerID: "c1", AmountCents: 300, Items: items, ShippingAddress: address},
		paymentevents.PaymentFailed{OrderID: "o1", PaymentID: "p1", CustomerID: "c1", AmountCents: 300, Reason: paymentevents.ReasonInsufficientFunds},
		paymentevents.PaymentRefunded{OrderID: "o1", PaymentID: "p1", CustomerID: "c1", AmountCents: 300},
		paymentevents.FundsDeposited{CustomerID: "c1", AmountCents: 500, BalanceCents: 700},
	} {
		t.Run(ev.EventType(), func(t *testing.T) {
			t.Parallel()
			checkRoundTrip(t, r, ev)
		})
	}
}

var snake = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func checkRoundTrip(t *testing.T, r *envelope.Registry, ev envelope.Event) {
	t.Helper()
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var generic any
	if err := json.Unmarshal(data, &generic); err != nil {
		t.Fatal(err)
	}
	checkKeys(t, generic)
	got, err := r.Decode(envelope.Envelope{Type: ev.EventType(), SchemaVersion: 1, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ev) {
		t.Fatalf("decoded %#v, want %#v", got, ev)
	}
	if _, private := got.(interface{ Private() }); private {
		t.Fatalf("%s is public but marked private", ev.EventType())
	}
}

func checkKeys(t *testing.T, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			if !snake.MatchString(k) {
				t.Errorf("key %q is not snake_case", k)
			}
			checkKeys(t, sub)
		}
	case []any:
		for _, sub := range v {
			checkKeys(t, sub)
		}
	}
}
