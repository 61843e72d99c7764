package sagatest_test

import (
	"sync"
	"testing"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/sagatest"
)

// TestIdempotentPlace: placing an order id again with the same content
// answers the same order and opens no second saga; with different content it
// is a conflict that changes nothing.
func TestIdempotentPlace(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	c := sagatest.NewClient(s.NC)
	deposit(t, c, "repeat", 10_000)
	restock(t, c, "echo", 10)

	r := order("repeat", "echo", 2, 1_000, "FR")
	r.OrderID = "order-repeat-1"
	first := place(t, c, r)
	// Concurrent retries, as a client whose replies were lost might send.
	var wg sync.WaitGroup
	again := make([]client.OrderView, 8)
	errs := make([]error, len(again))
	for i := range again {
		wg.Add(1)
		go func() {
			defer wg.Done()
			again[i], errs[i] = c.Place(t.Context(), r)
		}()
	}
	wg.Wait()
	for i, v := range again {
		if errs[i] != nil {
			t.Fatalf("place again: %v", errs[i])
		}
		if v.OrderID != first.OrderID || !v.CreatedAt.Equal(first.CreatedAt) || v.TotalCents != first.TotalCents {
			t.Errorf("placed again as %+v, first %+v", v, first)
		}
	}
	waitStatus(t, c, first.OrderID, "completed")
	// Once more after completion: still the same order, as it now stands.
	if v, err := c.Place(t.Context(), r); err != nil || v.OrderID != first.OrderID || v.Status != "completed" {
		t.Errorf("place after completion: %+v, %v", v, err)
	}
	checkInvariants(t, c)
	waitQuiet(t, s)
	wantBalance(t, c, "repeat", 8_000)
	wantStock(t, c, "echo", 8, 2)
	if n := count(eventTypes(history(t, c, first.OrderID)), "OrderPlaced"); n != 1 {
		t.Errorf("history has %d OrderPlaced, want 1", n)
	}
	if n := len(mustList(t, c, client.ListRequest{CustomerID: "repeat"})); n != 1 {
		t.Errorf("customer has %d orders, want 1", n)
	}

	// Different content under the same id: 409, and nothing changes.
	for name, change := range map[string]func(*client.PlaceRequest){
		"quantity": func(r *client.PlaceRequest) {
			r.Items = []client.Item{{SKU: "echo", Quantity: 3, UnitPriceCents: 1_000}}
		},
		"customer": func(r *client.PlaceRequest) { r.CustomerID = "someone-else" },
		"address":  func(r *client.PlaceRequest) { r.ShippingAddress.City = "Paris" },
		"currency": func(r *client.PlaceRequest) { r.Currency = "EUR" },
	} {
		other := r
		other.Items = append([]client.Item(nil), r.Items...)
		change(&other)
		_, err := c.Place(t.Context(), other)
		wantCode(t, err, 409, "conflict")
		if t.Failed() {
			t.Fatalf("changed %s", name)
		}
	}
	// The explicit default currency is the same content.
	same := r
	same.Currency = "USD"
	if v, err := c.Place(t.Context(), same); err != nil || v.OrderID != first.OrderID {
		t.Errorf("place with the default currency spelt out: %+v, %v", v, err)
	}
	waitQuiet(t, s)
	checkInvariants(t, c)
	if n := len(history(t, c, first.OrderID)); n != 4 {
		t.Errorf("history has %d events after the conflicts, want 4", n)
	}
}

func mustList(t testing.TB, c *sagatest.Client, r client.ListRequest) []client.OrderView {
	t.Helper()
	views, err := c.List(t.Context(), r)
	if err != nil {
		t.Fatalf("list %+v: %v", r, err)
	}
	return views
}
