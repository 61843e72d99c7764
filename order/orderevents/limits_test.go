package orderevents_test

import (
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/order/orderevents"
)

func placed() orderevents.OrderPlaced {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return orderevents.OrderPlaced{OrderID: "o-1", CustomerID: "alice",
		Items:      []orderevents.Item{{SKU: "widget", Quantity: 2, UnitPriceCents: 1500}, {SKU: "gadget", Quantity: 1, UnitPriceCents: 99}},
		TotalCents: 3099, Currency: "USD",
		ShippingAddress: orderevents.Address{Name: "Ada", Line1: "1 Way", City: "London", PostalCode: "N1", Country: "GB"},
		PlacedAt:        at, Deadline: at.Add(30 * time.Second)}
}

// An OrderPlaced outside the contract's limits is refused, naming the field.
func TestOrderPlacedValidate(t *testing.T) {
	t.Parallel()
	if err := placed().Validate(); err != nil {
		t.Fatalf("a valid OrderPlaced: %v", err)
	}
	for _, tc := range []struct {
		name   string
		break_ func(*orderevents.OrderPlaced)
		want   string
	}{
		{"total not the sum", func(e *orderevents.OrderPlaced) { e.TotalCents = 90_000 }, "total_cents must be the lines' total 3099, got 90000"},
		{"no lines", func(e *orderevents.OrderPlaced) { e.Items = nil; e.TotalCents = 0 }, "items must have between 1 and 100 entries"},
		{"too many lines", func(e *orderevents.OrderPlaced) {
			e.Items = make([]orderevents.Item, 101)
			for i := range e.Items {
				e.Items[i] = orderevents.Item{SKU: "s", Quantity: 1, UnitPriceCents: 1}
			}
			e.TotalCents = 101
		}, "items must have between 1 and 100 entries, got 101"},
		{"quantity", func(e *orderevents.OrderPlaced) { e.Items[0].Quantity = 40_000; e.TotalCents = 40_000*1500 + 99 }, "items[0].quantity must be between 1 and 10000"},
		{"sku", func(e *orderevents.OrderPlaced) { e.Items[1].SKU = "a.b" }, "items[1].sku"},
		{"order id", func(e *orderevents.OrderPlaced) { e.OrderID = "x y" }, "order_id"},
		{"huge name", func(e *orderevents.OrderPlaced) { e.ShippingAddress.Name = strings.Repeat("x", 1<<20) }, "shipping_address.name"},
		{"country", func(e *orderevents.OrderPlaced) { e.ShippingAddress.Country = "ZZ" }, "shipping_address.country"},
		{"deadline", func(e *orderevents.OrderPlaced) { e.Deadline = e.PlacedAt }, "deadline must be after placed_at"},
	} {
		e := placed()
		tc.break_(&e)
		if err := e.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestOrderCancelledValidate(t *testing.T) {
	t.Parallel()
	ok := orderevents.OrderCancelled{OrderID: "o-1", Reason: orderevents.ReasonTimeout}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := orderevents.OrderCancelled{OrderID: "o-1", Reason: "because"}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "reason") {
		t.Fatalf("unknown reason: %v", err)
	}
}
