package domain

import (
	"fmt"

	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shipping/shippingevents"
)

// The reactions below decide what an order does on hearing another service's
// event. Each returns ErrUnknownOrder if o was never placed, and is
// idempotent: given the state after its own events, it returns none.

// OnPaymentCompleted moves a pending order to paid.
func OnPaymentCompleted(o Order, e paymentevents.PaymentCompleted) ([]envelope.Event, error) {
	if !o.Placed() {
		return nil, unknown(o, e)
	}
	return advance(o, StatusPaid, e.PaymentID, ""), nil
}

// OnStockReserved moves a pending or paid order to reserved. A pending order
// is first recorded as paid: inventory reserves only after a payment.
func OnStockReserved(o Order, e inventoryevents.StockReserved) ([]envelope.Event, error) {
	if !o.Placed() {
		return nil, unknown(o, e)
	}
	return advance(o, StatusReserved, "", ""), nil
}

// OnShipmentScheduled completes a non-terminal order, first recording the
// payment and the reservation if it had not heard of them: shipping schedules
// only after a reservation, which comes only after a payment.
func OnShipmentScheduled(o Order, e shippingevents.ShipmentScheduled) ([]envelope.Event, error) {
	if !o.Placed() {
		return nil, unknown(o, e)
	}
	return advance(o, StatusCompleted, "", e.ShipmentID), nil
}

// OnPaymentFailed cancels a non-terminal order with ReasonPaymentFailed.
func OnPaymentFailed(o Order, e paymentevents.PaymentFailed) ([]envelope.Event, error) {
	if !o.Placed() {
		return nil, unknown(o, e)
	}
	return fail(o, StatusPending, orderevents.ReasonPaymentFailed), nil
}

// OnStockReservationFailed cancels a non-terminal order with
// ReasonInsufficientStock, first recording the payment it implies.
func OnStockReservationFailed(o Order, e inventoryevents.StockReservationFailed) ([]envelope.Event, error) {
	if !o.Placed() {
		return nil, unknown(o, e)
	}
	return fail(o, StatusPaid, orderevents.ReasonInsufficientStock), nil
}

// OnShipmentFailed cancels a non-terminal order with ReasonShippingFailed,
// first recording the payment and the reservation it implies.
func OnShipmentFailed(o Order, e shippingevents.ShipmentFailed) ([]envelope.Event, error) {
	if !o.Placed() {
		return nil, unknown(o, e)
	}
	return fail(o, StatusReserved, orderevents.ReasonShippingFailed), nil
}

// OnPaymentRefunded records the payment step as refunded, once.
func OnPaymentRefunded(o Order, e paymentevents.PaymentRefunded) ([]envelope.Event, error) {
	return compensate(o, e, PaymentStep)
}

// OnStockReleased records the inventory step as released, once.
func OnStockReleased(o Order, e inventoryevents.StockReleased) ([]envelope.Event, error) {
	return compensate(o, e, InventoryStep)
}

// OnShipmentCancelled records the shipping step as cancelled, once.
func OnShipmentCancelled(o Order, e shippingevents.ShipmentCancelled) ([]envelope.Event, error) {
	return compensate(o, e, ShippingStep)
}

// rank orders the non-terminal statuses along the happy path.
func rank(status string) int {
	switch status {
	case StatusPending:
		return 1
	case StatusPaid:
		return 2
	case StatusReserved:
		return 3
	case StatusCompleted:
		return 4
	}
	return 0
}

// advance returns the events that take a non-terminal order to status, one
// status at a time; a terminal order or one already there gets none.
func advance(o Order, status, paymentID, shipmentID string) []envelope.Event {
	if o.Terminal() {
		return nil
	}
	var events []envelope.Event
	for r := rank(o.Status) + 1; r <= rank(status); r++ {
		switch r {
		case rank(StatusPaid):
			events = append(events, orderevents.OrderPaid{OrderID: o.OrderID, PaymentID: paymentID})
		case rank(StatusReserved):
			events = append(events, orderevents.OrderReserved{OrderID: o.OrderID})
		case rank(StatusCompleted):
			events = append(events, orderevents.OrderCompleted{OrderID: o.OrderID, ShipmentID: shipmentID})
		}
	}
	return events
}

// fail cancels a non-terminal order for reason after advancing it to implied,
// the status that the failing step's being attempted proves. On an order
// already cancelled for another reason it records the step's failure, once.
func fail(o Order, implied, reason string) []envelope.Event {
	step := failedStep(reason)
	switch o.Status {
	case StatusCompleted:
		return nil
	case StatusCancelled:
		if o.Steps.Get(step) != StepPending {
			return nil
		}
		return []envelope.Event{FailureRecorded{OrderID: o.OrderID, Step: step}}
	}
	return append(advance(o, implied, "", ""), cancelled(o, reason, ""))
}

// compensate records a step's compensation, once.
func compensate(o Order, e envelope.Event, step string) ([]envelope.Event, error) {
	if !o.Placed() {
		return nil, unknown(o, e)
	}
	if o.Steps.Get(step) == compensated(step) {
		return nil, nil
	}
	return []envelope.Event{CompensationRecorded{OrderID: o.OrderID, Step: step}}, nil
}

func unknown(o Order, e envelope.Event) error {
	return fmt.Errorf("%s for %s: %w", e.EventType(), o.OrderID, ErrUnknownOrder)
}
