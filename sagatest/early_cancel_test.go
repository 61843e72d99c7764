package sagatest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/envelope"
)

// TestCancelArrivesFirst: an OrderCancelled that reaches payment, inventory
// and shipping before the events that would make them act leaves them
// never acting, whatever comes after. The test plays the order, payment and
// inventory services' part for an order X by publishing their events itself.
// (The order service dead-letters the payment and inventory events about an
// order it never placed; that is expected and not checked here.)
func TestCancelArrivesFirst(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	c := sagatest.NewClient(s.NC)
	deposit(t, c, "ghost", 10_000)
	restock(t, c, "phantom", 10)

	x := envelope.NewID()
	items := []orderevents.Item{{SKU: "phantom", Quantity: 2, UnitPriceCents: 1_000}}
	addr := sagatest.Addr("US")
	now := time.Now().UTC()

	cancelled := newEnvelope(t, orderevents.OrderCancelled{OrderID: x, Reason: orderevents.ReasonCustomerRequest}, "order", x)
	cancelled.Version = 2
	publishEnvelope(t, s.JS, "order.events.OrderCancelled."+x, cancelled)
	// Payment, inventory and shipping have all heard (and acknowledged) it.
	waitQuiet(t, s)

	paid := newEnvelope(t, paymentevents.PaymentCompleted{OrderID: x, PaymentID: envelope.NewID(), CustomerID: "ghost",
		AmountCents: 2_000, Items: items, ShippingAddress: addr}, "payment", x)
	publishEnvelope(t, s.JS, "payment.events.PaymentCompleted."+x, paid)
	reserved := newEnvelope(t, inventoryevents.StockReserved{OrderID: x, Items: items, ShippingAddress: addr}, "reservation", x)
	reserved.CausationID = paid.ID
	publishEnvelope(t, s.JS, "inventory.events.StockReserved."+x, reserved)
	placed := newEnvelope(t, orderevents.OrderPlaced{OrderID: x, CustomerID: "ghost", Items: items, TotalCents: 2_000,
		Currency: "USD", ShippingAddress: addr, PlacedAt: now, Deadline: now.Add(30 * time.Second)}, "order", x)
	publishEnvelope(t, s.JS, "order.events.OrderPlaced."+x, placed)
	waitQuiet(t, s)

	if p, err := c.Payment(t.Context(), x); !errors.Is(err, client.ErrNotFound) && (err != nil || p.Status == "charged") {
		t.Errorf("payment of a cancelled order: %+v (%v)", p, err)
	}
	wantBalance(t, c, "ghost", 10_000)
	wantStock(t, c, "phantom", 10, 0)
	wantShipment(t, c, x, "")
	checkInvariants(t, c) // the wallet and the stock of what the test did

	// And the stack still works for a real order.
	v := place(t, c, order("ghost", "phantom", 1, 1_000, "US"))
	waitStatus(t, c, v.OrderID, "completed")
	checkInvariants(t, c)
}
