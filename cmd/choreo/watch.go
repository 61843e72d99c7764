package main

import (
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
JSON as a JSON string). Only messages published while it runs are shown.`

func (c *cli) watchCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "watch [SUBJECT]",
		Short:             "print events as they are published (default *.events.>)",
		Long:              watchHelp,
		Args:              args(0, 1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, a []string) error {
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
