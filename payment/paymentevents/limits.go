package paymentevents

import (
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/endpoint"
)

// Validate checks a PaymentCompleted against the contract: identifiers, the
// order's lines and address, and an amount that is the lines' total.
func (e PaymentCompleted) Validate() error {
	var p endpoint.Problems
	p.ID("order_id", e.OrderID)
	p.ID("payment_id", e.PaymentID)
	p.ID("customer_id", e.CustomerID)
	orderevents.CheckItems(&p, "items", e.Items)
	orderevents.CheckAmount(&p, "amount_cents", e.AmountCents, e.Items)
	orderevents.CheckAddress(&p, "shipping_address", e.ShippingAddress)
	return p.Err()
}

// Validate checks a PaymentFailed's identifiers and amount.
func (e PaymentFailed) Validate() error {
	return checkPayment(e.OrderID, e.PaymentID, e.CustomerID, e.AmountCents)
}

// Validate checks a PaymentRefunded's identifiers and amount.
func (e PaymentRefunded) Validate() error {
	return checkPayment(e.OrderID, e.PaymentID, e.CustomerID, e.AmountCents)
}

// checkPayment checks the identifiers and amount a payment event names.
func checkPayment(orderID, paymentID, customerID string, amountCents int64) error {
	var p endpoint.Problems
	p.ID("order_id", orderID)
	p.ID("payment_id", paymentID)
	p.ID("customer_id", customerID)
	if amountCents < 0 {
		p.Add("amount_cents", "must not be negative, got %d", amountCents)
	}
	return p.Err()
}
