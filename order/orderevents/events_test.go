package orderevents_test

import (
	"testing"
	"time"

	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/envelope/envelopetest"
	"github.com/choreo-dev/choreo/shared/eventschema/eventschematest"
)

var at = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// examples holds one value of each public event type: the round trip checks
// them, and each becomes its schema's example.
var examples = []envelope.Event{
	orderevents.OrderPlaced{OrderID: "o1", CustomerID: "c1",
		Items:      []orderevents.Item{{SKU: "A", Quantity: 2, UnitPriceCents: 150}},
		TotalCents: 300, Currency: "USD",
		ShippingAddress: orderevents.Address{Name: "N", Line1: "L", City: "C", PostalCode: "P", Country: "US"},
		PlacedAt:        at, Deadline: at.Add(30 * time.Second)},
	orderevents.OrderPaid{OrderID: "o1", PaymentID: "p1"},
	orderevents.OrderReserved{OrderID: "o1"},
	orderevents.OrderCompleted{OrderID: "o1", ShipmentID: "s1"},
	orderevents.OrderCancelled{OrderID: "o1", Reason: orderevents.ReasonCustomerRequest, Note: "changed my mind"},
}

func TestEventsRoundTripThroughRegistry(t *testing.T) {
	t.Parallel()
	r := envelope.NewRegistry()
	orderevents.Register(r)
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
	eventschematest.Run(t, orderevents.Service, orderevents.Register, orderevents.Schemas, examples...)
}
