package domain_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/order/domain"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/envelope/envelopetest"
	"github.com/choreo-dev/choreo/shipping/shippingevents"
)

// reaction is one event from another service and the order's reaction to it.
type reaction struct {
	name  string
	event envelope.Event
	react func(domain.Order) ([]envelope.Event, error)
}

var (
	paymentCompleted = paymentevents.PaymentCompleted{OrderID: "o1", PaymentID: "p1", CustomerID: "c1", AmountCents: 300, Items: items, ShippingAddress: address}
	paymentFailed    = paymentevents.PaymentFailed{OrderID: "o1", PaymentID: "p1", CustomerID: "c1", AmountCents: 300, Reason: paymentevents.ReasonInsufficientFunds}
	paymentRefunded  = paymentevents.PaymentRefunded{OrderID: "o1", PaymentID: "p1", CustomerID: "c1", AmountCents: 300}
	stockReserved    = inventoryevents.StockReserved{OrderID: "o1", Items: items, ShippingAddress: address}
	stockFailed      = inventoryevents.StockReservationFailed{OrderID: "o1", SKU: "A", Requested: 2, Available: 1}
	stockReleased    = inventoryevents.StockReleased{OrderID: "o1", Items: items}
	shipScheduled    = shippingevents.ShipmentScheduled{OrderID: "o1", ShipmentID: "s1", Carrier: "UPS", TrackingNumber: "CH1", Country: "US"}
	shipFailed       = shippingevents.ShipmentFailed{OrderID: "o1", ShipmentID: "s1", Reason: shippingevents.ReasonUnsupportedDestination, Country: "US"}
	shipCancelled    = shippingevents.ShipmentCancelled{OrderID: "o1", ShipmentID: "s1"}
)

func on[E envelope.Event](e E, f func(domain.Order, E) ([]envelope.Event, error)) reaction {
	return reaction{name: e.EventType(), event: e, react: func(o domain.Order) ([]envelope.Event, error) { return f(o, e) }}
}

var (
	onPaymentCompleted = on(paymentCompleted, domain.OnPaymentCompleted)
	onPaymentFailed    = on(paymentFailed, domain.OnPaymentFailed)
	onPaymentRefunded  = on(paymentRefunded, domain.OnPaymentRefunded)
	onStockReserved    = on(stockReserved, domain.OnStockReserved)
	onStockFailed      = on(stockFailed, domain.OnStockReservationFailed)
	onStockReleased    = on(stockReleased, domain.OnStockReleased)
	onShipScheduled    = on(shipScheduled, domain.OnShipmentScheduled)
	onShipFailed       = on(shipFailed, domain.OnShipmentFailed)
	onShipCancelled    = on(shipCancelled, domain.OnShipmentCancelled)
	allReactions       = []reaction{onPaymentCompleted, onPaymentFailed, onPaymentRefunded, onStockReserved,
		onStockFailed, onStockReleased, onShipScheduled, onShipFailed, onShipCancelled}
)

func events(e ...envelope.Event) []envelope.Event { return e }

