package main

import (
	"context"

	"github.com/choreo-dev/choreo/client"
	"github.com/spf13/cobra"
)

func (c *cli) cancelCmd() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "cancel ORDER_ID [-reason TEXT]",
		Short: "cancel an order",
		Long: `Cancels an order at the customer's request (cancel_reason customer_request)
and prints it. Each service that acted for it compensates once. A completed
or cancelled order cannot be cancelled (conflict).`,
		Args:              args(1, 1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, a []string) error {
			return query(cmd.Context(), c, func(ctx context.Context, cl *client.Client) (client.OrderView, error) {
				return cl.Cancel(ctx, a[0], reason)
			}, c.printOrder)
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "free text kept with the cancellation")
	return cmd
}
