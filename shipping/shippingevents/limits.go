package shippingevents

import "github.com/choreo-dev/choreo/shared/endpoint"

// Validate checks a ShipmentScheduled's identifiers and texts.
func (e ShipmentScheduled) Validate() error {
	var p endpoint.Problems
	p.ID("order_id", e.OrderID)
	p.ID("shipment_id", e.ShipmentID)
	p.Text("carrier", e.Carrier, true)
	p.Text("tracking_number", e.TrackingNumber, true)
	p.Country("country", e.Country)
	return p.Err()
}

// Validate checks a ShipmentFailed's identifiers.
func (e ShipmentFailed) Validate() error {
	var p endpoint.Problems
	p.ID("order_id", e.OrderID)
	p.ID("shipment_id", e.ShipmentID)
	return p.Err()
}

// Validate checks a ShipmentCancelled's identifiers.
func (e ShipmentCancelled) Validate() error {
	var p endpoint.Problems
	p.ID("order_id", e.OrderID)
	p.ID("shipment_id", e.ShipmentID)
	return p.Err()
}
