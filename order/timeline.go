package order

import (
	"encoding/binary"
	"encoding/json"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/order/domain"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/choreo-dev/choreo/shipping/shippingevents"
)

// The saga's timeline: every public event of an order's saga, the order's
// own and those it heard from payment, inventory and shipping (it hears
// every saga event: see saga.go), in one read model that order.timeline
// answers from. It is a projection of the order's log and, as a consumed
// projection, of the events it handled; the kernel keeps those, so
// -rebuild-projections restores it like the other views. Ended sagas stay.
const bucketTimeline = "timeline" // order id 0x00 occurred at(8) event id -> client.TimelineEvent JSON

// timeline is the projection. watch, if set, also reports what the
// timeline shows (sagas started and ended, compensations done).
type timeline struct {
	reg   *envelope.Registry
	watch *sagaWatch
}

func (timeline) Buckets() []string { return []string{bucketTimeline} }

func (p timeline) Apply(tx *eventstore.Tx, e envelope.Envelope, ev envelope.Event) error {
	publisher := p.reg.Publisher(e.Type)
	if publisher == "" || e.CorrelationID == "" {
		return nil // private, or no saga's
	}
	recorded := tx.Now() // a heard event: when it was handled
	if publisher == orderevents.Service {
		recorded = e.OccurredAt // an own event is recorded as it occurs
	}
	entry := client.TimelineEvent{
		ID: e.ID, Type: e.Type, Service: publisher, Subject: streams.Subject(publisher, e.Type, e.AggregateID),
		OccurredAt: e.OccurredAt, RecordedAt: recorded, CausationID: e.CausationID,
	}
	body, err := json.Marshal(entry)
	if err != nil {
		return err
	}
	if err := tx.ViewBucket(bucketTimeline).Put(timelineKey(e.CorrelationID, e), body); err != nil {
		return err
	}
	if p.watch != nil && !tx.Rebuilding() {
		return p.watch.saw(tx, e, ev)
	}
	return nil
}

func timelineKey(orderID string, e envelope.Envelope) []byte {
	k := make([]byte, 0, len(orderID)+9+len(e.ID))
	k = append(k, orderID...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint64(k, uint64(e.OccurredAt.UnixNano()))
	return append(k, e.ID...)
}

// readTimeline returns an order's timeline events, oldest first.
func readTimeline(tx *eventstore.Tx, orderID string) ([]client.TimelineEvent, error) {
	out := []client.TimelineEvent{}
	for _, v := range tx.ViewBucket(bucketTimeline).Scan(eventstore.Range{Prefix: append([]byte(orderID), 0)}) {
		var e client.TimelineEvent
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// The saga's events, by what they tell the order service.
var (
	typPaymentCompleted  = paymentevents.PaymentCompleted{}.EventType()
	typPaymentFailed     = paymentevents.PaymentFailed{}.EventType()
	typPaymentRefunded   = paymentevents.PaymentRefunded{}.EventType()
	typStockReserved     = inventoryevents.StockReserved{}.EventType()
	typStockFailed       = inventoryevents.StockReservationFailed{}.EventType()
	typStockReleased     = inventoryevents.StockReleased{}.EventType()
	typShipmentScheduled = shippingevents.ShipmentScheduled{}.EventType()
	typShipmentFailed    = shippingevents.ShipmentFailed{}.EventType()
	typShipmentCancelled = shippingevents.ShipmentCancelled{}.EventType()
)

// waitingOn names the service the saga waits for, given the order's status
// and the types of the events heard so far; "" when it waits for nothing.
//
// An open saga waits for the service whose step comes next (or for the
// order itself, between hearing a step's outcome and deciding). A cancelled
// one waits for every service whose effect it heard of until it hears the
// compensation. An effect not heard of is not waited for: a service that
// hears the cancellation before acting never acts and says nothing, and one
// that acted is heard of (and then waited for) when its event arrives.
func waitingOn(status string, heard map[string]bool) string {
	switch status {
	case domain.StatusCompleted:
		return ""
	case domain.StatusCancelled:
		switch {
		case heard[typPaymentCompleted] && !heard[typPaymentRefunded]:
			return paymentevents.Service
		case heard[typStockReserved] && !heard[typStockReleased]:
			return inventoryevents.Service
		case heard[typShipmentScheduled] && !heard[typShipmentCancelled]:
			return shippingevents.Service
		}
		return ""
	}
	switch {
	case heard[typPaymentFailed] || heard[typStockFailed] || heard[typShipmentFailed] || heard[typShipmentScheduled]:
		return orderevents.Service // its own decision, normally in the same transaction
	case !heard[typPaymentCompleted] && !heard[typStockReserved]:
		return paymentevents.Service
	case !heard[typStockReserved]:
		return inventoryevents.Service
	}
	return shippingevents.Service
}

// types returns the set of event types in events.
func types(events []client.TimelineEvent) map[string]bool {
	m := make(map[string]bool, len(events))
	for _, e := range events {
		m[e.Type] = true
	}
	return m
}

// sagaTimeline is an order's timeline with where it stands: what
// order.timeline answers. ok is false for an unknown order.
func sagaTimeline(tx *eventstore.Tx, orderID string) (t client.Timeline, ok bool, err error) {
	v, ok, err := getView(tx, orderID)
	if err != nil || !ok {
		return t, ok, err
	}
	events, err := readTimeline(tx, orderID)
	if err != nil {
		return t, false, err
	}
	t = client.Timeline{OrderID: orderID, Status: v.Status, Events: events}
	if w := waitingOn(v.Status, types(events)); w != "" {
		t.WaitingOn = &w
	}
	return t, true, nil
}
