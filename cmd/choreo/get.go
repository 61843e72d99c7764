package main

import (
	"context"

	"github.com/choreo-dev/choreo/client"
	"github.com/spf13/cobra"
)

func (c *cli) getCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "get ORDER_ID",
		Short:             "show an order",
		Args:              args(1, 1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, a []string) error {
			return query(cmd.Context(), c, func(ctx context.Context, cl *client.Client) (client.OrderView, error) {
				return cl.Get(ctx, a[0])
			}, c.printOrder)
		},
	}
}
