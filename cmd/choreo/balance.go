package main

import (
	"context"

	"github.com/choreo-dev/choreo/client"
	"github.com/spf13/cobra"
)

func (c *cli) balanceCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "balance CUSTOMER",
		Short:             "show a customer's wallet",
		Args:              args(1, 1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, a []string) error {
			return query(cmd.Context(), c, func(ctx context.Context, cl *client.Client) (client.BalanceView, error) {
				return cl.Balance(ctx, a[0])
			}, c.printBalance)
		},
	}
}
