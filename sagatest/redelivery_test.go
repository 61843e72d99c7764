package sagatest_test

import (
	"encoding/json"
	"testing"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/envelope"
)

// TestRedelivery publishes saga events a second time, as a relay that lost
// its PubAck does after JetStream's duplicate window, or as a service
// replaying its outbox after a crash: every handler must be idempotent.
func TestRedelivery(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})

	// republish stores the last message on subject again under a new
	// Nats-Msg-Id; with newEventID it also gets a new envelope id (the same
	// fact announced twice), so only the domain's idempotency can tell.
	republish := func(t *testing.T, stream, subject string, newEventID bool) {
		t.Helper()
		m := lastMsg(t, s.JS, stream, subject)
		body := m.Data
		if newEventID {
			env, err := envelope.Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			env.ID = envelope.NewID()
			if body, err = json.Marshal(env); err != nil {
				t.Fatal(err)
			}
		}
		publish(t, s.JS, subject, body, envelope.NewID()+"-again")
	}

	for _, newEventID := range []bool{false, true} {
		name := map[bool]string{false: "same event", true: "same fact under a new event id"}[newEventID]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := sagatest.NewClient(s.NC)
			cust, sku := "twice-"+map[bool]string{false: "a", true: "b"}[newEventID], "dup-"+map[bool]string{false: "a", true: "b"}[newEventID]
			deposit(t, c, cust, 10_000)
			restock(t, c, sku, 10)

			done := place(t, c, order(cust, sku, 3, 1_000, "US"))
			before := waitStatus(t, c, done.OrderID, "completed")
			waitQuiet(t, s)
			pay, err := c.Payment(t.Context(), done.OrderID)
			if err != nil {
				t.Fatal(err)
			}
			ship, err := c.Shipment(t.Context(), done.OrderID)
			if err != nil {
				t.Fatal(err)
			}

			republish(t, "ORDER_EVENTS", "order.events.OrderPlaced."+done.OrderID, newEventID)
			republish(t, "PAYMENT_EVENTS", "payment.events.PaymentCompleted."+done.OrderID, newEventID)
			republish(t, "INVENTORY_EVENTS", "inventory.events.StockReserved."+done.OrderID, newEventID)
			republish(t, "SHIPPING_EVENTS", "shipping.events.ShipmentScheduled."+done.OrderID, newEventID)
			waitQuiet(t, s)
			checkInvariants(t, c)
			wantBalance(t, c, cust, 7_000)
			wantStock(t, c, sku, 7, 3)
			if p, err := c.Payment(t.Context(), done.OrderID); err != nil || p != pay {
				t.Errorf("payment %+v (%v) after redelivery, was %+v", p, err, pay)
			}
			if sh, err := c.Shipment(t.Context(), done.OrderID); err != nil || sh != ship {
				t.Errorf("shipment %+v (%v) after redelivery, was %+v", sh, err, ship)
			}
			if after, err := c.Get(t.Context(), done.OrderID); err != nil || after.Version != before.Version || after.Status != "completed" {
				t.Errorf("order %+v (%v) after redelivery, was %+v", after, err, before)
			}

			// A cancelled order: its cancellation and compensations heard
			// again give nothing back twice.
			failed := place(t, c, order(cust, sku, 20, 100, "US")) // more than the stock
			waitSteps(t, c, failed.OrderID, "cancelled", "insufficient_stock",
				client.Steps{Payment: "refunded", Inventory: "failed", Shipping: "pending"})
			waitQuiet(t, s)
			beforeCancel, err := c.Get(t.Context(), failed.OrderID)
			if err != nil {
				t.Fatal(err)
			}
			republish(t, "ORDER_EVENTS", "order.events.OrderCancelled."+failed.OrderID, newEventID)
			republish(t, "ORDER_EVENTS", "order.events.OrderPlaced."+failed.OrderID, newEventID)
			republish(t, "PAYMENT_EVENTS", "payment.events.PaymentCompleted."+failed.OrderID, newEventID)
			republish(t, "PAYMENT_EVENTS", "payment.events.PaymentRefunded."+failed.OrderID, newEventID)
			republish(t, "INVENTORY_EVENTS", "inventory.events.StockReservationFailed."+failed.OrderID, newEventID)
			waitQuiet(t, s)
			checkInvariants(t, c)
			wantBalance(t, c, cust, 7_000)
			wantStock(t, c, sku, 7, 3)
			wantPayment(t, c, failed.OrderID, "refunded")
			if after, err := c.Get(t.Context(), failed.OrderID); err != nil || after.Version != beforeCancel.Version {
				t.Errorf("order %+v (%v) after redelivery, was %+v", after, err, beforeCancel)
			}
			if n := count(eventTypes(history(t, c, failed.OrderID)), "OrderCancelled"); n != 1 {
				t.Errorf("%d OrderCancelled, want 1", n)
			}
		})
	}
}
