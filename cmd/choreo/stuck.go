package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

const stuckHelp = `Lists the sagas in flight (orders pending, paid or reserved) for longer than
-older (default 10s), oldest first, with the service each waits on and the
last event it heard — what choreo_sagas_stuck counts. It reads order.list
(up to 1000 orders of each open status) and each order's order.timeline.
With -o json it prints a JSON array of {"order_id","status","created_at",
"age_seconds","waiting_on","last_event"}.`

func (c *cli) stuckCmd() *cobra.Command {
	var older time.Duration
	cmd := &cobra.Command{
		Use:               "stuck [-older 10s]",
		Short:             "list the sagas in flight for longer than -older, with what each waits on",
		Long:              stuckHelp,
		Args:              args(0, 0),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if older < 0 {
				return usagef("-older must not be negative")
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			out, err := cl.Stuck(cmd.Context(), older, time.Now())
			if err != nil {
				return err
			}
			return c.show(out, func() {
				if len(out) == 0 {
					fmt.Fprintf(c.stdout, "no saga in flight for more than %s\n", older)
					return
				}
				rows := [][]string{{"ORDER", "STATUS", "AGE", "WAITING_ON", "LAST_EVENT"}}
				for _, s := range out {
					rows = append(rows, []string{s.OrderID, s.Status, short(time.Duration(s.AgeSeconds * float64(time.Second))),
						waitingName(s.WaitingOn), s.LastEvent})
				}
				table(c.stdout, rows...)
			})
		},
	}
	cmd.Flags().DurationVar(&older, "older", 10*time.Second, "list sagas in flight for longer than this")
	return cmd
}

func waitingName(w *string) string {
	if w == nil {
		return "-"
	}
	return *w
}
