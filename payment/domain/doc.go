// Package domain is the payment service's business: the Wallet and Payment
// aggregates, the pure functions that decide which events a command or a saga
// event produces, and the evolve functions that fold those events into state.
// Nothing here does I/O, reads the clock or draws random numbers: ids are
// passed in.
//
// # Basics
//
// A Wallet (aggregate id: customer id) holds a customer's balance. A Payment
// (aggregate id: order id) is the one decision payment takes for an order:
// charged, declined, then possibly refunded. OnOrderPlaced and
// OnOrderCancelled return events for both aggregates, which the caller appends
// in one transaction.
//
// # Caveats
//
// Every reaction is idempotent and commutes with cancellation: an
// OrderCancelled heard before OrderPlaced is remembered (PaymentCancellationNoted)
// and the order is then never charged; a charge made before the cancellation is
// refunded exactly once.
package domain
