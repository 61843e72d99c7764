package main

import (
	"context"
	"fmt"

	"github.com/choreo-dev/choreo/client/dlq"
	"github.com/choreo-dev/choreo/shared/deadletter"
	"github.com/spf13/cobra"
)

func (c *cli) dlqRedriveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:               "redrive SEQ|-all [-service S]",
		Short:             "republish dead letters on their original subjects, then delete them",
		Long:              "See choreo help dlq.",
		Args:              args(0, 1),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	sel := newSelection(cmd)
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		which, err := sel.parse(cmd, a)
		if err != nil {
			return err
		}
		js, err := c.jetStream()
		if err != nil {
			return err
		}
		done := []dlq.Redriven{}
		err = c.eachLetter(cmd.Context(), js, which, func(ctx context.Context, l deadletter.Letter) error {
			r, err := dlq.Redrive(ctx, js, l)
			if err != nil {
				return err
			}
			done = append(done, r)
			if !c.isJSON() {
				fmt.Fprintln(c.stdout, r)
			}
			return nil
		})
		switch {
		case c.isJSON():
			if jerr := c.printJSON(done); err == nil {
				err = jerr
			}
		case which.All:
			fmt.Fprintf(c.stdout, "%d dead letter(s) redriven\n", len(done))
		}
		return err
	}
	return cmd
}
