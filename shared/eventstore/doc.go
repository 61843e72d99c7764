// Package eventstore is Choreo's event store on bbolt: one file per service
// holding the aggregates' events, their snapshots, the transactional outbox,
// the consumer inbox and the projections (read models).
//
// # Basics
//
// Every change goes through [Store.Update], a managed write transaction in the
// style of bbolt's own: the closure loads aggregates ([Load]), decides, and
// appends events with the version it loaded ([Save], [Tx.Append]). In the same
// bbolt transaction, and so atomically with the events:
//
//   - each public event is queued in the outbox (the relay in package outbox
//     publishes it later, with the event id as Nats-Msg-Id);
//   - the projections registered in [Options] update their buckets;
//   - a consumer marks the incoming event as handled in the inbox
//     ([Tx.MarkHandled]), so a redelivery finds it done.
//
// A crash before the commit leaves nothing; after it, everything. A success
// returned by Update means the transaction was fsync'd.
//
// Appending checks the expected version: an append that was decided on a
// stale version fails with [ErrConcurrencyConflict] and writes nothing. Inside
// one Update the load and the append see the same snapshot of the file (bbolt
// has one writer at a time), so the usual way of working never conflicts; the
// check is what keeps an append computed elsewhere honest.
//
// Every SnapshotEvery events an aggregate's state is stored as JSON, and
// loading reads the newest snapshot plus the events after it.
//
// Projections keep their read models in view buckets ([Tx.ViewBucket]):
// ordered maps from byte keys to byte values with Get, Put, Delete and a
// Scan over a key range, forward or backward. Nothing outside the package
// sees bbolt; [Store.Check] runs its consistency check.
//
// # Caveats
//
// Update runs its closure through the store's group commit: concurrent
// Updates share one transaction and one fsync. A batched closure may run more
// than once (the others are run again when one fails after writing), so a
// closure must not have effects outside the transaction other than setting
// variables it assigns afresh on every run. A closure that fails before
// writing anything — a command the aggregate refuses — is left out of the
// commit and costs the others nothing.
package eventstore
