package sagatest_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/sagatest"
)

// TestFailures runs each failing step of the saga and checks its
// compensations in every service. The cases share one stack; each has its
// own customer and SKU, and its own ledger.
func TestFailures(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})

	t.Run("insufficient funds", func(t *testing.T) {
		t.Parallel()
		c := sagatest.NewClient(s.NC)
		deposit(t, c, "poor", 1_000)
		restock(t, c, "funds-sku", 10)
		v := place(t, c, order("poor", "funds-sku", 2, 600, "US"))
		got := waitSteps(t, c, v.OrderID, "cancelled", "payment_failed",
			client.Steps{Payment: "failed", Inventory: "pending", Shipping: "pending"})
		checkInvariants(t, c)
		waitQuiet(t, s)
		p, err := c.Payment(t.Context(), v.OrderID)
		if err != nil || p.Status != "declined" || p.AmountCents != 1_200 || p.CustomerID != "poor" {
			t.Errorf("payment %+v (%v), want declined for 1200", p, err)
		}
		wantBalance(t, c, "poor", 1_000)
		wantStock(t, c, "funds-sku", 10, 0)
		wantShipment(t, c, v.OrderID, "")
		if types, want := eventTypes(history(t, c, v.OrderID)), []string{"OrderPlaced", "OrderCancelled"}; !slices.Equal(types, want) {
			t.Errorf("history %v, want %v", types, want)
		}
		if got.Version != 2 {
			t.Errorf("version %d, want 2", got.Version)
		}
	})

	t.Run("insufficient stock", func(t *testing.T) {
		t.Parallel()
		c := sagatest.NewClient(s.NC)
		deposit(t, c, "stock-buyer", 10_000)
		restock(t, c, "scarce", 2)
		restock(t, c, "plenty", 100)
		// All or nothing: the plentiful line is not reserved either.
		r := client.PlaceRequest{CustomerID: "stock-buyer", ShippingAddress: sagatest.Addr("DE"), Items: []client.Item{
			{SKU: "plenty", Quantity: 5, UnitPriceCents: 100},
			{SKU: "scarce", Quantity: 3, UnitPriceCents: 1_000},
		}}
		v := place(t, c, r)
		waitSteps(t, c, v.OrderID, "cancelled", "insufficient_stock",
			client.Steps{Payment: "refunded", Inventory: "failed", Shipping: "pending"})
		checkInvariants(t, c)
		waitQuiet(t, s)
		p, err := c.Payment(t.Context(), v.OrderID)
		if err != nil || p.Status != "refunded" || p.AmountCents != 3_500 {
			t.Errorf("payment %+v (%v), want refunded 3500", p, err)
		}
		wantBalance(t, c, "stock-buyer", 10_000)
		wantStock(t, c, "scarce", 2, 0)
		wantStock(t, c, "plenty", 100, 0)
		wantShipment(t, c, v.OrderID, "")
		// The failure names the SKU short of stock.
		var failed struct {
			SKU       string `json:"sku"`
			Requested int64  `json:"requested"`
			Available int64  `json:"available"`
		}
		m := lastMsg(t, s.JS, "INVENTORY_EVENTS", "inventory.events.StockReservationFailed."+v.OrderID)
		var env struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(m.Data, &env); err != nil || json.Unmarshal(env.Data, &failed) != nil ||
			failed.SKU != "scarce" || failed.Requested != 3 || failed.Available != 2 {
			t.Errorf("StockReservationFailed %s", m.Data)
		}
		// Paid, then cancelled (the history may hold private events too).
		types := eventTypes(history(t, c, v.OrderID))
		if got, want := public(types), []string{"OrderPlaced", "OrderPaid", "OrderCancelled"}; !slices.Equal(got, want) {
			t.Errorf("history %v, want the public events %v", types, want)
		}
	})

	t.Run("unsupported destination", func(t *testing.T) {
		t.Parallel()
		c := sagatest.NewClient(s.NC)
		deposit(t, c, "expat", 10_000)
		restock(t, c, "samba", 4)
		v := place(t, c, order("expat", "samba", 3, 700, "BR"))
		waitSteps(t, c, v.OrderID, "cancelled", "shipping_failed",
			client.Steps{Payment: "refunded", Inventory: "released", Shipping: "failed"})
		checkInvariants(t, c)
		waitQuiet(t, s)
		wantPayment(t, c, v.OrderID, "refunded")
		wantShipment(t, c, v.OrderID, "failed")
		wantBalance(t, c, "expat", 10_000)
		wantStock(t, c, "samba", 4, 0)
		types := eventTypes(history(t, c, v.OrderID))
		if got, want := public(types), []string{"OrderPlaced", "OrderPaid", "OrderReserved", "OrderCancelled"}; !slices.Equal(got, want) {
			t.Errorf("history %v, want the public events %v", types, want)
		}
	})
}

// public keeps the contract's order event types, in order.
func public(types []string) []string {
	var out []string
	for _, typ := range types {
		switch typ {
		case "OrderPlaced", "OrderPaid", "OrderReserved", "OrderCompleted", "OrderCancelled":
			out = append(out, typ)
		}
	}
	return out
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}
