// Package shippingevents holds the events the shipping service publishes on
// its SHIPPING_EVENTS stream. It is the only part of the shipping service that
// another service may import.
package shippingevents

import "github.com/choreo-dev/choreo/shared/envelope"

// Service is the shipping service's name: its micro service name, its subject
// prefix ("shipping.events.…") and its consumers' durable name.
const Service = "shipping"

// ReasonUnsupportedDestination is ShipmentFailed's reason when the order's
// country is not served.
const ReasonUnsupportedDestination = "unsupported_destination"

// ShipmentScheduled records a shipment booked for an order.
type ShipmentScheduled struct {
	OrderID        string `json:"order_id"`
	ShipmentID     string `json:"shipment_id"`
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"tracking_number"`
	Country        string `json:"country"`
}

// ShipmentFailed records that an order cannot be shipped. Reason is
// ReasonUnsupportedDestination; Country is the destination refused.
type ShipmentFailed struct {
	OrderID    string `json:"order_id"`
	ShipmentID string `json:"shipment_id"`
	Reason     string `json:"reason"`
	Country    string `json:"country"`
}

// ShipmentCancelled records that a scheduled shipment was called off because
// its order was cancelled. There is at most one per order, and only after a
// ShipmentScheduled.
type ShipmentCancelled struct {
	OrderID    string `json:"order_id"`
	ShipmentID string `json:"shipment_id"`
}

func (ShipmentScheduled) EventType() string { return "ShipmentScheduled" }
func (ShipmentFailed) EventType() string    { return "ShipmentFailed" }
func (ShipmentCancelled) EventType() string { return "ShipmentCancelled" }

// Correlation is the saga the event belongs to: its order id, which the
// envelope's correlation_id carries.
func (e ShipmentScheduled) Correlation() string { return e.OrderID }
func (e ShipmentFailed) Correlation() string    { return e.OrderID }
func (e ShipmentCancelled) Correlation() string { return e.OrderID }

// Register adds every public shipping event type to r.
func Register(r *envelope.Registry) {
	envelope.RegisterPublic[ShipmentScheduled](r, Service)
	envelope.RegisterPublic[ShipmentFailed](r, Service)
	envelope.RegisterPublic[ShipmentCancelled](r, Service)
}
