package domain

import (
	"slices"
	"time"

	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/envelope"
)

// OrderAggregate is the Order aggregate's type name in the event store.
const OrderAggregate = "order"

// Order statuses. The empty status means the order was never placed.
const (
	StatusPending   = "pending"
	StatusPaid      = "paid"
	StatusReserved  = "reserved"
	StatusCompleted = "completed"
	StatusCancelled = "cancelled"
)

// Step names, as in the order view's steps and CompensationRecorded.Step.
const (
	PaymentStep   = "payment"
	InventoryStep = "inventory"
	ShippingStep  = "shipping"
)

// Step states. Payment: pending, completed, failed, refunded. Inventory:
// pending, reserved, failed, released. Shipping: pending, scheduled, failed,
// cancelled.
const (
	StepPending   = "pending"
	StepFailed    = "failed"
	StepCompleted = "completed"
	StepRefunded  = "refunded"
	StepReserved  = "reserved"
	StepReleased  = "released"
	StepScheduled = "scheduled"
	StepCancelled = "cancelled"
)

// Steps is where each saga step of an order stands.
type Steps struct {
	Payment   string `json:"payment"`
	Inventory string `json:"inventory"`
	Shipping  string `json:"shipping"`
}

// Order is one order and its saga. PlacedAt is its creation time.
type Order struct {
	OrderID         string              `json:"order_id"`
	CustomerID      string              `json:"customer_id"`
	Items           []orderevents.Item  `json:"items"`
	TotalCents      int64               `json:"total_cents"`
	Currency        string              `json:"currency"`
	ShippingAddress orderevents.Address `json:"shipping_address"`
	Status          string              `json:"status"`
	CancelReason    string              `json:"cancel_reason"`
	CancelNote      string              `json:"cancel_note,omitempty"`
	Steps           Steps               `json:"steps"`
	PaymentID       string              `json:"payment_id"`
	ShipmentID      string              `json:"shipment_id"`
	PlacedAt        time.Time           `json:"placed_at"`
	Deadline        time.Time           `json:"deadline"`
}

// NewOrder returns the state of an order with no events: not placed.
func NewOrder(orderID string) Order { return Order{OrderID: orderID} }

// Placed reports whether the order exists.
func (o Order) Placed() bool { return o.Status != "" }

// Terminal reports whether the order is completed or cancelled.
func (o Order) Terminal() bool { return o.Status == StatusCompleted || o.Status == StatusCancelled }

// EvolveOrder folds one event into an order. Events of other types leave it
// unchanged.
func EvolveOrder(o Order, e envelope.Event) Order {
	switch e := e.(type) {
	case orderevents.OrderPlaced:
		o = Order{
			OrderID:         e.OrderID,
			CustomerID:      e.CustomerID,
			Items:           slices.Clone(e.Items),
			TotalCents:      e.TotalCents,
			Currency:        e.Currency,
			ShippingAddress: e.ShippingAddress,
			Status:          StatusPending,
			Steps:           Steps{Payment: StepPending, Inventory: StepPending, Shipping: StepPending},
			PlacedAt:        e.PlacedAt,
			Deadline:        e.Deadline,
		}
	case orderevents.OrderPaid:
		o.Status, o.Steps.Payment = StatusPaid, StepCompleted
		if e.PaymentID != "" {
			o.PaymentID = e.PaymentID
		}
	case orderevents.OrderReserved:
		o.Status, o.Steps.Inventory = StatusReserved, StepReserved
	case orderevents.OrderCompleted:
		o.Status, o.Steps.Shipping, o.ShipmentID = StatusCompleted, StepScheduled, e.ShipmentID
	case orderevents.OrderCancelled:
		o.Status, o.CancelReason, o.CancelNote = StatusCancelled, e.Reason, e.Note
		if step := failedStep(e.Reason); step != "" {
			o.Steps.set(step, StepFailed)
		}
	case CompensationRecorded:
		o.Steps.set(e.Step, compensated(e.Step))
	case FailureRecorded:
		o.Steps.set(e.Step, StepFailed)
	}
	return o
}

// failedStep returns the step whose failure a cancellation reason reports, or
// "" for reasons that are no step's failure.
func failedStep(reason string) string {
	switch reason {
	case orderevents.ReasonPaymentFailed:
		return PaymentStep
	case orderevents.ReasonInsufficientStock:
		return InventoryStep
	case orderevents.ReasonShippingFailed:
		return ShippingStep
	}
	return ""
}

// compensated returns the state a step is in once compensated.
func compensated(step string) string {
	switch step {
	case PaymentStep:
		return StepRefunded
	case InventoryStep:
		return StepReleased
	case ShippingStep:
		return StepCancelled
	}
	return ""
}

// Get returns the state of the named step, or "" for an unknown name.
func (s Steps) Get(step string) string {
	switch step {
	case PaymentStep:
		return s.Payment
	case InventoryStep:
		return s.Inventory
	case ShippingStep:
		return s.Shipping
	}
	return ""
}

func (s *Steps) set(step, state string) {
	switch step {
	case PaymentStep:
		s.Payment = state
	case InventoryStep:
		s.Inventory = state
	case ShippingStep:
		s.Shipping = state
	}
}
