package domain_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/order/domain"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/envelope/envelopetest"
)

var (
	now     = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	timeout = 30 * time.Second
	items   = []orderevents.Item{{SKU: "A", Quantity: 2, UnitPriceCents: 150}, {SKU: "B", Quantity: 1, UnitPriceCents: 0}}
	address = orderevents.Address{Name: "N", Line1: "L", City: "C", PostalCode: "P", Country: "US"}
	cmd     = domain.PlaceOrder{OrderID: "o1", CustomerID: "c1", Items: items, ShippingAddress: address}
	placed  = orderevents.OrderPlaced{OrderID: "o1", CustomerID: "c1", Items: items, TotalCents: 300,
		Currency: domain.DefaultCurrency, ShippingAddress: address, PlacedAt: now, Deadline: now.Add(timeout)}
)

func order(events ...envelope.Event) domain.Order {
	return envelopetest.Fold(domain.NewOrder("o1"), domain.EvolveOrder, events...)
}

func TestPlace(t *testing.T) {
	t.Parallel()
	other := func(f func(*domain.PlaceOrder)) domain.PlaceOrder {
		c := cmd
		c.Items = append([]orderevents.Item(nil), items...)
		f(&c)
		return c
	}
	for _, tc := range []struct {
		name    string
		order   domain.Order
		cmd     domain.PlaceOrder
		want    []envelope.Event
		wantErr error
	}{
		{name: "new order", order: order(), cmd: cmd, want: []envelope.Event{placed}},
		{name: "currency kept", order: order(), cmd: other(func(c *domain.PlaceOrder) { c.Currency = "EUR" }),
			want: []envelope.Event{func() envelope.Event { p := placed; p.Currency = "EUR"; return p }()}},
		{name: "same content again", order: order(placed), cmd: cmd},
		{name: "same content, currency spelled out", order: order(placed),
			cmd: other(func(c *domain.PlaceOrder) { c.Currency = domain.DefaultCurrency })},
		{name: "same content after it moved on", order: order(placed, orderevents.OrderPaid{OrderID: "o1"}), cmd: cmd},
		{name: "other customer", order: order(placed), cmd: other(func(c *domain.PlaceOrder) { c.CustomerID = "c2" }),
			wantErr: domain.ErrIdempotencyMismatch},
		{name: "other quantity", order: order(placed), cmd: other(func(c *domain.PlaceOrder) { c.Items[1].Quantity = 2 }),
			wantErr: domain.ErrIdempotencyMismatch},
		{name: "items reordered", order: order(placed),
			cmd:     other(func(c *domain.PlaceOrder) { c.Items[0], c.Items[1] = c.Items[1], c.Items[0] }),
			wantErr: domain.ErrIdempotencyMismatch},
		{name: "other currency", order: order(placed), cmd: other(func(c *domain.PlaceOrder) { c.Currency = "EUR" }),
			wantErr: domain.ErrIdempotencyMismatch},
		{name: "other address", order: order(placed), cmd: other(func(c *domain.PlaceOrder) { c.ShippingAddress.City = "D" }),
			wantErr: domain.ErrIdempotencyMismatch},
		{name: "line overflows", order: order(),
			cmd: other(func(c *domain.PlaceOrder) {
				c.Items = []orderevents.Item{{SKU: "A", Quantity: 3, UnitPriceCents: math.MaxInt64 / 2}}
			}), wantErr: domain.ErrTotalOverflow},
		{name: "sum overflows", order: order(),
			cmd: other(func(c *domain.PlaceOrder) {
				c.Items = []orderevents.Item{{SKU: "A", Quantity: 1, UnitPriceCents: math.MaxInt64}, {SKU: "B", Quantity: 1, UnitPriceCents: 1}}
			}), wantErr: domain.ErrTotalOverflow},
		{name: "no items", order: order(), cmd: other(func(c *domain.PlaceOrder) { c.Items = nil }),
			wantErr: domain.ErrInvalidItems},
		{name: "zero quantity", order: order(), cmd: other(func(c *domain.PlaceOrder) { c.Items[0].Quantity = 0 }),
			wantErr: domain.ErrInvalidItems},
		{name: "negative price", order: order(), cmd: other(func(c *domain.PlaceOrder) { c.Items[0].UnitPriceCents = -1 }),
			wantErr: domain.ErrInvalidItems},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.Place(tc.order, tc.cmd, now, timeout)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			envelopetest.Equal(t, "events", got, tc.want)
		})
	}
}

func TestPlaceUsesUTC(t *testing.T) {
	t.Parallel()
	local := now.In(time.FixedZone("X", 3600))
	events, err := domain.Place(order(), cmd, local, timeout)
	if err != nil {
		t.Fatal(err)
	}
	p := events[0].(orderevents.OrderPlaced)
	if p.PlacedAt.Location() != time.UTC || !p.PlacedAt.Equal(now) || !p.Deadline.Equal(now.Add(timeout)) {
		t.Fatalf("placed at %v, deadline %v", p.PlacedAt, p.Deadline)
	}
}

func TestTotal(t *testing.T) {
	t.Parallel()
	got, err := domain.Total([]orderevents.Item{{SKU: "A", Quantity: 10000, UnitPriceCents: 100_000_000}, {SKU: "B", Quantity: 3, UnitPriceCents: 7}})
	if err != nil {
		t.Fatal(err)
	}
	envelopetest.Equal(t, "total", got, int64(1_000_000_000_021))
	got, err = domain.Total([]orderevents.Item{{SKU: "A", Quantity: 1, UnitPriceCents: math.MaxInt64}})
	if err != nil {
		t.Fatal(err)
	}
	envelopetest.Equal(t, "max total", got, int64(math.MaxInt64))
}

func TestPlacedOrder(t *testing.T) {
	t.Parallel()
	o := order(placed)
	envelopetest.Equal(t, "order", o, domain.Order{OrderID: "o1", CustomerID: "c1", Items: items, TotalCents: 300,
		Currency: "USD", ShippingAddress: address, Status: domain.StatusPending,
		Steps:    domain.Steps{Payment: domain.StepPending, Inventory: domain.StepPending, Shipping: domain.StepPending},
		PlacedAt: now, Deadline: now.Add(timeout)})
	if !o.Placed() || o.Terminal() {
		t.Fatalf("placed %v terminal %v", o.Placed(), o.Terminal())
	}
	if !domain.SameContent(o, cmd) {
		t.Fatal("SameContent of its own command is false")
	}
	if n := domain.NewOrder("o1"); n.Placed() || n.Terminal() {
		t.Fatalf("new order: placed %v terminal %v", n.Placed(), n.Terminal())
	}
}
