package orderevents

import (
	"fmt"
	"math"
	"time"

	"github.com/choreo-dev/choreo/shared/endpoint"
)

// The contract's limits on an order (docs/contract.md, section 2). A
// consumer checks an event against them before it believes it (see Validate
// below and the other events packages): an event outside them was not made
// by a service that keeps the contract.
const (
	MaxItems          = 100
	MaxQuantity       = 10_000
	MaxUnitPriceCents = 100_000_000
)

// Sum is the order total of items — the sum of quantity × unit price — and
// false if it does not fit in int64.
func Sum(items []Item) (int64, bool) {
	var total int64
	for _, it := range items {
		if it.Quantity <= 0 || it.UnitPriceCents < 0 || it.UnitPriceCents > math.MaxInt64/it.Quantity {
			return 0, false
		}
		line := it.Quantity * it.UnitPriceCents
		if total > math.MaxInt64-line {
			return 0, false
		}
		total += line
	}
	return total, true
}

// CheckItems adds to p what is wrong with an order's lines, naming each
// field under field ("items[2].quantity").
func CheckItems(p *endpoint.Problems, field string, items []Item) {
	if n := len(items); n < 1 || n > MaxItems {
		p.Add(field, "must have between 1 and %d entries, got %d", MaxItems, n)
		return
	}
	for i, it := range items {
		p.ID(endpoint.Field(field, i, "sku"), it.SKU)
		p.IntRange(endpoint.Field(field, i, "quantity"), it.Quantity, 1, MaxQuantity)
		p.IntRange(endpoint.Field(field, i, "unit_price_cents"), it.UnitPriceCents, 0, MaxUnitPriceCents)
	}
}

// CheckAddress adds to p what is wrong with a shipping address.
func CheckAddress(p *endpoint.Problems, field string, a Address) {
	p.Text(field+".name", a.Name, true)
	p.Text(field+".line1", a.Line1, true)
	p.Text(field+".city", a.City, true)
	p.Text(field+".postal_code", a.PostalCode, true)
	p.Country(field+".country", a.Country)
}

// CheckAmount adds to p a mismatch between amount and the lines' total.
func CheckAmount(p *endpoint.Problems, field string, amount int64, items []Item) {
	if total, ok := Sum(items); !ok {
		p.Add(field, "the lines' total does not fit in int64")
	} else if amount != total {
		p.Add(field, "must be the lines' total %d, got %d", total, amount)
	}
}

// Validate checks an OrderPlaced against the contract: identifiers, 1–100
// lines within their limits, a total that is the sum of the lines, a
// currency code, a full address, and a deadline after the placing.
func (e OrderPlaced) Validate() error {
	var p endpoint.Problems
	p.ID("order_id", e.OrderID)
	p.ID("customer_id", e.CustomerID)
	CheckItems(&p, "items", e.Items)
	CheckAmount(&p, "total_cents", e.TotalCents, e.Items)
	if len(e.Currency) != 3 {
		p.Add("currency", "must be a three-letter ISO 4217 code, got %q", e.Currency)
	}
	CheckAddress(&p, "shipping_address", e.ShippingAddress)
	if e.PlacedAt.IsZero() || !e.Deadline.After(e.PlacedAt) || e.Deadline.Sub(e.PlacedAt) > 24*time.Hour*366 {
		p.Add("deadline", "must be after placed_at (and within a year of it)")
	}
	return p.Err()
}

// Validate checks an OrderCancelled: its order and a known reason.
func (e OrderCancelled) Validate() error {
	var p endpoint.Problems
	p.ID("order_id", e.OrderID)
	switch e.Reason {
	case ReasonPaymentFailed, ReasonInsufficientStock, ReasonShippingFailed, ReasonCustomerRequest, ReasonTimeout:
	default:
		p.Add("reason", "must be one of the cancellation reasons, got %q", e.Reason)
	}
	p.Text("note", e.Note, false)
	p.OptionalID("customer_id", e.CustomerID)
	if len(e.SKUs) > MaxItems {
		p.Add("skus", "must have at most %d entries, got %d", MaxItems, len(e.SKUs))
	}
	for i, sku := range e.SKUs {
		p.ID(fmt.Sprintf("skus[%d]", i), sku)
	}
	return p.Err()
}