func TestReactions(t *testing.T) {
	t.Parallel()
	var (
		pending   = []envelope.Event{placed}
		paidO     = []envelope.Event{placed, paid}
		reservedO = []envelope.Event{placed, paid, reserved}
		completeO = []envelope.Event{placed, paid, reserved, completed}
		byCust    = []envelope.Event{placed, cancelledFor(orderevents.ReasonCustomerRequest)}
		paidNoID  = orderevents.OrderPaid{OrderID: "o1"}
	)
	compensation := func(step string) []envelope.Event {
		return events(domain.CompensationRecorded{OrderID: "o1", Step: step})
	}
	failure := func(step string) []envelope.Event {
		return events(domain.FailureRecorded{OrderID: "o1", Step: step})
	}
	for _, tc := range []struct {
		name    string
		history []envelope.Event
		r       reaction
		want    []envelope.Event
	}{
		// Successes move a non-terminal order forward, filling in the steps they imply.
		{"paid on pending", pending, onPaymentCompleted, events(paid)},
		{"paid on paid", paidO, onPaymentCompleted, nil},
		{"paid on reserved", reservedO, onPaymentCompleted, nil},
		{"paid on completed", completeO, onPaymentCompleted, nil},
		{"paid on cancelled", byCust, onPaymentCompleted, nil},
		{"reserved on pending", pending, onStockReserved, events(paidNoID, reserved)},
		{"reserved on paid", paidO, onStockReserved, events(reserved)},
		{"reserved on reserved", reservedO, onStockReserved, nil},
		{"reserved on completed", completeO, onStockReserved, nil},
		{"reserved on cancelled", byCust, onStockReserved, nil},
		{"scheduled on pending", pending, onShipScheduled, events(paidNoID, reserved, completed)},
		{"scheduled on paid", paidO, onShipScheduled, events(reserved, completed)},
		{"scheduled on reserved", reservedO, onShipScheduled, events(completed)},
		{"scheduled on completed", completeO, onShipScheduled, nil},
		{"scheduled on cancelled", byCust, onShipScheduled, nil},
		// Failures cancel a non-terminal order, after the steps they imply.
		{"payment failed on pending", pending, onPaymentFailed, events(cancelledFor(orderevents.ReasonPaymentFailed))},
		{"payment failed on cancelled", byCust, onPaymentFailed, failure(domain.PaymentStep)},
		{"payment failed on payment failed", append(pending, cancelledFor(orderevents.ReasonPaymentFailed)), onPaymentFailed, nil},
		{"stock failed on pending", pending, onStockFailed, events(paidNoID, cancelledFor(orderevents.ReasonInsufficientStock))},
		{"stock failed on paid", paidO, onStockFailed, events(cancelledFor(orderevents.ReasonInsufficientStock))},
		{"stock failed on cancelled", byCust, onStockFailed, failure(domain.InventoryStep)},
		{"stock failed on stock failed", append(paidO, cancelledFor(orderevents.ReasonInsufficientStock)), onStockFailed, nil},
		{"shipping failed on pending", pending, onShipFailed, events(paidNoID, reserved, cancelledFor(orderevents.ReasonShippingFailed))},
		{"shipping failed on paid", paidO, onShipFailed, events(reserved, cancelledFor(orderevents.ReasonShippingFailed))},
		{"shipping failed on reserved", reservedO, onShipFailed, events(cancelledFor(orderevents.ReasonShippingFailed))},
		{"shipping failed on cancelled", byCust, onShipFailed, failure(domain.ShippingStep)},
		{"shipping failed on completed", completeO, onShipFailed, nil},
		// Compensations are recorded once.
		{"refunded", byCust, onPaymentRefunded, compensation(domain.PaymentStep)},
		{"refunded twice", append(byCust, compensation(domain.PaymentStep)...), onPaymentRefunded, nil},
		{"released", byCust, onStockReleased, compensation(domain.InventoryStep)},
		{"released twice", append(byCust, compensation(domain.InventoryStep)...), onStockReleased, nil},
		{"shipment cancelled", byCust, onShipCancelled, compensation(domain.ShippingStep)},
		{"shipment cancelled twice", append(byCust, compensation(domain.ShippingStep)...), onShipCancelled, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := order(tc.history...)
			got, err := tc.r.react(o)
			if err != nil {
				t.Fatal(err)
			}
			envelopetest.Equal(t, "events", got, tc.want)
			// Idempotent: heard again after its own events, it does nothing.
			again, err := tc.r.react(envelopetest.Fold(o, domain.EvolveOrder, got...))
			if err != nil {
				t.Fatal(err)
			}
			envelopetest.Equal(t, "events on redelivery", again, []envelope.Event(nil))
		})
	}
}

func TestReactionsToUnknownOrder(t *testing.T) {
	t.Parallel()
	for _, r := range allReactions {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			if _, err := r.react(order()); !errors.Is(err, domain.ErrUnknownOrder) {
				t.Fatalf("err = %v, want ErrUnknownOrder", err)
			}
		})
	}
}

func TestStepsAfterCompensation(t *testing.T) {
	t.Parallel()
	o := order(placed, paid, reserved, cancelledFor(orderevents.ReasonTimeout))
	for _, r := range []reaction{onShipFailed, onStockReleased, onPaymentRefunded, onStockReleased, onPaymentRefunded} {
		got, err := r.react(o)
		if err != nil {
			t.Fatal(err)
		}
		o = envelopetest.Fold(o, domain.EvolveOrder, got...)
	}
	envelopetest.Equal(t, "steps", o.Steps, domain.Steps{Payment: domain.StepRefunded, Inventory: domain.StepReleased, Shipping: domain.StepFailed})
	envelopetest.Equal(t, "status", o.Status, domain.StatusCancelled)
	envelopetest.Equal(t, "reason", o.CancelReason, orderevents.ReasonTimeout)
}

