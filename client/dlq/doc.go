// Package dlq is the operator's side of the dead-letter queue: listing,
// reading, redriving and purging the letters of the DLQ stream (their format
// is package deadletter's). The choreo CLI (choreo dlq) and the web console
// both act through it, so a letter reads, redrives and purges the same way
// from either.
//
// # Basics
//
//	letters, err := dlq.List(ctx, js, "payment", 100)   // the newest 100 of payment's, oldest first
//	r, err := dlq.Redrive(ctx, js, letters[0])            // republish, then delete the letter
//	fmt.Println(r)                                        // redriven 7: payment.events… -> PAYMENT_EVENTS/42 (Nats-Msg-Id redrive.7.…)
//	err = dlq.Each(ctx, js, dlq.Selection{All: true, Service: "order"}, 5*time.Second, purge, report)
//
// Everything reads with the stream's message-get API and changes nothing
// but what it says: no consumer is created.
package dlq
