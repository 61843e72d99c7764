package sagatest_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/natstest"
)

// TestLastUnits: 200 orders race for 50 units of one SKU. Exactly 50 win;
// the other 150 are cancelled for insufficient stock and refunded; nothing
// is oversold or lost.
func TestLastUnits(t *testing.T) {
	t.Parallel()
	const (
		orders    = 200
		stock     = 50
		customers = 20
		price     = 2_500
	)
	s := sagatest.Start(t, sagatest.Options{})
	c := sagatest.NewClient(s.NC)
	restock(t, c, "last-unit", stock)
	for i := range customers {
		deposit(t, c, fmt.Sprintf("buyer-%d", i), orders/customers*price) // enough for all of theirs
	}

	ids := make([]string, orders)
	errs := make([]error, orders)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range orders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			v, err := c.Place(t.Context(), order(fmt.Sprintf("buyer-%d", i%customers), "last-unit", 1, price, "US"))
			ids[i], errs[i] = v.OrderID, err
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("order %d: %v", i, err)
		}
	}

	// One order.list is cheaper than 200 order.get while waiting.
	natstest.Eventually(t, wait, func() error {
		views, err := c.List(t.Context(), client.ListRequest{Limit: 1000})
		if err != nil {
			return err
		}
		open := 0
		for _, v := range views {
			if v.Status != "completed" && v.Status != "cancelled" {
				open++
			}
		}
		if len(views) != orders || open > 0 {
			return fmt.Errorf("%d orders listed, %d still open", len(views), open)
		}
		return nil
	})
	sum := checkInvariants(t, c)
	if sum.Completed != stock || sum.Cancelled != orders-stock {
		t.Errorf("summary %+v", sum)
	}
	views, err := c.List(t.Context(), client.ListRequest{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, v := range views {
		count[v.Status+"/"+v.CancelReason]++
	}
	if count["completed/"] != stock || count["cancelled/insufficient_stock"] != orders-stock || len(count) != 2 {
		t.Errorf("outcomes %v, want %d completed and %d cancelled for insufficient_stock", count, stock, orders-stock)
	}
	wantStock(t, c, "last-unit", 0, stock)
	// Every loser was refunded.
	for _, v := range views {
		if v.Status == "cancelled" && v.Steps != (client.Steps{Payment: "refunded", Inventory: "failed", Shipping: "pending"}) {
			t.Errorf("order %s cancelled with steps %+v", v.OrderID, v.Steps)
		}
	}
}
