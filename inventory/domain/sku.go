package domain

import (
	"fmt"
	"math"

	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/shared/envelope"
)

// SKUAggregate is the SKU aggregate's type name in the event store.
const SKUAggregate = "sku"

// SKU is one stock-keeping unit's stock. Available + Reserved == Restocked.
// Exists is false until the SKU is first restocked (a query for a SKU that
// does not exist is a not-found).
type SKU struct {
	SKU       string `json:"sku"`
	Available int64  `json:"available"`
	Reserved  int64  `json:"reserved"`
	Restocked int64  `json:"restocked"`
	Exists    bool   `json:"exists"`
}

// NewSKU returns the state of a SKU with no events.
func NewSKU(sku string) SKU { return SKU{SKU: sku} }

// EvolveSKU folds one event into a SKU. Events of other types leave it
// unchanged.
func EvolveSKU(s SKU, e envelope.Event) SKU {
	switch e := e.(type) {
	case inventoryevents.StockRestocked:
		s.Available += e.Quantity
		s.Restocked += e.Quantity
		s.Exists = true
	case SKUReserved:
		s.Available -= e.Quantity
		s.Reserved += e.Quantity
	case SKUReleased:
		s.Available += e.Quantity
		s.Reserved -= e.Quantity
	}
	return s
}

// Restock adds qty units to the SKU's available stock.
func Restock(s SKU, sku string, qty int64) ([]envelope.Event, error) {
	if qty <= 0 {
		return nil, fmt.Errorf("restock %s by %d: %w", sku, qty, ErrInvalidQuantity)
	}
	if s.Restocked > math.MaxInt64-qty {
		return nil, fmt.Errorf("restock %s by %d: %w", sku, qty, ErrStockOverflow)
	}
	return []envelope.Event{inventoryevents.StockRestocked{
		SKU:       sku,
		Quantity:  qty,
		Available: s.Available + qty,
	}}, nil
}
