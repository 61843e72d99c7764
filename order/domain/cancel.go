package domain

import (
	"fmt"
	"time"

	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/envelope"
)

// Cancel cancels a non-terminal order with reason (one of orderevents' Reason
// constants; order.cancel uses ReasonCustomerRequest) and the caller's free
// text note. It fails with ErrUnknownOrder, ErrAlreadyCompleted,
// ErrAlreadyCancelled or ErrInvalidReason.
func Cancel(o Order, reason, note string) ([]envelope.Event, error) {
	switch {
	case !o.Placed():
		return nil, fmt.Errorf("cancel %s: %w", o.OrderID, ErrUnknownOrder)
	case o.Status == StatusCompleted:
		return nil, fmt.Errorf("cancel %s: %w", o.OrderID, ErrAlreadyCompleted)
	case o.Status == StatusCancelled:
		return nil, fmt.Errorf("cancel %s: %w", o.OrderID, ErrAlreadyCancelled)
	}
	switch reason {
	case orderevents.ReasonPaymentFailed, orderevents.ReasonInsufficientStock, orderevents.ReasonShippingFailed,
		orderevents.ReasonCustomerRequest, orderevents.ReasonTimeout:
	default:
		return nil, fmt.Errorf("cancel %s: %q: %w", o.OrderID, reason, ErrInvalidReason)
	}
	return []envelope.Event{orderevents.OrderCancelled{OrderID: o.OrderID, Reason: reason, Note: note}}, nil
}

// Expire cancels the order with ReasonTimeout iff it is placed, not terminal,
// and its deadline is not after now. Otherwise it returns nothing: the
// deadline scheduler may fire late, twice, or after the order ended.
func Expire(o Order, now time.Time) []envelope.Event {
	if !o.Placed() || o.Terminal() || now.Before(o.Deadline) {
		return nil
	}
	return []envelope.Event{orderevents.OrderCancelled{OrderID: o.OrderID, Reason: orderevents.ReasonTimeout}}
}
