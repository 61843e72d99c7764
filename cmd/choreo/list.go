package main

import (
	"context"
	"fmt"

	"github.com/choreo-dev/choreo/client"
	"github.com/spf13/cobra"
)

func (c *cli) listCmd() *cobra.Command {
	var req client.ListRequest
	cmd := &cobra.Command{
		Use:               "list [-customer C] [-status S] [-limit N]",
		Short:             "list orders, newest first",
		Long:              `Lists orders, newest first. With -o json it prints order.list's reply, {"orders":[…]}.`,
		Args:              args(0, 0),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return query(cmd.Context(), c, func(ctx context.Context, cl *client.Client) (client.OrderList, error) {
				orders, err := cl.List(ctx, req)
				return client.OrderList{Orders: orders}, err
			}, c.printOrders)
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.CustomerID, "customer", "", "only this customer's orders")
	f.StringVar(&req.Status, "status", "", "only orders with this status (pending, paid, reserved, completed, cancelled)")
	f.IntVar(&req.Limit, "limit", 0, "at most `N` orders (the service's default, 50, if 0)")
	_ = cmd.RegisterFlagCompletionFunc("customer", cobra.NoFileCompletions)
	_ = cmd.RegisterFlagCompletionFunc("status", fixed("pending", "paid", "reserved", "completed", "cancelled"))
	return cmd
}

func (c *cli) printOrders(l client.OrderList) {
	if len(l.Orders) == 0 {
		fmt.Fprintln(c.stdout, "no orders")
		return
	}
	rows := [][]string{{"ORDER", "CUSTOMER", "STATUS", "TOTAL", "UPDATED"}}
	for _, o := range l.Orders {
		rows = append(rows, []string{o.OrderID, o.CustomerID, o.Status, money(o.TotalCents) + " " + o.Currency, stamp(o.UpdatedAt)})
	}
	table(c.stdout, rows...)
}
