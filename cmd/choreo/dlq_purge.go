package main

import (
	"context"
	"fmt"

	"github.com/choreo-dev/choreo/client/dlq"
	"github.com/choreo-dev/choreo/shared/deadletter"
	"github.com/spf13/cobra"
)

func (c *cli) dlqPurgeCmd() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:               "purge SEQ|-all [-service S] -yes",
		Short:             "delete dead letters without redriving them",
		Args:              args(0, 1),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	sel := newSelection(cmd)
	cmd.Flags().BoolVar(&yes, "yes", false, "really delete")
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		which, err := sel.parse(cmd, a)
		if err != nil {
			return err
		}
		if !yes {
			return usagef("dlq purge deletes dead letters for good: add -yes")
		}
		js, err := c.jetStream()
		if err != nil {
			return err
		}
		n := 0
		err = c.eachLetter(cmd.Context(), js, which, func(ctx context.Context, l deadletter.Letter) error {
			if err := dlq.Purge(ctx, js, l); err != nil {
				return err
			}
			n++
			if !c.isJSON() {
				fmt.Fprintf(c.stdout, "purged %d: %s\n", l.Seq, l.Subject)
			}
			return nil
		})
		switch {
		case c.isJSON():
			if jerr := c.printJSON(map[string]int{"purged": n}); err == nil {
				err = jerr
			}
		case which.All:
			fmt.Fprintf(c.stdout, "%d dead letter(s) purged\n", n)
		}
		return err
	}
	return cmd
}
