package paymentevents_test

import (
	"testing"

	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/envelope/envelopetest"
	"github.com/choreo-dev/choreo/shared/eventschema/eventschematest"
)

var (
	items   = []orderevents.Item{{SKU: "A", Quantity: 2, UnitPriceCents: 150}, {SKU: "B", Quantity: 1}}
	address = orderevents.Address{Name: "N", Line1: "L", City: "C", PostalCode: "P", Country: "US"}
)

// examples holds one value of each public event type: the round trip checks
// them, and each becomes its schema's example.
var examples = []envelope.Event{
	paymentevents.PaymentCompleted{OrderID: "o1", PaymentID: "p1", CustomerID: "c1", AmountCents: 300, Items: items, ShippingAddress: address},
	paymentevents.PaymentFailed{OrderID: "o1", PaymentID: "p1", CustomerID: "c1", AmountCents: 300, Reason: paymentevents.ReasonInsufficientFunds},
	paymentevents.PaymentRefunded{OrderID: "o1", PaymentID: "p1", CustomerID: "c1", AmountCents: 300},
	paymentevents.FundsDeposited{CustomerID: "c1", AmountCents: 500, BalanceCents: 700},
}

func TestEventsRoundTripThroughRegistry(t *testing.T) {
	t.Parallel()
	r := envelope.NewRegistry()
	paymentevents.Register(r)
	for _, ev := range examples {
		t.Run(ev.EventType(), func(t *testing.T) {
			t.Parallel()
			envelopetest.CheckPublicEvent(t, r, ev)
		})
	}
}

// TestSchemas fails when a committed schema under schemas/ is out of date or
// an event type broke it; its messages say what to do.
func TestSchemas(t *testing.T) {
	eventschematest.Run(t, paymentevents.Service, paymentevents.Register, paymentevents.Schemas, examples...)
}
