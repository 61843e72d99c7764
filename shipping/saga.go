package shipping

import (
	"context"

	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/saga"
	"github.com/choreo-dev/choreo/shipping/domain"
	"github.com/choreo-dev/choreo/shipping/shippingevents"
)

// Saga is shipping's part in the order saga (docs/contract.md, section 4),
// for the countries it serves:
//
//	on StockReserved   schedule iff the country is served  → ShipmentScheduled | ShipmentFailed
//	on OrderCancelled  cancel a scheduled shipment, once   → ShipmentCancelled
//
// A scheduled shipment is an effect that ShipmentCancelled gives back.
func Saga(s Settings) saga.Service {
	sh := shipper{served: make(map[string]bool, len(s.Countries))}
	for _, c := range s.Countries {
		sh.served[c] = true
	}
	return saga.Service{
		Name: shippingevents.Service,
		Publishes: []saga.Event{
			saga.Publishes[shippingevents.ShipmentScheduled](saga.Effect, saga.CompensatedBy(shippingevents.ShipmentCancelled{})),
			saga.Publishes[shippingevents.ShipmentFailed](saga.Failure),
			saga.Publishes[shippingevents.ShipmentCancelled](saga.Compensation),
		},
		Reactions: []saga.Reaction{
			saga.On(sh.schedule, shippingevents.ShipmentScheduled{}, shippingevents.ShipmentFailed{}),
			saga.On(cancel, shippingevents.ShipmentCancelled{}),
		},
	}
}

type shipper struct{ served map[string]bool }

// schedule decides a reserved order's shipment.
func (sh shipper) schedule(_ context.Context, tx *eventstore.Tx, env envelope.Envelope, e inventoryevents.StockReserved) error {
	meta := eventstore.Meta{CorrelationID: e.OrderID, CausationID: env.ID}
	_, err := eventstore.Update(tx, shipmentAgg, e.OrderID, meta, func(s domain.Shipment) ([]envelope.Event, error) {
		return domain.OnStockReserved(s, e, sh.served, envelope.NewID()), nil
	})
	return err
}

// cancel cancels a scheduled shipment, once; a cancellation heard first is
// remembered so that nothing is ever scheduled.
func cancel(_ context.Context, tx *eventstore.Tx, env envelope.Envelope, e orderevents.OrderCancelled) error {
	meta := eventstore.Meta{CorrelationID: e.OrderID, CausationID: env.ID}
	_, err := eventstore.Update(tx, shipmentAgg, e.OrderID, meta, func(s domain.Shipment) ([]envelope.Event, error) {
		return domain.OnOrderCancelled(s, e), nil
	})
	return err
}
