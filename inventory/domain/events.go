package domain

import "github.com/choreo-dev/choreo/shared/envelope"

// SKUReserved is a private SKU event: Quantity moved from available to
// reserved for an order. It is stored in inventory's log and never published.
type SKUReserved struct {
	OrderID  string `json:"order_id"`
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// SKUReleased is a private SKU event: a cancelled order's reserved Quantity
// moved back to available.
type SKUReleased struct {
	OrderID  string `json:"order_id"`
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// ReservationCancellationNoted is a private Reservation event: the order was
// cancelled before inventory decided anything, so it never will.
type ReservationCancellationNoted struct {
	OrderID string `json:"order_id"`
}

func (SKUReserved) EventType() string                  { return "SKUReserved" }
func (SKUReleased) EventType() string                  { return "SKUReleased" }
func (ReservationCancellationNoted) EventType() string { return "ReservationCancellationNoted" }

// Register adds inventory's private event types to r. The public ones are
// registered by inventoryevents.Register.
func Register(r *envelope.Registry) {
	envelope.Register[SKUReserved](r)
	envelope.Register[SKUReleased](r)
	envelope.Register[ReservationCancellationNoted](r)
	envelope.Register[AllocationOpened](r)
	envelope.Register[PartRecorded](r)
	envelope.Register[AllocationEnded](r)
}
