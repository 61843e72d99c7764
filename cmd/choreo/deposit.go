package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/choreo-dev/choreo/client"
	"github.com/spf13/cobra"
)

func (c *cli) depositCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "deposit CUSTOMER AMOUNT_CENTS",
		Short: "add money to a customer's wallet",
		Long: `Adds AMOUNT_CENTS (1 to 1,000,000,000) to CUSTOMER's wallet, creating it if
need be, and prints the new balance. Deposits are not idempotent: a timeout
leaves it unknown whether the money arrived (choreo balance tells).`,
		Args:              args(2, 2),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, a []string) error {
			amount, err := integer("amount_cents", "an integer number of cents", a[1])
			if err != nil {
				return err
			}
			return query(cmd.Context(), c, func(ctx context.Context, cl *client.Client) (client.BalanceView, error) {
				return cl.Deposit(ctx, a[0], amount)
			}, c.printBalance)
		},
	}
}

func (c *cli) printBalance(v client.BalanceView) {
	fmt.Fprintf(c.stdout, "%s: balance %s (%d cents)\n", v.CustomerID, money(v.BalanceCents), v.BalanceCents)
}

// integer parses a numeric argument. Its range is the service's to check, so
// that the message people see is the contract's, naming the field
// (choreo deposit bob -5: "amount_cents must be between 1 and 1000000000").
func integer(field, what, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, usagef("%s must be %s, not %q", field, what, s)
	}
	return n, nil
}
