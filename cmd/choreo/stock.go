package main

import (
	"context"

	"github.com/choreo-dev/choreo/client"
	"github.com/spf13/cobra"
)

func (c *cli) stockCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "stock SKU",
		Short:             "show a SKU's stock",
		Args:              args(1, 1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, a []string) error {
			return query(cmd.Context(), c, func(ctx context.Context, cl *client.Client) (client.StockView, error) {
				return cl.Stock(ctx, a[0])
			}, c.printStock)
		},
	}
}
