// Package audit is a fifth service, built on the kernel alone, as the guide
// docs/writing-a-service.md walks through: it hears every saga event of every
// order and keeps each order's trail — which service said what, when — for
// auditors, on the query audit.trail.
//
// It lives here, not beside the four, to show what adding a service takes:
// this folder and a Procfile line (`audit: bin/audit`). Nothing in shared/,
// sagatest/ or the other services changes.
package audit

import (
	"context"
	"time"

	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/endpoint"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/saga"
	"github.com/choreo-dev/choreo/shared/service"
	"github.com/choreo-dev/choreo/shipping/shippingevents"
)

// Service is the audit service's name: its subjects are audit.*.
const Service = "audit"

// Recorded is the audit's own (private) event: one saga event it heard.
type Recorded struct {
	OrderID    string    `json:"order_id"`
	EventID    string    `json:"event_id"`
	Type       string    `json:"type"`
	Service    string    `json:"service"`
	OccurredAt time.Time `json:"occurred_at"`
}

func (Recorded) EventType() string { return "Recorded" }

// Trail is an order's audit trail: what audit.trail answers.
type Trail struct {
	OrderID string     `json:"order_id"`
	Entries []Recorded `json:"entries"`
}

// trailAgg is one order's trail, as an event-sourced aggregate of its own.
var trailAgg = eventstore.Aggregate[Trail]{
	Type: "trail",
	New:  func(id string) Trail { return Trail{OrderID: id, Entries: []Recorded{}} },
	Evolve: func(t Trail, e envelope.Event) Trail {
		if r, ok := e.(Recorded); ok {
			t.Entries = append(t.Entries, r)
		}
		return t
	},
}

// Saga is the audit's part in the order saga: it hears every saga event of
// the four services and emits nothing.
var Saga = saga.Service{
	Name: Service,
	Reactions: []saga.Reaction{
		saga.On(record[orderevents.OrderPlaced]),
		saga.On(record[orderevents.OrderPaid]),
		saga.On(record[orderevents.OrderReserved]),
		saga.On(record[orderevents.OrderCompleted]),
		saga.On(record[orderevents.OrderCancelled]),
		saga.On(record[paymentevents.PaymentCompleted]),
		saga.On(record[paymentevents.PaymentFailed]),
		saga.On(record[paymentevents.PaymentRefunded]),
		saga.On(record[inventoryevents.StockReserved]),
		saga.On(record[inventoryevents.StockReservationFailed]),
		saga.On(record[inventoryevents.StockReleased]),
		saga.On(record[shippingevents.ShipmentScheduled]),
		saga.On(record[shippingevents.ShipmentFailed]),
		saga.On(record[shippingevents.ShipmentCancelled]),
	},
}

// record appends the event to its order's trail. The consumer's inbox makes
// a redelivery a no-op, so each event is on the trail once.
func record[E envelope.Correlated](_ context.Context, tx *eventstore.Tx, env envelope.Envelope, e E) error {
	id := e.Correlation()
	_, err := eventstore.Update(tx, trailAgg, id, eventstore.Meta{CorrelationID: id, CausationID: env.ID},
		func(Trail) ([]envelope.Event, error) {
			return []envelope.Event{Recorded{OrderID: id, EventID: env.ID, Type: env.Type,
				Service: registry.Publisher(env.Type), OccurredAt: env.OccurredAt}}, nil
		})
	return err
}

// Registry knows the audit's own event and every event it hears.
func Registry() *envelope.Registry {
	r := envelope.NewRegistry()
	envelope.Register[Recorded](r)
	orderevents.Register(r)
	paymentevents.Register(r)
	inventoryevents.Register(r)
	shippingevents.Register(r)
	return r
}

// registry is the one the service runs with: it says who publishes what.
var registry = Registry()

const bucketTrails = "trails"

// Spec describes the audit service to the service host.
func Spec() service.Spec {
	return service.Spec{
		Saga:     Saga,
		Registry: registry,
		Projections: []eventstore.Projection{
			eventstore.StateView(trailAgg, bucketTrails, func(t Trail, _ uint64, _ envelope.Envelope) (any, bool) { return t, true }),
		},
		Endpoints: func(st *eventstore.Store) []endpoint.Endpoint {
			return []endpoint.Endpoint{
				endpoint.New("audit.trail", service.ViewQuery[service.ByOrderID, Trail](st, bucketTrails, "audit trail")),
			}
		},
	}
}
