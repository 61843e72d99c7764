package domain

import "errors"

// ErrInvalidAmount is returned when a deposit is not positive. The endpoint
// validates limits first; this guards the balance invariant.
var ErrInvalidAmount = errors.New("amount must be positive")

// ErrBalanceOverflow is returned when a deposit would take a balance past the
// largest int64.
var ErrBalanceOverflow = errors.New("balance would overflow")

// ErrInvalidEvent is returned when a reaction is given an event that breaks
// the contract (a negative total). It is permanent: no retry can fix it.
var ErrInvalidEvent = errors.New("invalid event")
