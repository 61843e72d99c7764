package domain

import (
	"fmt"
	"slices"
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
	return []envelope.Event{cancelled(o, reason, note)}, nil
}

// Expire cancels the order with ReasonTimeout iff it is placed, not terminal,
// and its deadline is not after now. Otherwise it returns nothing: the
// deadline scheduler may fire late, twice, or after the order ended.
func Expire(o Order, now time.Time) []envelope.Event {
	if !o.Placed() || o.Terminal() || now.Before(o.Deadline) {
		return nil
	}
	return []envelope.Event{cancelled(o, orderevents.ReasonTimeout, "")}
}

// cancelled is the order's OrderCancelled: its reason, and the customer and
// SKUs a partitioned deployment routes it by.
func cancelled(o Order, reason, note string) orderevents.OrderCancelled {
	var skus []string
	for _, it := range o.Items {
		if !slices.Contains(skus, it.SKU) {
			skus = append(skus, it.SKU)
		}
	}
	return orderevents.OrderCancelled{OrderID: o.OrderID, Reason: reason, Note: note, CustomerID: o.CustomerID, SKUs: skus}
}
