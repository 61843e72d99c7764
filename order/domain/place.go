package domain

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/envelope"
)

// DefaultCurrency is an order's currency when the request names none.
const DefaultCurrency = "USD"

// PlaceOrder is a validated order.place request. OrderID is always set: the
// caller makes one (a UUIDv7) when the request has none.
type PlaceOrder struct {
	OrderID         string              `json:"order_id"`
	CustomerID      string              `json:"customer_id"`
	Items           []orderevents.Item  `json:"items"`
	Currency        string              `json:"currency"`
	ShippingAddress orderevents.Address `json:"shipping_address"`
}

func (c PlaceOrder) currency() string {
	if c.Currency == "" {
		return DefaultCurrency
	}
	return c.Currency
}

// Place opens an order's saga: OrderPlaced, at now, with a deadline timeout
// later. If o was already placed, placing the same content again returns no
// events and no error (the caller answers the existing order), and different
// content returns ErrIdempotencyMismatch.
func Place(o Order, cmd PlaceOrder, now time.Time, timeout time.Duration) ([]envelope.Event, error) {
	if o.Placed() {
		if !SameContent(o, cmd) {
			return nil, fmt.Errorf("place %s: %w", o.OrderID, ErrIdempotencyMismatch)
		}
		return nil, nil
	}
	total, err := Total(cmd.Items)
	if err != nil {
		return nil, fmt.Errorf("place %s: %w", cmd.OrderID, err)
	}
	now = now.UTC()
	return []envelope.Event{orderevents.OrderPlaced{
		OrderID:         cmd.OrderID,
		CustomerID:      cmd.CustomerID,
		Items:           slices.Clone(cmd.Items),
		TotalCents:      total,
		Currency:        cmd.currency(),
		ShippingAddress: cmd.ShippingAddress,
		PlacedAt:        now,
		Deadline:        now.Add(timeout),
	}}, nil
}

// SameContent reports whether cmd places the order o already is: same
// customer, same items in the same order, same currency (after defaulting)
// and same address.
func SameContent(o Order, cmd PlaceOrder) bool {
	return o.CustomerID == cmd.CustomerID &&
		slices.Equal(o.Items, cmd.Items) &&
		o.Currency == cmd.currency() &&
		o.ShippingAddress == cmd.ShippingAddress
}

// Total returns the sum of quantity × unit price over items, or
// ErrTotalOverflow if it does not fit in int64, or ErrInvalidItems if there
// are no items or a line has a non-positive quantity or a negative price.
func Total(items []orderevents.Item) (int64, error) {
	if len(items) == 0 {
		return 0, fmt.Errorf("no items: %w", ErrInvalidItems)
	}
	var total int64
	for i, it := range items {
		if it.Quantity <= 0 || it.UnitPriceCents < 0 {
			return 0, fmt.Errorf("items[%d]: quantity %d, unit price %d: %w", i, it.Quantity, it.UnitPriceCents, ErrInvalidItems)
		}
		if it.UnitPriceCents > math.MaxInt64/it.Quantity {
			return 0, fmt.Errorf("items[%d]: %w", i, ErrTotalOverflow)
		}
		line := it.Quantity * it.UnitPriceCents
		if total > math.MaxInt64-line {
			return 0, fmt.Errorf("items[%d]: %w", i, ErrTotalOverflow)
		}
		total += line
	}
	return total, nil
}
