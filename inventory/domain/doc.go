// Package domain is the inventory service's business: the SKU and Reservation
// aggregates, the pure functions that decide which events a command or a saga
// event produces, and the evolve functions that fold those events into state.
// Nothing here does I/O, reads the clock or draws random numbers.
//
// # Basics
//
// A SKU (aggregate id: the sku) holds its stock: Available + Reserved always
// equals Restocked, and neither is ever negative. A Reservation (aggregate id:
// order id) is inventory's one decision for an order: reserved or failed, then
// possibly released. OnPaymentCompleted and OnOrderCancelled return events for
// the Reservation and for every SKU it touches, which the caller appends in one
// transaction.
//
// # Caveats
//
// Every reaction is idempotent and commutes with cancellation: an
// OrderCancelled heard before PaymentCompleted is remembered
// (ReservationCancellationNoted) and the order is then never reserved; a
// reservation made before the cancellation is released exactly once.
package domain
