package domain_test

import (
	"errors"
	"math"
	"testing"

	"github.com/choreo-dev/choreo/inventory/domain"
	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/envelope/envelopetest"
)

func TestRestock(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		sku     domain.SKU
		qty     int64
		want    []envelope.Event
		wantErr error
	}{
		{name: "new sku", sku: domain.NewSKU("A"), qty: 5,
			want: []envelope.Event{inventoryevents.StockRestocked{SKU: "A", Quantity: 5, Available: 5}}},
		{name: "with reservations", sku: domain.SKU{SKU: "A", Available: 2, Reserved: 3, Restocked: 5, Exists: true}, qty: 5,
			want: []envelope.Event{inventoryevents.StockRestocked{SKU: "A", Quantity: 5, Available: 7}}},
		{name: "zero", sku: domain.NewSKU("A"), qty: 0, wantErr: domain.ErrInvalidQuantity},
		{name: "negative", sku: domain.NewSKU("A"), qty: -1, wantErr: domain.ErrInvalidQuantity},
		{name: "overflow", sku: domain.SKU{SKU: "A", Available: 1, Reserved: math.MaxInt64 - 1, Restocked: math.MaxInt64, Exists: true},
			qty: 1, wantErr: domain.ErrStockOverflow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.Restock(tc.sku, "A", tc.qty)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			envelopetest.Equal(t, "events", got, tc.want)
		})
	}
}

func TestEvolveSKU(t *testing.T) {
	t.Parallel()
	events := []envelope.Event{
		inventoryevents.StockRestocked{SKU: "A", Quantity: 10, Available: 10},
		domain.SKUReserved{OrderID: "o1", SKU: "A", Quantity: 4},
		inventoryevents.StockReserved{OrderID: "o1"}, // another aggregate's: ignored
		domain.SKUReserved{OrderID: "o2", SKU: "A", Quantity: 6},
		domain.SKUReleased{OrderID: "o1", SKU: "A", Quantity: 4},
		inventoryevents.StockRestocked{SKU: "A", Quantity: 1, Available: 5},
	}
	got := envelopetest.Fold(domain.NewSKU("A"), domain.EvolveSKU, events...)
	envelopetest.Equal(t, "sku", got, domain.SKU{SKU: "A", Available: 5, Reserved: 6, Restocked: 11, Exists: true})
	envelopetest.CheckSnapshots(t, domain.NewSKU("A"), domain.EvolveSKU, events)
}
