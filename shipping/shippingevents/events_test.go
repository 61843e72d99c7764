package shippingevents_test

import (
	"testing"

	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/envelope/envelopetest"
	"github.com/choreo-dev/choreo/shipping/shippingevents"
)

var (
	items   = []orderevents.Item{{SKU: "A", Quantity: 2, UnitPriceCents: 150}, {SKU: "B", Quantity: 1}}
	address = orderevents.Address{Name: "N", Line1: "L", City: "C", PostalCode: "P", Country: "US"}
)

func TestEventsRoundTripThroughRegistry(t *testing.T) {
	t.Parallel()
	r := envelope.NewRegistry()
	shippingevents.Register(r)
	for _, ev := range []envelope.Event{
		shippingevents.ShipmentScheduled{OrderID: "o1", ShipmentID: "s1", Carrier: "UPS", TrackingNumber: "CH0123", Country: "US"},
		shippingevents.ShipmentFailed{OrderID: "o1", ShipmentID: "s1", Reason: shippingevents.ReasonUnsupportedDestination, Country: "BR"},
		shippingevents.ShipmentCancelled{OrderID: "o1", ShipmentID: "s1"},
	} {
		t.Run(ev.EventType(), func(t *testing.T) {
			t.Parallel()
			envelopetest.CheckPublicEvent(t, r, ev)
		})
	}
}
