package inventoryevents

import (
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/endpoint"
)

// Validate checks a StockReserved against the contract: the order, its
// lines and its address.
func (e StockReserved) Validate() error {
	var p endpoint.Problems
	p.ID("order_id", e.OrderID)
	orderevents.CheckItems(&p, "items", e.Items)
	orderevents.CheckAddress(&p, "shipping_address", e.ShippingAddress)
	return p.Err()
}

// Validate checks a StockReservationFailed's order and SKU.
func (e StockReservationFailed) Validate() error {
	var p endpoint.Problems
	p.ID("order_id", e.OrderID)
	p.ID("sku", e.SKU)
	return p.Err()
}

// Validate checks a StockReleased's order and lines.
func (e StockReleased) Validate() error {
	var p endpoint.Problems
	p.ID("order_id", e.OrderID)
	orderevents.CheckItems(&p, "items", e.Items)
	return p.Err()
}
