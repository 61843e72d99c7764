package domain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/order/domain"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/envelope/envelopetest"
)

var (
	paid      = orderevents.OrderPaid{OrderID: "o1", PaymentID: "p1"}
	reserved  = orderevents.OrderReserved{OrderID: "o1"}
	completed = orderevents.OrderCompleted{OrderID: "o1", ShipmentID: "s1"}
)

func cancelledFor(reason string) orderevents.OrderCancelled {
	return orderevents.OrderCancelled{OrderID: "o1", Reason: reason, CustomerID: "c1", SKUs: []string{"A", "B"}}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	byCustomer := orderevents.OrderCancelled{OrderID: "o1", Reason: orderevents.ReasonCustomerRequest, Note: "too slow",
		CustomerID: "c1", SKUs: []string{"A", "B"}}
	for _, tc := range []struct {
		name    string
		order   domain.Order
		reason  string
		want    []envelope.Event
		wantErr error
	}{
		{name: "pending", order: order(placed), reason: orderevents.ReasonCustomerRequest, want: []envelope.Event{byCustomer}},
		{name: "paid", order: order(placed, paid), reason: orderevents.ReasonCustomerRequest, want: []envelope.Event{byCustomer}},
		{name: "reserved", order: order(placed, paid, reserved), reason: orderevents.ReasonCustomerRequest, want: []envelope.Event{byCustomer}},
		{name: "unknown", order: order(), reason: orderevents.ReasonCustomerRequest, wantErr: domain.ErrUnknownOrder},
		{name: "completed", order: order(placed, paid, reserved, completed), reason: orderevents.ReasonCustomerRequest,
			wantErr: domain.ErrAlreadyCompleted},
		{name: "cancelled", order: order(placed, byCustomer), reason: orderevents.ReasonCustomerRequest,
			wantErr: domain.ErrAlreadyCancelled},
		{name: "bad reason", order: order(placed), reason: "bored", wantErr: domain.ErrInvalidReason},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.Cancel(tc.order, tc.reason, "too slow")
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			envelopetest.Equal(t, "events", got, tc.want)
		})
	}
}

func TestExpire(t *testing.T) {
	t.Parallel()
	timedOut := []envelope.Event{cancelledFor(orderevents.ReasonTimeout)}
	deadline := now.Add(timeout)
	for _, tc := range []struct {
		name  string
		order domain.Order
		at    time.Duration // from the deadline
		want  []envelope.Event
	}{
		{name: "before deadline", order: order(placed), at: -1},
		{name: "at deadline", order: order(placed), at: 0, want: timedOut},
		{name: "after deadline", order: order(placed), at: 1, want: timedOut},
		{name: "paid", order: order(placed, paid), at: 1, want: timedOut},
		{name: "reserved", order: order(placed, paid, reserved), at: 1, want: timedOut},
		{name: "completed", order: order(placed, paid, reserved, completed), at: 1},
		{name: "cancelled", order: order(placed, cancelledFor(orderevents.ReasonCustomerRequest)), at: 1},
		{name: "timed out already", order: order(placed, cancelledFor(orderevents.ReasonTimeout)), at: 1},
		{name: "unknown", order: order(), at: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			envelopetest.Equal(t, "events", domain.Expire(tc.order, deadline.Add(tc.at)), tc.want)
		})
	}
}

func TestCancelledOrderSteps(t *testing.T) {
	t.Parallel()
	p := domain.StepPending
	for _, tc := range []struct {
		reason string
		before []envelope.Event
		want   domain.Steps
	}{
		{reason: orderevents.ReasonPaymentFailed, want: domain.Steps{Payment: domain.StepFailed, Inventory: p, Shipping: p}},
		{reason: orderevents.ReasonInsufficientStock, before: []envelope.Event{paid},
			want: domain.Steps{Payment: domain.StepCompleted, Inventory: domain.StepFailed, Shipping: p}},
		{reason: orderevents.ReasonShippingFailed, before: []envelope.Event{paid, reserved},
			want: domain.Steps{Payment: domain.StepCompleted, Inventory: domain.StepReserved, Shipping: domain.StepFailed}},
		{reason: orderevents.ReasonCustomerRequest, want: domain.Steps{Payment: p, Inventory: p, Shipping: p}},
		{reason: orderevents.ReasonTimeout, before: []envelope.Event{paid},
			want: domain.Steps{Payment: domain.StepCompleted, Inventory: p, Shipping: p}},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			t.Parallel()
			events := append(append([]envelope.Event{placed}, tc.before...), cancelledFor(tc.reason))
			o := order(events...)
			envelopetest.Equal(t, "status", o.Status, domain.StatusCancelled)
			envelopetest.Equal(t, "cancel reason", o.CancelReason, tc.reason)
			envelopetest.Equal(t, "steps", o.Steps, tc.want)
			if !o.Terminal() {
				t.Fatal("cancelled order is not terminal")
			}
		})
	}
}
