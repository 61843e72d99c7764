// Package domain is the shipping service's business: the Shipment aggregate,
// the pure functions that decide which events a saga event produces, and the
// evolve function that folds those events into state. Nothing here does I/O,
// reads the clock or draws random numbers: ids and the served countries are
// passed in.
//
// # Caveats
//
// Every reaction is idempotent and commutes with cancellation: an
// OrderCancelled heard before StockReserved is remembered
// (ShipmentCancellationNoted) and the order is then never shipped; a shipment
// scheduled before the cancellation is cancelled exactly once.
package domain
