// Package envelope defines the event envelope that every Choreo event travels in,
// both in a service's bbolt event store and on its JetStream stream, and the
// registry that turns an envelope's data back into a typed event.
//
// # Basics
//
// A domain event is any Go value with an EventType method. The kernel wraps it
// in an [Envelope] (id, type, schema version, aggregate, version, time,
// correlation and causation ids) and stores or publishes the envelope as JSON.
// The envelope's id is a UUIDv7: unique, and sortable by creation time. It is
// also the Nats-Msg-Id of the published message, so JetStream de-duplicates a
// republished event and every consumer's inbox can recognise it.
//
// A [Registry] maps a type name to a Go type and its current schema version.
// An event stored under an older schema version is passed through the
// registered upcasters, oldest first, before it is decoded: the log is never
// rewritten, readers adapt.
//
// # Caveats
//
// Events of a type that is not registered cannot be decoded. A consumer treats
// that as permanent and dead-letters the message: guessing would be worse.
package envelope
