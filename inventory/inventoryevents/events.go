// Package inventoryevents holds the events the inventory service publishes on
// its INVENTORY_EVENTS stream. It is the only part of the inventory service
// that another service may import.
package inventoryevents

import (
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/envelope"
)

// Service is the inventory service's name: its micro service name, its subject
// prefix ("inventory.events.…") and its consumers' durable name.
const Service = "inventory"

// StockReserved records that every line of an order is reserved. It carries
// the shipping address (event-carried state) for the shipping service.
type StockReserved struct {
	OrderID         string              `json:"order_id"`
	Items           []orderevents.Item  `json:"items"`
	ShippingAddress orderevents.Address `json:"shipping_address"`
}

// StockReservationFailed records that an order could not be reserved: SKU is
// the first line's SKU (in item order) whose Available stock is below the
// Requested quantity (summed over the order's lines for that SKU). Nothing of
// the order is reserved.
type StockReservationFailed struct {
	OrderID   string `json:"order_id"`
	SKU       string `json:"sku"`
	Requested int64  `json:"requested"`
	Available int64  `json:"available"`
}

// StockReleased records that an order's reservation was given back because the
// order was cancelled. There is at most one per order, and only after a
// reservation.
type StockReleased struct {
	OrderID string             `json:"order_id"`
	Items   []orderevents.Item `json:"items"`
}

// StockRestocked records stock added to a SKU; Available is the available
// quantity right after it.
type StockRestocked struct {
	SKU       string `json:"sku"`
	Quantity  int64  `json:"quantity"`
	Available int64  `json:"available"`
}

func (StockReserved) EventType() string          { return "StockReserved" }
func (StockReservationFailed) EventType() string { return "StockReservationFailed" }
func (StockReleased) EventType() string          { return "StockReleased" }
func (StockRestocked) EventType() string         { return "StockRestocked" }

// Correlation is the saga the event belongs to: its order id, which the
// envelope's correlation_id carries.
func (e StockReserved) Correlation() string          { return e.OrderID }
func (e StockReservationFailed) Correlation() string { return e.OrderID }
func (e StockReleased) Correlation() string          { return e.OrderID }

// Register adds every public inventory event type to r.
func Register(r *envelope.Registry) {
	envelope.RegisterPublic[StockReserved](r, Service)
	envelope.RegisterPublic[StockReservationFailed](r, Service)
	envelope.RegisterPublic[StockReleased](r, Service)
	envelope.RegisterPublic[StockRestocked](r, Service)
	envelope.RegisterPublic[StockPartReserved](r, Service)
	envelope.RegisterPublic[StockPartFailed](r, Service)
	envelope.RegisterPublic[StockPartReleased](r, Service)
}
