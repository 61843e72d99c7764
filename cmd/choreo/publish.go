package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

func (c *cli) publishCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "publish SUBJECT BODY",
		Short: "publish raw bytes to a stream's subject (to try a consumer, or make a dead letter)",
		Long: `Publishes BODY, as it is, on SUBJECT through JetStream and prints the stream
and sequence that stored it. Nothing checks the body: it is the way to see
what the services do with a message that is not an event, the way
'nats pub' is. An undecodable message on an event subject is dead-lettered
at once by every service that hears that event type:

  choreo publish order.events.OrderPlaced.junk 'not an event'
  choreo dlq ls

In the secure profile only the service that owns a stream may publish on it.`,
		Args:              args(2, 2),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, a []string) error {
			js, err := c.jetStream()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), c.timeout)
			defer cancel()
			ack, err := js.Publish(ctx, a[0], []byte(a[1]))
			if err != nil {
				return fmt.Errorf("publish on %s: %w", a[0], err)
			}
			out := map[string]any{"stream": ack.Stream, "seq": ack.Sequence}
			return c.show(out, func() { fmt.Fprintf(c.stdout, "stored in %s as message %d\n", ack.Stream, ack.Sequence) })
		},
	}
}
