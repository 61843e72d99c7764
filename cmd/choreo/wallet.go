package main

import (
	"context"
	"fmt"
	"strconv"
)

func deposit(ctx context.Context, c *cli, args []string) error {
	pos, err := c.parse(c.flags("deposit", "CUSTOMER AMOUNT_CENTS"), args, 2, 2)
	if err != nil {
		return err
	}
	amount, err := strconv.ParseInt(pos[1], 10, 64)
	if err != nil {
		return usagef("deposit: AMOUNT_CENTS must be an integer number of cents, not %q", pos[1])
	}
	var v balanceView
	req := map[string]any{"customer_id": pos[0], "amount_cents": amount}
	return c.query(ctx, "payment.deposit", req, &v, func() { printBalance(c, v) })
}

func balance(ctx context.Context, c *cli, args []string) error {
	pos, err := c.parse(c.flags("balance", "CUSTOMER"), args, 1, 1)
	if err != nil {
		return err
	}
	var v balanceView
	req := map[string]any{"customer_id": pos[0]}
	return c.query(ctx, "payment.balance", req, &v, func() { printBalance(c, v) })
}

func printBalance(c *cli, v balanceView) {
	fmt.Fprintf(c.stdout, "%s: balance %s (%d cents)\n", v.CustomerID, money(v.BalanceCents), v.BalanceCents)
}
