package main

import (
	"context"
	"fmt"
	"strconv"
)

func restock(ctx context.Context, c *cli, args []string) error {
	pos, err := c.parse(c.flags("restock", "SKU QTY"), args, 2, 2)
	if err != nil {
		return err
	}
	qty, err := strconv.ParseInt(pos[1], 10, 64)
	if err != nil {
		return usagef("restock: QTY must be an integer, not %q", pos[1])
	}
	var v stockView
	req := map[string]any{"sku": pos[0], "quantity": qty}
	return c.query(ctx, "inventory.restock", req, &v, func() { printStock(c, v) })
}

func stock(ctx context.Context, c *cli, args []string) error {
	pos, err := c.parse(c.flags("stock", "SKU"), args, 1, 1)
	if err != nil {
		return err
	}
	var v stockView
	return c.query(ctx, "inventory.get", map[string]any{"sku": pos[0]}, &v, func() { printStock(c, v) })
}

func printStock(c *cli, v stockView) {
	fmt.Fprintf(c.stdout, "%s: %d available, %d reserved\n", v.SKU, v.Available, v.Reserved)
}
