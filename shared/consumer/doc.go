// Package consumer runs a service's reactions to another service's events:
// a durable JetStream pull consumer whose messages are handled exactly once
// in effect.
//
// For each message the runner decodes the envelope, then, in one event store
// transaction, checks the inbox, runs the handler (which loads aggregates,
// decides and appends) and marks the event id handled. Only after that
// transaction commits does it acknowledge the message. A crash before the
// commit leaves no effect and the message is redelivered; a crash after it,
// or an ack that JetStream never recorded, redelivers a message the inbox
// already knows, which is acknowledged without a second effect.
//
// Messages of one order (the subject's aggregate id) are handled one after
// the other; different orders run concurrently. An order with more messages
// waiting than its in-memory queue holds (a hot order) has the surplus set
// aside in the store, acknowledged, and handled in its turn (see overflow):
// it never fills the durable's window of unacknowledged messages. A failing
// message is negatively acknowledged with a growing delay, so it never holds
// up the messages behind it; after MaxDeliver deliveries, or at once if it is
// undecodable or its handler says the failure is permanent, it is copied to
// the DLQ stream and terminated.
package consumer
