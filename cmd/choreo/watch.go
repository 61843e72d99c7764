package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"
)

const watchHelp = `Subscribes (core NATS, nothing is stored or acknowledged) to SUBJECT, by
default every service's events, and prints one line per message until
interrupted: when it occurred, its subject, its event type and its
correlation id (the order id of every saga event). With -o json it prints
each message's body instead, one JSON document per line (a body that is not
JSON as a JSON string). Only messages published while it runs are shown.

With -order ID it follows one saga instead: every event of it, from all
four services, as the order service records it — first those recorded
before, then each as it comes, with how long after its cause it came — and
it returns once the saga is over (completed, or cancelled with every
compensation recorded). -o json prints each as order.timeline's events are.`

func (c *cli) watchCmd() *cobra.Command {
	var orderID string
	cmd := &cobra.Command{
		Use:               "watch [SUBJECT | -order ID]",
		Short:             "print events as they are published (default *.events.>), or follow one saga",
		Long:              watchHelp,
		Args:              args(0, 1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, a []string) error {
			if orderID != "" {
				if len(a) > 0 {
					return usagef("watch: give a SUBJECT or -order, not both")
				}
				return c.followOrder(cmd.Context(), orderID)
			}
			subject := "*.events.>"
			if len(a) == 1 {
				subject = a[0]
			}
			nc, err := c.conn()
			if err != nil {
				return err
			}
			msgs := make(chan *nats.Msg, 4096)
			sub, err := nc.ChanSubscribe(subject, msgs)
			if err != nil {
				return fmt.Errorf("watch %s: %w", subject, err)
			}
			defer sub.Unsubscribe()
			if err := nc.FlushTimeout(c.timeout); err != nil {
				return fmt.Errorf("watch %s: %w", subject, err)
			}
			fmt.Fprintf(c.stderr, "watching %s\n", subject)
			ctx := cmd.Context()
			for {
				select {
				case <-ctx.Done():
					return nil
				case m := <-msgs:
					if err := c.printEvent(m); err != nil {
						return err
					}
				}
			}
		},
	}
	cmd.Flags().StringVar(&orderID, "order", "", "follow the saga of this order `id` until it is over")
	_ = cmd.RegisterFlagCompletionFunc("order", cobra.NoFileCompletions)
	return cmd
}

// followOrder is watch -order: it follows one saga until it is over or
// choreo is interrupted.
func (c *cli) followOrder(ctx context.Context, orderID string) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	events := make(chan *nats.Msg, 64)
	sub, err := c.nc.ChanSubscribe(sagaSubject(orderID), events)
	if err != nil {
		return fmt.Errorf("watch order %s: %w", orderID, err)
	}
	defer sub.Unsubscribe()
	fmt.Fprintf(c.stderr, "following the saga of order %s\n", orderID)
	tl, over, err := follow(ctx, cl, events, orderID, c.stdout, c.isJSON())
	if err == nil && over {
		fmt.Fprintf(c.stderr, "order %s: %s, waiting on nothing\n", orderID, tl.Status)
	}
	return err
}

func (c *cli) printEvent(m *nats.Msg) error {
	if c.isJSON() {
		if json.Valid(m.Data) {
			_, err := fmt.Fprintf(c.stdout, "%s\n", m.Data)
			return err
		}
		return c.printJSON(string(m.Data))
	}
	env, err := envelope.Parse(m.Data)
	if err != nil {
		_, err = fmt.Fprintf(c.stdout, "%s  %s  (not an event: %d bytes)\n", time.Now().UTC().Format(milliTime), m.Subject, len(m.Data))
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "%s  %s  %s  %s\n", env.OccurredAt.UTC().Format(milliTime), m.Subject, env.Type, env.CorrelationID)
	return err
}
