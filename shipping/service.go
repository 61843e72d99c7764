// Package shipping is the shipping service: it schedules the shipment of each
// reserved order to the countries it serves, and cancels it on cancellation.
package shipping

import (
	"context"
	"strings"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/consumer"
	"github.com/choreo-dev/choreo/shared/endpoint"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/service"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/choreo-dev/choreo/shipping/domain"
	"github.com/choreo-dev/choreo/shipping/shippingevents"
)

var shipmentAgg = eventstore.Aggregate[domain.Shipment]{
	Type: domain.ShipmentAggregate, New: domain.NewShipment, Evolve: domain.EvolveShipment,
}

// Registry knows the shipping service's own events and the events it consumes.
func Registry() *envelope.Registry {
	r := envelope.NewRegistry()
	shippingevents.Register(r)
	domain.Register(r)
	inventoryevents.Register(r)
	orderevents.Register(r)
	return r
}

// ShipmentView is shipping.get's reply, the contract's type, defined once
// in package client.
type ShipmentView = client.ShipmentView

const bucketShipments = "shipments"

// Spec describes the shipping service to the service host; countries are
// the ISO codes it ships to (CHOREO_SHIPPING_COUNTRIES).
func Spec(countries []string) service.Spec {
	served := make(map[string]bool, len(countries))
	for _, c := range countries {
		served[strings.ToUpper(c)] = true
	}
	return service.Spec{
		Name:     shippingevents.Service,
		Stream:   streams.Shipping,
		Registry: Registry(),
		Projections: []eventstore.Projection{
			eventstore.StateView(shipmentAgg, bucketShipments, func(s domain.Shipment, _ uint64, _ envelope.Envelope) (any, bool) {
				return ShipmentView{OrderID: s.OrderID, ShipmentID: s.ShipmentID, Status: s.Status,
					Carrier: s.Carrier, TrackingNumber: s.TrackingNumber}, s.Decided()
			}),
		},
		Endpoints: func(st *eventstore.Store) []endpoint.Endpoint {
			return []endpoint.Endpoint{
				endpoint.New("shipping.get", service.ViewQuery[service.ByOrderID, ShipmentView](st, bucketShipments, "shipment")),
			}
		},
		Consumers: func(*eventstore.Store) []consumer.Config {
			r := reactor{served: served}
			return []consumer.Config{
				{Stream: streams.Inventory, Handler: r.react, Subjects: []string{"inventory.events.StockReserved.>"}},
				{Stream: streams.Order, Handler: r.react, Subjects: []string{"order.events.OrderCancelled.>"}},
			}
		},
	}
}

type reactor struct{ served map[string]bool }

// react schedules on StockReserved and cancels on OrderCancelled.
func (r reactor) react(_ context.Context, tx *eventstore.Tx, env envelope.Envelope, ev envelope.Event) error {
	var orderID string
	var decide func(domain.Shipment) ([]envelope.Event, error)
	switch e := ev.(type) {
	case inventoryevents.StockReserved:
		orderID = e.OrderID
		decide = func(s domain.Shipment) ([]envelope.Event, error) {
			return domain.OnStockReserved(s, e, r.served, envelope.NewID()), nil
		}
	case orderevents.OrderCancelled:
		orderID = e.OrderID
		decide = func(s domain.Shipment) ([]envelope.Event, error) { return domain.OnOrderCancelled(s, e), nil }
	default:
		return nil
	}
	meta := eventstore.Meta{CorrelationID: orderID, CausationID: env.ID}
	_, err := eventstore.Update(tx, shipmentAgg, orderID, meta, decide)
	return err
}
