package main

import (
	"context"
	"fmt"

	"github.com/choreo-dev/choreo/client"
	"github.com/spf13/cobra"
)

func (c *cli) restockCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "restock SKU QTY",
		Short:             "add stock of a SKU",
		Long:              `Adds QTY units (1 to 1,000,000) of SKU to the inventory and prints its stock.`,
		Args:              args(2, 2),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, a []string) error {
			qty, err := integer("quantity", "an integer", a[1])
			if err != nil {
				return err
			}
			return query(cmd.Context(), c, func(ctx context.Context, cl *client.Client) (client.StockView, error) {
				return cl.Restock(ctx, a[0], qty)
			}, c.printStock)
		},
	}
}

func (c *cli) printStock(v client.StockView) {
	fmt.Fprintf(c.stdout, "%s: %d available, %d reserved\n", v.SKU, v.Available, v.Reserved)
}
