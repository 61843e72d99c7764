package inventoryevents_test

import (
	"testing"

	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/order/orderevents"
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
	inventoryevents.StockReserved{OrderID: "o1", Items: items, ShippingAddress: address},
	inventoryevents.StockReservationFailed{OrderID: "o1", SKU: "A", Requested: 3, Available: 2},
	inventoryevents.StockReleased{OrderID: "o1", Items: items},
	inventoryevents.StockRestocked{SKU: "A", Quantity: 5, Available: 7},
	inventoryevents.StockPartReserved{OrderID: "o1", Part: 1, Items: items},
	inventoryevents.StockPartFailed{OrderID: "o1", Part: 0, SKU: "A", Requested: 3, Available: 2},
	inventoryevents.StockPartReleased{OrderID: "o1", Part: 1, Items: items},
}

func TestEventsRoundTripThroughRegistry(t *testing.T) {
	t.Parallel()
	r := envelope.NewRegistry()
	inventoryevents.Register(r)
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
	eventschematest.Run(t, inventoryevents.Service, inventoryevents.Register, inventoryevents.Schemas, examples...)
}
