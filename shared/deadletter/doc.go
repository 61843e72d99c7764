// Package deadletter is the DLQ stream's format, and the tools that read and
// redrive it: the messages a consumer gave up on (see package consumer and
// the contract, section 5).
//
// # Basics
//
// A dead letter lives on dlq.<service>.<original subject> with the original
// body and headers — less the Nats-* ones, which told JetStream how to store
// the original publish (its Nats-Msg-Id, if it had one, is kept as
// Choreo-Dlq-Msg-Id) — its own Nats-Msg-Id, and the Choreo-Dlq-* headers
// that say where it came from. New builds one from a delivered message (the
// consumer runner writes it); Parse reads one back as a Letter.
//
//	err := deadletter.Scan(ctx, js, "order", func(l deadletter.Letter) error {
//		fmt.Println(l.Seq, l.OriginalSubject, l.Error)
//		return nil
//	})
//
// Scan and Get read with the stream's message-get API (next message at or
// after a sequence on a subject filter): they create no consumer, durable or
// ephemeral, and leave nothing behind.
//
// # Redrive
//
// Redrive is for when the cause of the failure has been fixed. It republishes
// the letter's original body on its original subject (Choreo-Dlq-Subject),
// expecting its original stream (Choreo-Dlq-Stream), with the original headers
// except:
//
//   - Nats-Msg-Id becomes "redrive.<dlq seq>.<original msg id>" ("redrive.<dlq
//     seq>" for an original published without an id). The original
//     id cannot be reused: within JetStream's duplicate window the server would
//     drop the message as a duplicate of the original. The new id is the same
//     every time one letter is redriven, so a redrive that is repeated after a
//     crash between the publish and the delete is dropped by JetStream within
//     the window, and by the consumers' inboxes after it.
//   - Choreo-Redriven-From is set to the letter's DLQ sequence.
//   - the Choreo-Dlq-* headers and every other Nats-* header (expectations,
//     atomic batch headers) are removed: they applied to an earlier publish.
//
// Once JetStream has acknowledged the publish, the letter is deleted from the
// DLQ stream. Every consumer of the original stream then receives the event
// again. The body, and so the envelope id, is unchanged: the services that
// handled the event the first time find it in their inbox and acknowledge it
// without a second effect, and the service that dead-lettered it handles it
// now, exactly once.
//
// # Caveats
//
// Redrive publishes on a service's own stream, which otherwise only that
// service does; it is an operator's tool. A letter whose cause has not been
// fixed is dead-lettered again, under a new DLQ sequence: Scan stops at the
// last sequence present when it began, so redriving everything Scan yields
// terminates.
package deadletter