// TestSuccessesInAnyOrder delivers the three success events in every order,
// each twice, and checks the order completes once with every step recorded.
func TestSuccessesInAnyOrder(t *testing.T) {
	t.Parallel()
	successes := []reaction{onPaymentCompleted, onStockReserved, onShipScheduled}
	for _, perm := range permutations(len(successes)) {
		var name string
		for _, i := range perm {
			name += successes[i].name[:4]
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := order(placed)
			log := []envelope.Event{placed}
			for _, i := range slices.Concat(perm, perm) {
				got, err := successes[i].react(o)
				if err != nil {
					t.Fatal(err)
				}
				o = envelopetest.Fold(o, domain.EvolveOrder, got...)
				log = append(log, got...)
			}
			envelopetest.Equal(t, "status", o.Status, domain.StatusCompleted)
			envelopetest.Equal(t, "steps", o.Steps, domain.Steps{Payment: domain.StepCompleted, Inventory: domain.StepReserved, Shipping: domain.StepScheduled})
			envelopetest.Equal(t, "shipment id", o.ShipmentID, "s1")
			counts := map[string]int{}
			for _, e := range log {
				counts[e.EventType()]++
			}
			envelopetest.Equal(t, "event counts", counts, map[string]int{"OrderPlaced": 1, "OrderPaid": 1, "OrderReserved": 1, "OrderCompleted": 1})
			if perm[0] == 0 {
				envelopetest.Equal(t, "payment id", o.PaymentID, "p1")
			}
			envelopetest.CheckSnapshots(t, domain.NewOrder("o1"), domain.EvolveOrder, log)
		})
	}
}

// TestCancelThenAnything cancels an order first and then delivers every other
// event, twice, in several orders: the order stays cancelled for its first
// reason, and each compensation or failure is recorded once.
func TestCancelThenAnything(t *testing.T) {
	t.Parallel()
	for _, perm := range permutations(4) {
		t.Run("", func(t *testing.T) {
			t.Parallel()
			// Payment charged, inventory failed, shipping never ran; then refund.
			rs := []reaction{onPaymentCompleted, onStockFailed, onPaymentRefunded, onStockReserved}
			o := order(placed, cancelledFor(orderevents.ReasonCustomerRequest))
			log := []envelope.Event{placed, cancelledFor(orderevents.ReasonCustomerRequest)}
			for _, i := range slices.Concat(perm, perm) {
				got, err := rs[i].react(o)
				if err != nil {
					t.Fatal(err)
				}
				o = envelopetest.Fold(o, domain.EvolveOrder, got...)
				log = append(log, got...)
			}
			envelopetest.Equal(t, "status", o.Status, domain.StatusCancelled)
			envelopetest.Equal(t, "reason", o.CancelReason, orderevents.ReasonCustomerRequest)
			envelopetest.Equal(t, "steps", o.Steps, domain.Steps{Payment: domain.StepRefunded, Inventory: domain.StepFailed, Shipping: domain.StepPending})
			envelopetest.Equal(t, "log length", len(log), 4)
			envelopetest.CheckSnapshots(t, domain.NewOrder("o1"), domain.EvolveOrder, log)
		})
	}
}

func TestEvolveIgnoresOtherEvents(t *testing.T) {
	t.Parallel()
	o := order(placed)
	for _, r := range allReactions {
		envelopetest.Equal(t, r.name, domain.EvolveOrder(o, r.event), o)
	}
}

func TestRegisterPrivateEvents(t *testing.T) {
	t.Parallel()
	r := envelope.NewRegistry()
	domain.Register(r)
	orderevents.Register(r)
	for _, e := range []envelope.Event{domain.CompensationRecorded{}, domain.FailureRecorded{}} {
		if !r.Knows(e.EventType()) {
			t.Errorf("%s not registered", e.EventType())
		}
		if r.Publisher(e.EventType()) != "" {
			t.Errorf("%s is registered as public", e.EventType())
		}
	}
}

func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := range n {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}
