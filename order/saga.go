package order

import (
	"context"
	"errors"

	"github.com/choreo-dev/choreo/order/domain"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/consumer"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/saga"
)

// Saga is the order's part in the order saga (docs/contract.md, section 4).
// order.place opens a saga with OrderPlaced; the order then hears every
// step's outcome and every compensation, and alone decides the order's fate:
//
//	on PaymentCompleted        → OrderPaid
//	on StockReserved           → OrderReserved (and OrderPaid, which it implies)
//	on ShipmentScheduled       → OrderCompleted (and what it implies)
//	on any …Failed             → OrderCancelled{reason}
//	on PaymentRefunded, StockReleased, ShipmentCancelled  records the compensation
//
// order.cancel and the deadline passing cancel too (see endpoints.go and
// deadlines.go). OrderCancelled reaches every service that took an effect.
var Saga = saga.Service{
	Name: orderevents.Service,
	Publishes: []saga.Event{
		saga.Publishes[orderevents.OrderPlaced](saga.Start),
		saga.Publishes[orderevents.OrderPaid](saga.Step, saga.Terminal()),
		saga.Publishes[orderevents.OrderReserved](saga.Step, saga.Terminal()),
		saga.Publishes[orderevents.OrderCompleted](saga.Complete, saga.Terminal()),
		saga.Publishes[orderevents.OrderCancelled](saga.Cancel),
	},
	Reactions: []saga.Reaction{
		saga.On(react(domain.OnPaymentCompleted), paid...),
		saga.On(react(domain.OnStockReserved), reserved...),
		saga.On(react(domain.OnShipmentScheduled), completed...),
		saga.On(react(domain.OnPaymentFailed), orderevents.OrderCancelled{}),
		saga.On(react(domain.OnStockReservationFailed), append(paid, orderevents.OrderCancelled{})...),
		saga.On(react(domain.OnShipmentFailed), append(reserved, orderevents.OrderCancelled{})...),
		saga.On(react(domain.OnPaymentRefunded)),
		saga.On(react(domain.OnStockReleased)),
		saga.On(react(domain.OnShipmentCancelled)),
	},
}

// What a later step's success implies: stock is reserved only after a
// payment, a shipment scheduled only after a reservation.
var (
	paid      = []envelope.Event{orderevents.OrderPaid{}}
	reserved  = []envelope.Event{orderevents.OrderPaid{}, orderevents.OrderReserved{}}
	completed = []envelope.Event{orderevents.OrderPaid{}, orderevents.OrderReserved{}, orderevents.OrderCompleted{}}
)

// react turns a pure reaction of the order domain into a handler: load the
// event's order, decide, append.
func react[E envelope.Correlated](decide func(domain.Order, E) ([]envelope.Event, error)) saga.Handler[E] {
	return func(_ context.Context, tx *eventstore.Tx, env envelope.Envelope, e E) error {
		id := e.Correlation()
		meta := eventstore.Meta{CorrelationID: id, CausationID: env.ID}
		_, err := eventstore.Update(tx, orderAgg, id, meta, func(o domain.Order) ([]envelope.Event, error) { return decide(o, e) })
		if errors.Is(err, domain.ErrUnknownOrder) {
			// Every saga event follows its OrderPlaced: one that names an
			// order this service never placed is not something a retry can
			// fix.
			return consumer.Permanent(err)
		}
		return err
	}
}
