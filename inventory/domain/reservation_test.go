package domain_test

import (
	"errors"
	"testing"

	"github.com/choreo-dev/choreo/inventory/domain"
	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/envelope/envelopetest"
)

var (
	address = orderevents.Address{Name: "N", Line1: "L", City: "C", PostalCode: "P", Country: "US"}
	// A appears on two lines: 2 + 3 = 5 units.
	items = []orderevents.Item{
		{SKU: "A", Quantity: 2, UnitPriceCents: 100},
		{SKU: "B", Quantity: 1, UnitPriceCents: 50},
		{SKU: "A", Quantity: 3, UnitPriceCents: 100},
	}
	paid      = paymentevents.PaymentCompleted{OrderID: "o1", PaymentID: "p1", CustomerID: "c1", AmountCents: 550, Items: items, ShippingAddress: address}
	cancelled = orderevents.OrderCancelled{OrderID: "o1", Reason: orderevents.ReasonTimeout}

	reserved = inventoryevents.StockReserved{OrderID: "o1", Items: items, ShippingAddress: address}
	released = inventoryevents.StockReleased{OrderID: "o1", Items: items}
)

func stock(a, b int64) map[string]domain.SKU {
	return map[string]domain.SKU{
		"A": {SKU: "A", Available: a, Restocked: a, Exists: true},
		"B": {SKU: "B", Available: b, Restocked: b, Exists: true},
	}
}

func reservation(events ...envelope.Event) domain.Reservation {
	return envelopetest.Fold(domain.NewReservation("o1"), domain.EvolveReservation, events...)
}

func TestSKUs(t *testing.T) {
	t.Parallel()
	envelopetest.Equal(t, "skus", domain.SKUs(items), []string{"A", "B"})
	envelopetest.Equal(t, "skus of none", domain.SKUs(nil), []string(nil))
}

func TestOnPaymentCompleted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		r         domain.Reservation
		skus      map[string]domain.SKU
		paid      paymentevents.PaymentCompleted
		wantR     []envelope.Event
		wantSKUs  map[string][]envelope.Event
		wantError error
	}{
		{name: "exactly enough", r: reservation(), skus: stock(5, 1), paid: paid,
			wantR: []envelope.Event{reserved},
			wantSKUs: map[string][]envelope.Event{
				"A": {domain.SKUReserved{OrderID: "o1", SKU: "A", Quantity: 5}},
				"B": {domain.SKUReserved{OrderID: "o1", SKU: "B", Quantity: 1}},
			}},
		{name: "each line fits, their sum does not", r: reservation(), skus: stock(4, 1), paid: paid,
			wantR: []envelope.Event{inventoryevents.StockReservationFailed{OrderID: "o1", SKU: "A", Requested: 5, Available: 4}}},
		{name: "second sku short", r: reservation(), skus: stock(9, 0), paid: paid,
			wantR: []envelope.Event{inventoryevents.StockReservationFailed{OrderID: "o1", SKU: "B", Requested: 1, Available: 0}}},
		{name: "first short sku in item order is named", r: reservation(), skus: stock(0, 0), paid: paid,
			wantR: []envelope.Event{inventoryevents.StockReservationFailed{OrderID: "o1", SKU: "A", Requested: 5, Available: 0}}},
		{name: "unknown sku has no stock", r: reservation(), skus: map[string]domain.SKU{"A": stock(9, 0)["A"]}, paid: paid,
			wantR: []envelope.Event{inventoryevents.StockReservationFailed{OrderID: "o1", SKU: "B", Requested: 1, Available: 0}}},
		{name: "already reserved", r: reservation(reserved), skus: stock(9, 9), paid: paid},
		{name: "already failed", r: reservation(inventoryevents.StockReservationFailed{OrderID: "o1"}), skus: stock(9, 9), paid: paid},
		{name: "already released", r: reservation(reserved, released), skus: stock(9, 9), paid: paid},
		{name: "cancelled first", r: reservation(domain.ReservationCancellationNoted{OrderID: "o1"}), skus: stock(9, 9), paid: paid},
		{name: "zero quantity", r: reservation(), skus: stock(9, 9),
			paid:      paymentevents.PaymentCompleted{OrderID: "o1", Items: []orderevents.Item{{SKU: "A", Quantity: 0}}},
			wantError: domain.ErrInvalidEvent},
		{name: "negative quantity", r: reservation(), skus: stock(9, 9),
			paid:      paymentevents.PaymentCompleted{OrderID: "o1", Items: []orderevents.Item{{SKU: "A", Quantity: 1}, {SKU: "A", Quantity: -1}}},
			wantError: domain.ErrInvalidEvent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, s, err := domain.OnPaymentCompleted(tc.r, tc.skus, tc.paid)
			if !errors.Is(err, tc.wantError) {
				t.Fatalf("err = %v, want %v", err, tc.wantError)
			}
			envelopetest.Equal(t, "reservation events", r, tc.wantR)
			envelopetest.Equal(t, "sku events", s, tc.wantSKUs)
		})
	}
}

func TestOnOrderCancelled(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		r        domain.Reservation
		wantR    []envelope.Event
		wantSKUs map[string][]envelope.Event
	}{
		{name: "reserved: releases", r: reservation(reserved),
			wantR: []envelope.Event{released},
			wantSKUs: map[string][]envelope.Event{
				"A": {domain.SKUReleased{OrderID: "o1", SKU: "A", Quantity: 5}},
				"B": {domain.SKUReleased{OrderID: "o1", SKU: "B", Quantity: 1}},
			}},
		{name: "nothing yet: notes", r: reservation(),
			wantR: []envelope.Event{domain.ReservationCancellationNoted{OrderID: "o1"}}},
		{name: "failed", r: reservation(inventoryevents.StockReservationFailed{OrderID: "o1"})},
		{name: "released", r: reservation(reserved, released)},
		{name: "already noted", r: reservation(domain.ReservationCancellationNoted{OrderID: "o1"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, s := domain.OnOrderCancelled(tc.r, cancelled)
			envelopetest.Equal(t, "reservation events", r, tc.wantR)
			envelopetest.Equal(t, "sku events", s, tc.wantSKUs)
		})
	}
}

func TestEvolveReservation(t *testing.T) {
	t.Parallel()
	events := []envelope.Event{reserved, paid, released}
	envelopetest.Equal(t, "reservation", reservation(events...),
		domain.Reservation{OrderID: "o1", Status: domain.StatusReleased, Items: items})
	envelopetest.CheckSnapshots(t, domain.NewReservation("o1"), domain.EvolveReservation, events)
	envelopetest.CheckSnapshots(t, domain.NewReservation("o1"), domain.EvolveReservation,
		[]envelope.Event{domain.ReservationCancellationNoted{OrderID: "o1"}})
}

func TestRegisterPrivateEvents(t *testing.T) {
	t.Parallel()
	r := envelope.NewRegistry()
	domain.Register(r)
	inventoryevents.Register(r)
	for _, e := range []envelope.Event{domain.SKUReserved{}, domain.SKUReleased{}, domain.ReservationCancellationNoted{}} {
		if !r.Knows(e.EventType()) {
			t.Errorf("%s not registered", e.EventType())
		}
		if r.Publisher(e.EventType()) != "" {
			t.Errorf("%s is registered as public", e.EventType())
		}
	}
}
