package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"
)

const placeHelp = `Places an order of one or more -item SKU:QTY:PRICE_CENTS lines, shipped to
the address given by -name, -line1, -city, -postal and -country, and prints
it, pending.

With -wait, choreo subscribes to the saga's events before placing it, shows
each step on stderr as the order service records it, waits (at most
-timeout) until the saga is over — completed, or cancelled and every
compensation recorded (a refund, a release) — then prints the order as
order.get shows it. Without -order it then makes the order id itself (a
UUIDv7), so that it knows what to listen to; otherwise the service makes
one. An order still open, or still waiting for a compensation, when the
wait times out is printed and exits with 1.`

// itemsFlag collects repeated -item SKU:QTY:PRICE_CENTS flags.
type itemsFlag []client.Item

func (f *itemsFlag) String() string { return "" }
func (f *itemsFlag) Type() string   { return "SKU:QTY:PRICE_CENTS" }

func (f *itemsFlag) Set(s string) error {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return fmt.Errorf("want SKU:QTY:PRICE_CENTS, got %q", s)
	}
	qty, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return fmt.Errorf("quantity %q is not an integer", parts[1])
	}
	price, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return fmt.Errorf("price %q is not an integer number of cents", parts[2])
	}
	*f = append(*f, client.Item{SKU: parts[0], Quantity: qty, UnitPriceCents: price})
	return nil
}

func (c *cli) placeCmd() *cobra.Command {
	var req client.PlaceRequest
	var items itemsFlag
	var wait bool
	cmd := &cobra.Command{
		Use:               "place -customer C -item SKU:QTY:PRICE_CENTS [-item ...] -name N -line1 L -city C -postal P -country CC [-order ID] [-currency USD] [-wait]",
		Short:             "place an order",
		Long:              placeHelp,
		Args:              args(0, 0),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req.Items = items
			if !wait {
				return query(cmd.Context(), c, func(ctx context.Context, cl *client.Client) (client.OrderView, error) {
					return cl.Place(ctx, req)
				}, c.printOrder)
			}
			if req.OrderID == "" {
				req.OrderID = envelope.NewID()
			}
			return c.placeAndWait(cmd.Context(), req)
		},
	}
	f := cmd.Flags()
	a := &req.ShippingAddress
	f.StringVar(&req.CustomerID, "customer", "", "customer `id`")
	f.Var(&items, "item", "an order line `SKU:QTY:PRICE_CENTS` (repeat for more)")
	f.StringVar(&a.Name, "name", "", "recipient's name")
	f.StringVar(&a.Line1, "line1", "", "street address")
	f.StringVar(&a.City, "city", "", "city")
	f.StringVar(&a.PostalCode, "postal", "", "postal code")
	f.StringVar(&a.Country, "country", "", "ISO 3166-1 alpha-2 country `code`")
	f.StringVar(&req.OrderID, "order", "", "order `id` (makes the placement idempotent)")
	f.StringVar(&req.Currency, "currency", "", "ISO 4217 currency `code` (the service's default if empty)")
	f.BoolVar(&wait, "wait", false, "wait until the order completes or is cancelled")
	for _, name := range []string{"customer", "item", "name", "line1", "city", "postal", "country", "order", "currency"} {
		_ = cmd.RegisterFlagCompletionFunc(name, cobra.NoFileCompletions)
	}
	return cmd
}

func (c *cli) printOrder(v client.OrderView) { printOrder(c.stdout, v) }

// placeAndWait places req, whose order id is set, and waits for its saga's
// end, showing its steps on stderr. It listens before placing, so that no
// event can slip past.
func (c *cli) placeAndWait(ctx context.Context, req client.PlaceRequest) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	events := make(chan *nats.Msg, 64)
	sub, err := c.nc.ChanSubscribe(sagaSubject(req.OrderID), events)
	if err != nil {
		return fmt.Errorf("subscribe to order %s: %w", req.OrderID, err)
	}
	defer sub.Unsubscribe()
	if err := c.nc.FlushTimeout(c.timeout); err != nil {
		return fmt.Errorf("subscribe to order %s: %w", req.OrderID, err)
	}

	wctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if _, err := cl.Place(wctx, req); err != nil {
		return err
	}
	tl, over, err := follow(wctx, cl, events, req.OrderID, c.stderr, false)
	if err != nil {
		return err
	}
	v, err := cl.Get(ctx, req.OrderID)
	if err != nil {
		return err
	}
	if err := c.show(v, func() { c.printOrder(v) }); err != nil {
		return err
	}
	switch {
	case !v.Terminal():
		return fmt.Errorf("order %s is still %s after %s", v.OrderID, v.Status, c.timeout)
	case !over && tl.WaitingOn != nil:
		return fmt.Errorf("order %s is %s, still waiting on %s after %s", v.OrderID, v.Status, *tl.WaitingOn, c.timeout)
	}
	return nil
}
