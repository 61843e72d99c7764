package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/nats-io/nats.go"
)

const (
	placeUsage = "-customer C -item SKU:QTY:PRICE_CENTS [-item ...] -name N -line1 L -city C -postal P -country CC [-order ID] [-currency USD] [-wait]"
	placeHelp  = `
With -wait, choreo subscribes to the order's events before placing it, waits
(at most -timeout) for OrderCompleted or OrderCancelled, then prints the order
as order.get shows it. Without -order it then makes the order id itself (a
UUIDv7), so that it knows what to listen to; otherwise the service makes one.
An order still open when the wait times out is printed and exits with 1.`
)

type placeRequest struct {
	OrderID         string              `json:"order_id,omitempty"`
	CustomerID      string              `json:"customer_id"`
	Items           []orderevents.Item  `json:"items"`
	Currency        string              `json:"currency,omitempty"`
	ShippingAddress orderevents.Address `json:"shipping_address"`
}

// itemsFlag collects repeated -item SKU:QTY:PRICE_CENTS flags.
type itemsFlag []orderevents.Item

func (f *itemsFlag) String() string { return "" }

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
	*f = append(*f, orderevents.Item{SKU: parts[0], Quantity: qty, UnitPriceCents: price})
	return nil
}

func place(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("place", placeUsage)
	var req placeRequest
	var items itemsFlag
	var wait bool
	a := &req.ShippingAddress
	fs.StringVar(&req.CustomerID, "customer", "", "customer `id`")
	fs.Var(&items, "item", "an order line `SKU:QTY:PRICE_CENTS` (repeat for more)")
	fs.StringVar(&a.Name, "name", "", "recipient's name")
	fs.StringVar(&a.Line1, "line1", "", "street address")
	fs.StringVar(&a.City, "city", "", "city")
	fs.StringVar(&a.PostalCode, "postal", "", "postal code")
	fs.StringVar(&a.Country, "country", "", "ISO 3166-1 alpha-2 country `code`")
	fs.StringVar(&req.OrderID, "order", "", "order `id` (makes the placement idempotent)")
	fs.StringVar(&req.Currency, "currency", "", "ISO 4217 currency `code` (the service's default if empty)")
	fs.BoolVar(&wait, "wait", false, "wait until the order completes or is cancelled")
	if _, err := c.parse(fs, args, 0, 0); err != nil {
		return err
	}
	req.Items = items
	if !wait {
		var v orderView
		return c.query(ctx, "order.place", req, &v, func() { printOrder(c.stdout, v) })
	}
	if req.OrderID == "" {
		req.OrderID = envelope.NewID()
	}
	return c.placeAndWait(ctx, req)
}

// placeAndWait places req, whose order id is set, and waits for its saga's
// end. It listens before placing, so that no event can slip past.
func (c *cli) placeAndWait(ctx context.Context, req placeRequest) error {
	nc, err := c.conn()
	if err != nil {
		return err
	}
	events := make(chan *nats.Msg, 64)
	sub, err := nc.ChanSubscribe("order.events.*."+req.OrderID, events)
	if err != nil {
		return fmt.Errorf("subscribe to order %s: %w", req.OrderID, err)
	}
	defer sub.Unsubscribe()
	if err := nc.FlushTimeout(c.timeout); err != nil {
		return fmt.Errorf("subscribe to order %s: %w", req.OrderID, err)
	}

	wctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var v orderView
	if _, err := c.call(wctx, "order.place", req, &v); err != nil {
		return err
	}
	ended := v.terminal() // an idempotent repeat of a finished order
	for !ended && wctx.Err() == nil {
		select {
		case m := <-events:
			if t := strings.Split(m.Subject, "."); len(t) == 4 {
				ended = t[2] == "OrderCompleted" || t[2] == "OrderCancelled"
			}
		case <-wctx.Done():
		}
	}
	raw, err := c.call(ctx, "order.get", map[string]any{"order_id": req.OrderID}, &v)
	if err != nil {
		return err
	}
	if c.json {
		c.printRaw(raw)
	} else {
		printOrder(c.stdout, v)
	}
	if !v.terminal() {
		return fmt.Errorf("order %s is still %s after %s", v.OrderID, v.Status, c.timeout)
	}
	return nil
}

