package main

import (
	"context"
	"fmt"

	"github.com/choreo-dev/choreo/client/dlq"
	"github.com/choreo-dev/choreo/shared/deadletter"
	"github.com/spf13/cobra"
)

func (c *cli) dlqShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "show SEQ",
		Short:             "print one dead letter's headers and body",
		Args:              args(1, 1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, a []string) error {
			seq, err := parseSeq(a[0])
			if err != nil {
				return err
			}
			js, err := c.jetStream()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), c.timeout)
			defer cancel()
			l, err := deadletter.Get(ctx, js, seq)
			if err != nil {
				return dlq.Explain(err)
			}
			return c.show(dlq.View(l), func() { c.printLetter(l) })
		},
	}
}

func (c *cli) printLetter(l deadletter.Letter) {
	fmt.Fprintf(c.stdout, "seq %d  %s  %s\n\n", l.Seq, l.Subject, stamp(l.Time))
	for _, h := range dlq.Headers(l) {
		fmt.Fprintf(c.stdout, "%s: %s\n", h.Name, h.Value)
	}
	body, _ := dlq.Body(l.Data, 0)
	fmt.Fprintf(c.stdout, "\n%s\n", body)
}
