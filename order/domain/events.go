package domain

import "github.com/choreo-dev/choreo/shared/envelope"

// CompensationRecorded is a private Order event: a cancelled order heard that
// Step (PaymentStep, InventoryStep or ShippingStep) was compensated, so the
// step becomes refunded, released or cancelled. It is stored in the order's
// log and never published.
type CompensationRecorded struct {
	OrderID string `json:"order_id"`
	Step    string `json:"step"`
}

// FailureRecorded is a private Order event: an order that was already
// cancelled for another reason heard that Step failed, so the step becomes
// failed (an order cancelled because of the failure records it in
// OrderCancelled's reason instead).
type FailureRecorded struct {
	OrderID string `json:"order_id"`
	Step    string `json:"step"`
}

func (CompensationRecorded) EventType() string { return "CompensationRecorded" }
func (FailureRecorded) EventType() string      { return "FailureRecorded" }

// Register adds the order's private event types to r. The public ones are
// registered by orderevents.Register.
func Register(r *envelope.Registry) {
	envelope.Register[CompensationRecorded](r)
	envelope.Register[FailureRecorded](r)
}
