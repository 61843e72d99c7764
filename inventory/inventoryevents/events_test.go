package inventoryevents_test

import (
	"testing"

	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/envelope/envelopetest"
)

var (
	items   = []orderevents.Item{{SKU: "A", Quantity: 2, UnitPriceCents: 150}, {SKU: "B", Quantity: 1}}
	address = orderevents.Address{Name: "N", Line1: "L", City: "C", PostalCode: "P", Country: "US"}
)

func TestEventsRoundTripThroughRegistry(t *testing.T) {
	t.Parallel()
	r := envelope.NewRegistry()
	inventoryevents.Register(r)
	for _, ev := range []envelope.Event{
		inventoryevents.StockReserved{OrderID: "o1", Items: items, ShippingAddress: address},
		inventoryevents.StockReservationFailed{OrderID: "o1", SKU: "A", Requested: 3, Available: 2},
		inventoryevents.StockReleased{OrderID: "o1", Items: items},
		inventoryevents.StockRestocked{SKU: "A", Quantity: 5, Available: 7},
	} {
		t.Run(ev.EventType(), func(t *testing.T) {
			t.Parallel()
			envelopetest.CheckPublicEvent(t, r, ev)
		})
	}
}
