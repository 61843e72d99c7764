package domain

import "errors"

// ErrUnknownOrder is returned when a command or event names an order that was
// never placed. For a query or order.cancel it is a not-found; for a saga
// event it is a broken invariant (the order's OrderPlaced is committed before
// anyone can hear of the order).
var ErrUnknownOrder = errors.New("unknown order")

// ErrIdempotencyMismatch is returned when an order id is placed again with
// different content (customer, items, currency or address).
var ErrIdempotencyMismatch = errors.New("order id already used with different content")

// ErrTotalOverflow is returned when an order's total does not fit in int64.
var ErrTotalOverflow = errors.New("order total overflows int64")

// ErrInvalidItems is returned when an order has no items, or a line with a
// non-positive quantity or a negative price. The endpoint validates limits
// first; this guards the total's arithmetic.
var ErrInvalidItems = errors.New("invalid items")

// ErrAlreadyCompleted is returned when a completed order is cancelled.
var ErrAlreadyCompleted = errors.New("order already completed")

// ErrAlreadyCancelled is returned when a cancelled order is cancelled again.
var ErrAlreadyCancelled = errors.New("order already cancelled")

// ErrInvalidReason is returned when Cancel is given a reason that is not one
// of orderevents' Reason constants.
var ErrInvalidReason = errors.New("invalid cancel reason")
