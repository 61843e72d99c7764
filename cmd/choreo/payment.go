package main

import (
	"context"

	"github.com/choreo-dev/choreo/client"
	"github.com/spf13/cobra"
)

func (c *cli) paymentCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "payment ORDER_ID",
		Short:             "show an order's payment",
		Args:              args(1, 1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, a []string) error {
			return query(cmd.Context(), c, func(ctx context.Context, cl *client.Client) (client.PaymentView, error) {
				return cl.Payment(ctx, a[0])
			}, func(v client.PaymentView) {
				table(c.stdout,
					[]string{"order", v.OrderID},
					[]string{"payment", v.PaymentID},
					[]string{"customer", v.CustomerID},
					[]string{"amount", money(v.AmountCents)},
					[]string{"status", v.Status})
			})
		},
	}
}