func cancel(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("cancel", "ORDER_ID [-reason TEXT]")
	reason := fs.String("reason", "", "free text kept with the cancellation")
	pos, err := c.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	req := map[string]any{"order_id": pos[0]}
	if *reason != "" {
		req["reason"] = *reason
	}
	var v orderView
	return c.query(ctx, "order.cancel", req, &v, func() { printOrder(c.stdout, v) })
}

func get(ctx context.Context, c *cli, args []string) error {
	pos, err := c.parse(c.flags("get", "ORDER_ID"), args, 1, 1)
	if err != nil {
		return err
	}
	var v orderView
	return c.query(ctx, "order.get", map[string]any{"order_id": pos[0]}, &v, func() { printOrder(c.stdout, v) })
}

func list(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("list", "[-customer C] [-status S] [-limit N]")
	var req struct {
		CustomerID string `json:"customer_id,omitempty"`
		Status     string `json:"status,omitempty"`
		Limit      int    `json:"limit,omitempty"`
	}
	fs.StringVar(&req.CustomerID, "customer", "", "only this customer's orders")
	fs.StringVar(&req.Status, "status", "", "only orders with this status")
	fs.IntVar(&req.Limit, "limit", 0, "at most `N` orders (the service's default if 0)")
	if _, err := c.parse(fs, args, 0, 0); err != nil {
		return err
	}
	var v struct {
		Orders []orderView `json:"orders"`
	}
	return c.query(ctx, "order.list", req, &v, func() {
		if len(v.Orders) == 0 {
			fmt.Fprintln(c.stdout, "no orders")
			return
		}
		rows := [][]string{{"ORDER", "CUSTOMER", "STATUS", "TOTAL", "UPDATED"}}
		for _, o := range v.Orders {
			rows = append(rows, []string{o.OrderID, o.CustomerID, o.Status, money(o.TotalCents) + " " + o.Currency, stamp(o.UpdatedAt)})
		}
		table(c.stdout, rows...)
	})
}

func history(ctx context.Context, c *cli, args []string) error {
	pos, err := c.parse(c.flags("history", "ORDER_ID"), args, 1, 1)
	if err != nil {
		return err
	}
	var v struct {
		Events []envelope.Envelope `json:"events"`
	}
	return c.query(ctx, "order.history", map[string]any{"order_id": pos[0]}, &v, func() {
		rows := [][]string{{"VERSION", "TYPE", "OCCURRED_AT", "ID"}}
		for _, e := range v.Events {
			rows = append(rows, []string{strconv.FormatUint(e.Version, 10), e.Type, e.OccurredAt.UTC().Format(milliTime), e.ID})
		}
		table(c.stdout, rows...)
	})
}

func payment(ctx context.Context, c *cli, args []string) error {
	pos, err := c.parse(c.flags("payment", "ORDER_ID"), args, 1, 1)
	if err != nil {
		return err
	}
	var v paymentView
	return c.query(ctx, "payment.get", map[string]any{"order_id": pos[0]}, &v, func() {
		table(c.stdout,
			[]string{"order", v.OrderID},
			[]string{"payment", v.PaymentID},
			[]string{"customer", v.CustomerID},
			[]string{"amount", money(v.AmountCents)},
			[]string{"status", v.Status})
	})
}

func shipment(ctx context.Context, c *cli, args []string) error {
	pos, err := c.parse(c.flags("shipment", "ORDER_ID"), args, 1, 1)
	if err != nil {
		return err
	}
	var v shipmentView
	return c.query(ctx, "shipping.get", map[string]any{"order_id": pos[0]}, &v, func() {
		table(c.stdout,
			[]string{"order", v.OrderID},
			[]string{"shipment", v.ShipmentID},
			[]string{"status", v.Status},
			[]string{"carrier", v.Carrier},
			[]string{"tracking", v.TrackingNumber})
	})
}
