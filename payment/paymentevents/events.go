// Package paymentevents holds the events the payment service publishes on its
// PAYMENT_EVENTS stream. It is the only part of the payment service that
// another service may import.
package paymentevents

import (
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/envelope"
)

// Service is the payment service's name: its micro service name, its subject
// prefix ("payment.events.…") and its consumers' durable name.
const Service = "payment"

// ReasonInsufficientFunds is PaymentFailed's reason when the customer's
// balance is below the order total.
const ReasonInsufficientFunds = "insufficient_funds"

// PaymentCompleted records a charge for an order. It carries the order's items
// and address (event-carried state) because inventory and shipping hear only
// payment and inventory events, never the order's.
type PaymentCompleted struct {
	OrderID         string              `json:"order_id"`
	PaymentID       string              `json:"payment_id"`
	CustomerID      string              `json:"customer_id"`
	AmountCents     int64               `json:"amount_cents"`
	Items           []orderevents.Item  `json:"items"`
	ShippingAddress orderevents.Address `json:"shipping_address"`
}

// PaymentFailed records a declined charge. Reason is ReasonInsufficientFunds.
type PaymentFailed struct {
	OrderID     string `json:"order_id"`
	PaymentID   string `json:"payment_id"`
	CustomerID  string `json:"customer_id"`
	AmountCents int64  `json:"amount_cents"`
	Reason      string `json:"reason"`
}

// PaymentRefunded records that a charge was given back because its order was
// cancelled. There is at most one per order, and only after a charge.
type PaymentRefunded struct {
	OrderID     string `json:"order_id"`
	PaymentID   string `json:"payment_id"`
	CustomerID  string `json:"customer_id"`
	AmountCents int64  `json:"amount_cents"`
}

// FundsDeposited records money added to a customer's wallet; BalanceCents is
// the balance right after the deposit.
type FundsDeposited struct {
	CustomerID   string `json:"customer_id"`
	AmountCents  int64  `json:"amount_cents"`
	BalanceCents int64  `json:"balance_cents"`
}

func (PaymentCompleted) EventType() string { return "PaymentCompleted" }
func (PaymentFailed) EventType() string    { return "PaymentFailed" }
func (PaymentRefunded) EventType() string  { return "PaymentRefunded" }
func (FundsDeposited) EventType() string   { return "FundsDeposited" }

// Correlation is the saga the event belongs to: its order id, which the
// envelope's correlation_id carries.
func (e PaymentCompleted) Correlation() string { return e.OrderID }
func (e PaymentFailed) Correlation() string    { return e.OrderID }
func (e PaymentRefunded) Correlation() string  { return e.OrderID }

// Register adds every public payment event type to r.
func Register(r *envelope.Registry) {
	envelope.RegisterPublic[PaymentCompleted](r, Service)
	envelope.RegisterPublic[PaymentFailed](r, Service)
	envelope.RegisterPublic[PaymentRefunded](r, Service)
	envelope.RegisterPublic[FundsDeposited](r, Service)
}
