package shippingevents_test

import (
	"testing"

	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/envelope/envelopetest"
	"github.com/choreo-dev/choreo/shared/eventschema/eventschematest"
	"github.com/choreo-dev/choreo/shipping/shippingevents"
)

var (
	items   = []orderevents.Item{{SKU: "A", Quantity: 2, UnitPriceCents: 150}, {SKU: "B", Quantity: 1}}
	address = orderevents.Address{Name: "N", Line1: "L", City: "C", PostalCode: "P", Country: "US"}
)

// examples holds one value of each public event type: the round trip checks
// them, and each becomes its schema's example.
var examples = []envelope.Event{
	shippingevents.ShipmentScheduled{OrderID: "o1", ShipmentID: "s1", Carrier: "UPS", TrackingNumber: "CH0123", Country: "US"},
	shippingevents.ShipmentFailed{OrderID: "o1", ShipmentID: "s1", Reason: shippingevents.ReasonUnsupportedDestination, Country: "BR"},
	shippingevents.ShipmentCancelled{OrderID: "o1", ShipmentID: "s1"},
}

func TestEventsRoundTripThroughRegistry(t *testing.T) {
	t.Parallel()
	r := envelope.NewRegistry()
	shippingevents.Register(r)
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
	eventschematest.Run(t, shippingevents.Service, shippingevents.Register, shippingevents.Schemas, examples...)
}
