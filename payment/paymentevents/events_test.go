package paymentevents_test

import (
	"testing"

	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/envelope/envelopetest"
)

var (
	items   = []orderevents.Item{{SKU: "A", Quantity: 2, UnitPriceCents: 150}, {SKU: "B", Quantity: 1}}
	address = orderevents.Address{Name: "N", Line1: "L", City: "C", PostalCode: "P", Country: "US"}
)

func TestEventsRoundTripThroughRegistry(t *testing.T) {
	t.Parallel()
	r := envelope.NewRegistry()
	paymentevents.Register(r)
	for _, ev := range []envelope.Event{
		paymentevents.PaymentCompleted{OrderID: "o1", PaymentID: "p1", CustomerID: "c1", AmountCents: 300, Items: items, ShippingAddress: address},
		paymentevents.PaymentFailed{OrderID: "o1", PaymentID: "p1", CustomerID: "c1", AmountCents: 300, Reason: paymentevents.ReasonInsufficientFunds},
		paymentevents.PaymentRefunded{OrderID: "o1", PaymentID: "p1", CustomerID: "c1", AmountCents: 300},
		paymentevents.FundsDeposited{CustomerID: "c1", AmountCents: 500, BalanceCents: 700},
	} {
		t.Run(ev.EventType(), func(t *testing.T) {
			t.Parallel()
			envelopetest.CheckPublicEvent(t, r, ev)
		})
	}
}
