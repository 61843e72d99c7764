package order

import (
	"context"
	"errors"

	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/order/domain"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/consumer"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/choreo-dev/choreo/shipping/shippingevents"
)

// reactions are the order's consumers: it hears every step's outcome and
// every compensation.
func reactions(*eventstore.Store) []consumer.Config {
	return []consumer.Config{
		{Stream: streams.Payment, Handler: react, Subjects: []string{
			"payment.events.PaymentCompleted.>", "payment.events.PaymentFailed.>", "payment.events.PaymentRefunded.>"}},
		{Stream: streams.Inventory, Handler: react, Subjects: []string{
			"inventory.events.StockReserved.>", "inventory.events.StockReservationFailed.>", "inventory.events.StockReleased.>"}},
		{Stream: streams.Shipping, Handler: react, Subjects: []string{
			"shipping.events.ShipmentScheduled.>", "shipping.events.ShipmentFailed.>", "shipping.events.ShipmentCancelled.>"}},
	}
}

// react applies one saga event to its order.
func react(_ context.Context, tx *eventstore.Tx, env envelope.Envelope, ev envelope.Event) error {
	var orderID string
	var decide func(domain.Order) ([]envelope.Event, error)
	switch e := ev.(type) {
	case paymentevents.PaymentCompleted:
		orderID, decide = e.OrderID, func(o domain.Order) ([]envelope.Event, error) { return domain.OnPaymentCompleted(o, e) }
	case paymentevents.PaymentFailed:
		orderID, decide = e.OrderID, func(o domain.Order) ([]envelope.Event, error) { return domain.OnPaymentFailed(o, e) }
	case paymentevents.PaymentRefunded:
		orderID, decide = e.OrderID, func(o domain.Order) ([]envelope.Event, error) { return domain.OnPaymentRefunded(o, e) }
	case inventoryevents.StockReserved:
		orderID, decide = e.OrderID, func(o domain.Order) ([]envelope.Event, error) { return domain.OnStockReserved(o, e) }
	case inventoryevents.StockReservationFailed:
		orderID, decide = e.OrderID, func(o domain.Order) ([]envelope.Event, error) { return domain.OnStockReservationFailed(o, e) }
	case inventoryevents.StockReleased:
		orderID, decide = e.OrderID, func(o domain.Order) ([]envelope.Event, error) { return domain.OnStockReleased(o, e) }
	case shippingevents.ShipmentScheduled:
		orderID, decide = e.OrderID, func(o domain.Order) ([]envelope.Event, error) { return domain.OnShipmentScheduled(o, e) }
	case shippingevents.ShipmentFailed:
		orderID, decide = e.OrderID, func(o domain.Order) ([]envelope.Event, error) { return domain.OnShipmentFailed(o, e) }
	case shippingevents.ShipmentCancelled:
		orderID, decide = e.OrderID, func(o domain.Order) ([]envelope.Event, error) { return domain.OnShipmentCancelled(o, e) }
	default:
		return nil // not an event the order reacts to
	}
	meta := eventstore.Meta{CorrelationID: orderID, CausationID: env.ID}
	_, err := eventstore.Update(tx, orderAgg, orderID, meta, decide)
	if errors.Is(err, domain.ErrUnknownOrder) {
		// Every saga event follows its OrderPlaced: one that names an order
		// this service never placed is not something a retry can fix.
		return consumer.Permanent(err)
	}
	return err
}
