package domain_test

import (
	"testing"

	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/envelope/envelopetest"
	"github.com/choreo-dev/choreo/shipping/domain"
	"github.com/choreo-dev/choreo/shipping/shippingevents"
)

const shipmentID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"

var (
	served    = map[string]bool{"US": true, "CA": true, "GB": true, "DE": true, "FR": true, "NL": true, "JP": true, "AU": true, "IE": true}
	cancelled = orderevents.OrderCancelled{OrderID: "o1", Reason: orderevents.ReasonCustomerRequest}
	scheduled = shippingevents.ShipmentScheduled{OrderID: "o1", ShipmentID: shipmentID, Carrier: "UPS",
		TrackingNumber: "CH8A9B0C1D2E3F4A5B", Country: "US"}
	failed = shippingevents.ShipmentFailed{OrderID: "o1", ShipmentID: shipmentID,
		Reason: shippingevents.ReasonUnsupportedDestination, Country: "BR"}
	shipCancelled = shippingevents.ShipmentCancelled{OrderID: "o1", ShipmentID: shipmentID}
)

func reservedTo(country string) inventoryevents.StockReserved {
	return inventoryevents.StockReserved{OrderID: "o1",
		Items:           []orderevents.Item{{SKU: "A", Quantity: 1}},
		ShippingAddress: orderevents.Address{Name: "N", Line1: "L", City: "C", PostalCode: "P", Country: country}}
}

func shipment(events ...envelope.Event) domain.Shipment {
	return envelopetest.Fold(domain.NewShipment("o1"), domain.EvolveShipment, events...)
}

func TestCarrierFor(t *testing.T) {
	t.Parallel()
	for country, want := range map[string]string{
		"US": "UPS", "CA": "Canada Post", "GB": "Royal Mail", "DE": "DHL", "FR": "La Poste",
		"NL": "PostNL", "JP": "Japan Post", "AU": "Australia Post", "IE": domain.DefaultCarrier, "us": "UPS",
	} {
		if got := domain.CarrierFor(country); got != want {
			t.Errorf("CarrierFor(%q) = %q, want %q", country, got, want)
		}
	}
}

func TestTrackingNumber(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]string{
		shipmentID:                             "CH8A9B0C1D2E3F4A5B",
		"0190a1b2-c3d4-7e5f-8a9b-ffffffffffff": "CH8A9BFFFFFFFFFFFF",
		"abc":                                  "CHABC",
		"":                                     "CH",
	} {
		if got := domain.TrackingNumber(id); got != want {
			t.Errorf("TrackingNumber(%q) = %q, want %q", id, got, want)
		}
	}
	// Ids made in the same millisecond share their leading digits only.
	if domain.TrackingNumber("0190a1b2-c3d4-7000-8000-000000000001") == domain.TrackingNumber("0190a1b2-c3d4-7000-8000-000000000002") {
		t.Fatal("tracking numbers of different ids collide")
	}
}

func TestOnStockReserved(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		shipment domain.Shipment
		reserved inventoryevents.StockReserved
		want     []envelope.Event
	}{
		{name: "served", shipment: shipment(), reserved: reservedTo("US"), want: []envelope.Event{scheduled}},
		{name: "served, lower case", shipment: shipment(), reserved: reservedTo("us"), want: []envelope.Event{scheduled}},
		{name: "served, default carrier", shipment: shipment(), reserved: reservedTo("IE"),
			want: []envelope.Event{shippingevents.ShipmentScheduled{OrderID: "o1", ShipmentID: shipmentID,
				Carrier: "DHL", TrackingNumber: "CH8A9B0C1D2E3F4A5B", Country: "IE"}}},
		{name: "not served", shipment: shipment(), reserved: reservedTo("BR"), want: []envelope.Event{failed}},
		{name: "already scheduled", shipment: shipment(scheduled), reserved: reservedTo("US")},
		{name: "already failed", shipment: shipment(failed), reserved: reservedTo("US")},
		{name: "already cancelled", shipment: shipment(scheduled, shipCancelled), reserved: reservedTo("US")},
		{name: "cancelled first", shipment: shipment(domain.ShipmentCancellationNoted{OrderID: "o1"}), reserved: reservedTo("US")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			envelopetest.Equal(t, "events", domain.OnStockReserved(tc.shipment, tc.reserved, served, shipmentID), tc.want)
		})
	}
}

