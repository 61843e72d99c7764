// Package domain is the order service's business: the Order aggregate, the
// pure functions that decide which events a command or a saga event produces,
// and the evolve function that folds those events into state. Nothing here
// does I/O, reads the clock or draws random numbers: the time and the order id
// are passed in.
//
// # Basics
//
// An order is placed (Place), then moves pending → paid → reserved →
// completed as the other services' success events arrive, or is cancelled
// from any state before completed: by a failure event, by the customer
// (Cancel) or by its deadline passing (Expire). The compensations that follow
// a cancellation are recorded in the order's steps with the private
// CompensationRecorded event.
//
// # Caveats
//
// Events from different streams arrive in any order and more than once. Each
// reaction is idempotent, and because a step is only taken after the previous
// one succeeded, a later step's event implies the earlier ones: StockReserved
// on a pending order records the payment too, ShipmentScheduled on a pending
// order records payment and reservation before completing. A terminal order
// ignores success events; their compensations arrive later.
package domain
