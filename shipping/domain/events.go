package domain

import "github.com/choreo-dev/choreo/shared/envelope"

// ShipmentCancellationNoted is a private Shipment event: the order was
// cancelled before shipping decided anything, so it never will. It is stored
// in shipping's log and never published.
type ShipmentCancellationNoted struct {
	OrderID string `json:"order_id"`
}

func (ShipmentCancellationNoted) EventType() string { return "ShipmentCancellationNoted" }

// Register adds shipping's private event types to r. The public ones are
// registered by shippingevents.Register.
func Register(r *envelope.Registry) {
	envelope.Register[ShipmentCancellationNoted](r)
}