func TestOnOrderCancelled(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		shipment domain.Shipment
		want     []envelope.Event
	}{
		{name: "scheduled: cancels", shipment: shipment(scheduled), want: []envelope.Event{shipCancelled}},
		{name: "nothing yet: notes", shipment: shipment(),
			want: []envelope.Event{domain.ShipmentCancellationNoted{OrderID: "o1"}}},
		{name: "failed", shipment: shipment(failed)},
		{name: "cancelled", shipment: shipment(scheduled, shipCancelled)},
		{name: "already noted", shipment: shipment(domain.ShipmentCancellationNoted{OrderID: "o1"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			envelopetest.Equal(t, "events", domain.OnOrderCancelled(tc.shipment, cancelled), tc.want)
		})
	}
}

func TestOrderings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		steps      string // r = StockReserved, c = OrderCancelled
		wantStatus string
		wantNoted  bool
	}{
		{steps: "r", wantStatus: domain.StatusScheduled},
		{steps: "rr", wantStatus: domain.StatusScheduled},
		{steps: "rc", wantStatus: domain.StatusCancelled},
		{steps: "rcc", wantStatus: domain.StatusCancelled},
		{steps: "rcrc", wantStatus: domain.StatusCancelled},
		{steps: "cr", wantNoted: true},
		{steps: "ccrr", wantNoted: true},
	} {
		t.Run(tc.steps, func(t *testing.T) {
			t.Parallel()
			s := domain.NewShipment("o1")
			var log []envelope.Event
			for _, step := range tc.steps {
				var events []envelope.Event
				if step == 'r' {
					events = domain.OnStockReserved(s, reservedTo("US"), served, shipmentID)
				} else {
					events = domain.OnOrderCancelled(s, cancelled)
				}
				s = envelopetest.Fold(s, domain.EvolveShipment, events...)
				log = append(log, events...)
			}
			envelopetest.Equal(t, "status", s.Status, tc.wantStatus)
			envelopetest.Equal(t, "cancel noted", s.CancelNoted, tc.wantNoted)
			counts := map[string]int{}
			for _, e := range log {
				counts[e.EventType()]++
			}
			if counts["ShipmentScheduled"] > 1 || counts["ShipmentCancelled"] > counts["ShipmentScheduled"] {
				t.Fatalf("log %v", counts)
			}
			envelopetest.CheckSnapshots(t, domain.NewShipment("o1"), domain.EvolveShipment, log)
		})
	}
}

func TestEvolveShipment(t *testing.T) {
	t.Parallel()
	envelopetest.Equal(t, "scheduled then cancelled", shipment(scheduled, cancelled, shipCancelled), domain.Shipment{
		OrderID: "o1", Status: domain.StatusCancelled, ShipmentID: shipmentID, Carrier: "UPS",
		TrackingNumber: "CH8A9B0C1D2E3F4A5B", Country: "US"})
	envelopetest.Equal(t, "failed", shipment(failed), domain.Shipment{
		OrderID: "o1", Status: domain.StatusFailed, ShipmentID: shipmentID, Country: "BR"})
}

func TestRegisterPrivateEvents(t *testing.T) {
	t.Parallel()
	r := envelope.NewRegistry()
	domain.Register(r)
	shippingevents.Register(r)
	var e envelope.Event = domain.ShipmentCancellationNoted{}
	if !r.Knows(e.EventType()) {
		t.Errorf("%s not registered", e.EventType())
	}
	if r.Publisher(e.EventType()) != "" {
		t.Errorf("%s is registered as public", e.EventType())
	}
}
