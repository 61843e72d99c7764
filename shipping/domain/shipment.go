package domain

import (
	"strings"

	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shipping/shippingevents"
)

// ShipmentAggregate is the Shipment aggregate's type name in the event store.
const ShipmentAggregate = "shipment"

// Shipment statuses, as shown by shipping.get. The empty status means shipping
// has decided nothing for the order yet.
const (
	StatusScheduled = "scheduled"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Shipment is shipping's decision for one order. CancelNoted is set when the
// order was cancelled before shipping decided: it then never schedules.
type Shipment struct {
	OrderID        string `json:"order_id"`
	Status         string `json:"status"`
	CancelNoted    bool   `json:"cancel_noted"`
	ShipmentID     string `json:"shipment_id"`
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"tracking_number"`
	Country        string `json:"country"`
}

// NewShipment returns the state of an order's shipment with no events.
func NewShipment(orderID string) Shipment { return Shipment{OrderID: orderID} }

// Decided reports whether shipping scheduled the order or failed to.
func (s Shipment) Decided() bool { return s.Status != "" }

// EvolveShipment folds one event into a shipment. Events of other types leave
// it unchanged.
func EvolveShipment(s Shipment, e envelope.Event) Shipment {
	switch e := e.(type) {
	case shippingevents.ShipmentScheduled:
		s.Status, s.ShipmentID, s.Carrier, s.TrackingNumber, s.Country =
			StatusScheduled, e.ShipmentID, e.Carrier, e.TrackingNumber, e.Country
	case shippingevents.ShipmentFailed:
		s.Status, s.ShipmentID, s.Country = StatusFailed, e.ShipmentID, e.Country
	case shippingevents.ShipmentCancelled:
		s.Status = StatusCancelled
	case ShipmentCancellationNoted:
		s.CancelNoted = true
	}
	return s
}

var carriers = map[string]string{
	"US": "UPS",
	"CA": "Canada Post",
	"GB": "Royal Mail",
	"DE": "DHL",
	"FR": "La Poste",
	"NL": "PostNL",
	"JP": "Japan Post",
	"AU": "Australia Post",
}

// DefaultCarrier ships to every served country without a carrier of its own.
const DefaultCarrier = "DHL"

// CarrierFor returns the carrier that ships to country (ISO 3166-1 alpha-2,
// any case).
func CarrierFor(country string) string {
	if c, ok := carriers[strings.ToUpper(country)]; ok {
		return c
	}
	return DefaultCarrier
}

// TrackingNumber derives a shipment's tracking number from its id: "CH" and
// the id's last 16 hex digits, upper case. (A UUIDv7's leading digits are its
// timestamp, shared by ids made in the same millisecond; its trailing ones are
// random.)
func TrackingNumber(shipmentID string) string {
	hex := strings.ToUpper(strings.ReplaceAll(shipmentID, "-", ""))
	return "CH" + hex[max(0, len(hex)-16):]
}

// OnStockReserved schedules a shipment with the new id shipmentID iff the
// order's country is served (served holds upper-case ISO codes), and
// otherwise fails it with ReasonUnsupportedDestination. It returns nothing if
// shipping already decided or the order was cancelled first.
func OnStockReserved(s Shipment, e inventoryevents.StockReserved, served map[string]bool, shipmentID string) []envelope.Event {
	if s.Decided() || s.CancelNoted {
		return nil
	}
	country := strings.ToUpper(e.ShippingAddress.Country)
	if !served[country] {
		return []envelope.Event{shippingevents.ShipmentFailed{
			OrderID:    e.OrderID,
			ShipmentID: shipmentID,
			Reason:     shippingevents.ReasonUnsupportedDestination,
			Country:    country,
		}}
	}
	return []envelope.Event{shippingevents.ShipmentScheduled{
		OrderID:        e.OrderID,
		ShipmentID:     shipmentID,
		Carrier:        CarrierFor(country),
		TrackingNumber: TrackingNumber(shipmentID),
		Country:        country,
	}}
}

// OnOrderCancelled cancels a scheduled shipment, once. If shipping has decided
// nothing yet it notes the cancellation (ShipmentCancellationNoted), so that a
// later StockReserved never schedules. Otherwise it returns nothing.
func OnOrderCancelled(s Shipment, e orderevents.OrderCancelled) []envelope.Event {
	switch {
	case s.Status == StatusScheduled:
		return []envelope.Event{shippingevents.ShipmentCancelled{OrderID: s.OrderID, ShipmentID: s.ShipmentID}}
	case !s.Decided() && !s.CancelNoted:
		return []envelope.Event{ShipmentCancellationNoted{OrderID: e.OrderID}}
	}
	return nil
}
