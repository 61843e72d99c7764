package domain

import "errors"

// ErrInvalidQuantity is returned when a restock quantity is not positive. The
// endpoint validates limits first; this guards the stock invariant.
var ErrInvalidQuantity = errors.New("quantity must be positive")

// ErrStockOverflow is returned when a restock would take a SKU's stock past
// the largest int64.
var ErrStockOverflow = errors.New("stock would overflow")

// ErrInvalidEvent is returned when a reaction is given an event that breaks
// the contract (a line with a non-positive quantity). It is permanent: no
// retry can fix it.
var ErrInvalidEvent = errors.New("invalid event")
