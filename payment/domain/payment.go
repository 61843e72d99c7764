package domain

import (
	"fmt"
	"slices"

	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/envelope"
)

// PaymentAggregate is the Payment aggregate's type name in the event store.
const PaymentAggregate = "payment"

// Payment statuses, as shown by payment.get. The empty status means payment
// has decided nothing for the order yet.
const (
	StatusCharged  = "charged"
	StatusDeclined = "declined"
	StatusRefunded = "refunded"
)

// Payment is payment's decision for one order. CancelNoted is set when the
// order was cancelled before payment decided: it then never charges.
type Payment struct {
	OrderID     string `json:"order_id"`
	Status      string `json:"status"`
	CancelNoted bool   `json:"cancel_noted"`
	PaymentID   string `json:"payment_id"`
	CustomerID  string `json:"customer_id"`
	AmountCents int64  `json:"amount_cents"`
}

// NewPayment returns the state of an order's payment with no events.
func NewPayment(orderID string) Payment { return Payment{OrderID: orderID} }

// Decided reports whether payment charged or declined the order.
func (p Payment) Decided() bool { return p.Status != "" }

// EvolvePayment folds one event into a payment. Events of other types leave it
// unchanged.
func EvolvePayment(p Payment, e envelope.Event) Payment {
	switch e := e.(type) {
	case paymentevents.PaymentCompleted:
		p.Status, p.PaymentID, p.CustomerID, p.AmountCents = StatusCharged, e.PaymentID, e.CustomerID, e.AmountCents
	case paymentevents.PaymentFailed:
		p.Status, p.PaymentID, p.CustomerID, p.AmountCents = StatusDeclined, e.PaymentID, e.CustomerID, e.AmountCents
	case paymentevents.PaymentRefunded:
		p.Status = StatusRefunded
	case PaymentCancellationNoted:
		p.CancelNoted = true
	}
	return p
}

// OnOrderPlaced charges the order's total to the customer's wallet w (the
// wallet of e.CustomerID) iff its balance covers it, under the new payment id
// paymentID. It returns the events for the Payment aggregate (PaymentCompleted
// or PaymentFailed) and for the Wallet aggregate (WalletDebited on a charge).
// It returns no events if payment already decided or the order was cancelled
// first. A customer who never deposited has a zero balance and is declined.
func OnOrderPlaced(p Payment, w Wallet, e orderevents.OrderPlaced, paymentID string) (paymentEvents, walletEvents []envelope.Event, err error) {
	if p.Decided() || p.CancelNoted {
		return nil, nil, nil
	}
	if e.TotalCents < 0 {
		return nil, nil, fmt.Errorf("order %s total %d: %w", e.OrderID, e.TotalCents, ErrInvalidEvent)
	}
	if w.BalanceCents < e.TotalCents {
		return []envelope.Event{paymentevents.PaymentFailed{
			OrderID:     e.OrderID,
			PaymentID:   paymentID,
			CustomerID:  e.CustomerID,
			AmountCents: e.TotalCents,
			Reason:      paymentevents.ReasonInsufficientFunds,
		}}, nil, nil
	}
	return []envelope.Event{paymentevents.PaymentCompleted{
			OrderID:         e.OrderID,
			PaymentID:       paymentID,
			CustomerID:      e.CustomerID,
			AmountCents:     e.TotalCents,
			Items:           slices.Clone(e.Items),
			ShippingAddress: e.ShippingAddress,
		}}, []envelope.Event{WalletDebited{
			OrderID:     e.OrderID,
			AmountCents: e.TotalCents,
		}}, nil
}

// OnOrderCancelled compensates the order's payment. A charge is refunded once:
// PaymentRefunded for the Payment aggregate and WalletCredited for the Wallet
// aggregate of p.CustomerID. If payment has decided nothing yet it notes the
// cancellation (PaymentCancellationNoted), so that a later OrderPlaced never
// charges. Otherwise (declined, refunded, already noted) it returns nothing.
// walletEvents is non-empty only when p was charged, so the caller needs to
// load p.CustomerID's wallet only then.
func OnOrderCancelled(p Payment, e orderevents.OrderCancelled) (paymentEvents, walletEvents []envelope.Event) {
	switch {
	case p.Status == StatusCharged:
		return []envelope.Event{paymentevents.PaymentRefunded{
				OrderID:     p.OrderID,
				PaymentID:   p.PaymentID,
				CustomerID:  p.CustomerID,
				AmountCents: p.AmountCents,
			}}, []envelope.Event{WalletCredited{
				OrderID:     p.OrderID,
				AmountCents: p.AmountCents,
			}}
	case !p.Decided() && !p.CancelNoted:
		return []envelope.Event{PaymentCancellationNoted{OrderID: e.OrderID}}, nil
	}
	return nil, nil
}
