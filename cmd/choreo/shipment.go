package main

import (
	"context"

	"github.com/choreo-dev/choreo/client"
	"github.com/spf13/cobra"
)

func (c *cli) shipmentCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "shipment ORDER_ID",
		Short:             "show an order's shipment",
		Args:              args(1, 1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, a []string) error {
			return query(cmd.Context(), c, func(ctx context.Context, cl *client.Client) (client.ShipmentView, error) {
				return cl.Shipment(ctx, a[0])
			}, func(v client.ShipmentView) {
				table(c.stdout,
					[]string{"order", v.OrderID},
					[]string{"shipment", v.ShipmentID},
					[]string{"status", v.Status},
					[]string{"carrier", v.Carrier},
					[]string{"tracking", v.TrackingNumber})
			})
		},
	}
}
