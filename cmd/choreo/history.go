package main

import (
	"context"
	"strconv"

	"github.com/choreo-dev/choreo/client"
	"github.com/spf13/cobra"
)

func (c *cli) historyCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "history ORDER_ID",
		Short:             "show an order's stored events",
		Long:              `Lists the order's stored events, oldest first. With -o json it prints order.history's reply, {"events":[envelope…]}.`,
		Args:              args(1, 1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, a []string) error {
			return query(cmd.Context(), c, func(ctx context.Context, cl *client.Client) (client.History, error) {
				events, err := cl.History(ctx, a[0])
				return client.History{Events: events}, err
			}, c.printHistory)
		},
	}
}

func (c *cli) printHistory(h client.History) {
	rows := [][]string{{"VERSION", "TYPE", "OCCURRED_AT", "ID"}}
	for _, e := range h.Events {
		rows = append(rows, []string{strconv.FormatUint(e.Version, 10), e.Type, e.OccurredAt.UTC().Format(milliTime), e.ID})
	}
	table(c.stdout, rows...)
}
