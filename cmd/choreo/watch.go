package main

import (
	"context"
	"fmt"
	"time"

	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/nats-io/nats.go"
)

const watchHelp = `
Subscribes (core NATS, nothing is stored or acknowledged) to SUBJECT, by
default every service's events, and prints one line per message until
interrupted: when it occurred, its subject, its event type and its
correlation id (the order id of every saga event). With -json it prints each
message's body instead. Only messages published while it runs are shown.`

func watch(ctx context.Context, c *cli, args []string) error {
	pos, err := c.parse(c.flags("watch", "[SUBJECT]"), args, 0, 1)
	if err != nil {
		return err
	}
	subject := "*.events.>"
	if len(pos) == 1 {
		subject = pos[0]
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
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-msgs:
			c.printEvent(m)
		}
	}
}

func (c *cli) printEvent(m *nats.Msg) {
	if c.json {
		c.printRaw(m.Data)
		return
	}
	env, err := envelope.Parse(m.Data)
	if err != nil {
		fmt.Fprintf(c.stdout, "%s  %s  (not an event: %d bytes)\n", time.Now().UTC().Format(milliTime), m.Subject, len(m.Data))
		return
	}
	fmt.Fprintf(c.stdout, "%s  %s  %s  %s\n", env.OccurredAt.UTC().Format(milliTime), m.Subject, env.Type, env.CorrelationID)
}
