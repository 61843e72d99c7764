package sagatest_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/partition"
	"github.com/nats-io/nats.go/jetstream"
)

// keyIn returns a key with prefix that partition p of n owns.
func keyIn(prefix string, p, n int) string {
	for i := 0; ; i++ {
		if k := fmt.Sprintf("%s-%d", prefix, i); partition.Of(k, n) == p {
			return k
		}
	}
}

// Every service runs as two partitions. The saga's outcomes are the
// contract's whatever partitions an order, its customer and its SKUs fall
// in: a happy path, each failure with its compensations, a customer's
// cancellation — and a multi-line order whose lines span inventory
// partitions, reserved in parts and given back when one part is short.
func TestPartitionedSagas(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{Partitions: 2})
	c := sagatest.NewClient(s.NC)
	a0, a1 := keyIn("alice", 0, 2), keyIn("alice", 1, 2) // a customer in each payment partition
	w0, w1 := keyIn("widget", 0, 2), keyIn("widget", 1, 2)
	deposit(t, c, a0, 100_000)
	deposit(t, c, a1, 100_000)
	deposit(t, c, "broke", 1)
	restock(t, c, w0, 10)
	restock(t, c, w1, 10)

	line := func(sku string, q int64) client.Item { return client.Item{SKU: sku, Quantity: q, UnitPriceCents: 100} }
	orderOf := func(cust, cc string, items ...client.Item) client.PlaceRequest {
		return client.PlaceRequest{CustomerID: cust, Items: items, ShippingAddress: sagatest.Addr(cc)}
	}
	var completed []string
	for _, cust := range []string{a0, a1} { // orders land in both order partitions
		for range 3 {
			v := place(t, c, orderOf(cust, "GB", line(w0, 1), line(w1, 1)))
			completed = append(completed, v.OrderID)
		}
	}
	for _, id := range completed {
		waitSteps(t, c, id, "completed", "", client.Steps{Payment: "completed", Inventory: "reserved", Shipping: "scheduled"})
	}
	wantStock(t, c, w0, 4, 6)
	wantStock(t, c, w1, 4, 6)
	// Each of those orders was reserved in two parts, one per partition.
	if n := countSubject(t, s, "INVENTORY_EVENTS", "inventory.events.StockPartReserved.>"); n != 2*len(completed) {
		t.Errorf("%d parts reserved, want %d", n, 2*len(completed))
	}

	// Payment fails: nothing to give back.
	v := place(t, c, orderOf("broke", "GB", line(w0, 1)))
	waitSteps(t, c, v.OrderID, "cancelled", "payment_failed", client.Steps{Payment: "failed", Inventory: "pending", Shipping: "pending"})
	// Shipping fails after both inventory partitions reserved their parts:
	// the refund and one StockReleased once both parts are back.
	v = place(t, c, orderOf(a1, "BR", line(w0, 2), line(w1, 2)))
	waitSteps(t, c, v.OrderID, "cancelled", "shipping_failed", client.Steps{Payment: "refunded", Inventory: "released", Shipping: "failed"})
	// One part short: w1 has 4 left, the order asks for 5. The w0 part,
	// reserved on its own partition, is given back; the order names w1.
	v = place(t, c, orderOf(a0, "GB", line(w0, 3), line(w1, 5)))
	waitSteps(t, c, v.OrderID, "cancelled", "insufficient_stock", client.Steps{Payment: "refunded", Inventory: "failed", Shipping: "pending"})
	waitQuiet(t, s)
	wantStock(t, c, w0, 4, 6)
	wantStock(t, c, w1, 4, 6)
	// A customer's cancellation of a pending-or-later order.
	v = place(t, c, orderOf(a1, "GB", line(w0, 1), line(w1, 1)))
	if _, err := c.Cancel(t.Context(), v.OrderID, "changed my mind"); err == nil {
		waitStatus(t, c, v.OrderID, "cancelled")
	}
	waitQuiet(t, s)
	// order.list gathers both order partitions, newest first.
	l, err := c.List(t.Context(), client.ListRequest{Limit: 100})
	if err != nil || len(l) != len(completed)+4 {
		t.Fatalf("order.list: %d orders (%v), want %d", len(l), err, len(completed)+4)
	}
	for i := 1; i < len(l); i++ {
		if l[i].CreatedAt.After(l[i-1].CreatedAt) {
			t.Fatalf("order.list not newest first at %d", i)
		}
	}
	checkInvariants(t, c)
}

// The hot-SKU scenario with stock spread over two inventory partitions: 40
// concurrent orders, each for one unit of a SKU in partition 0 and one of a
// SKU in partition 1, against 10 of each. Exactly 10 complete; every other
// is cancelled for insufficient stock and gives back the part it reserved.
func TestPartitionedHotSKUs(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{Partitions: 2})
	c := sagatest.NewClient(s.NC)
	hot0, hot1 := keyIn("hot", 0, 2), keyIn("hot", 1, 2)
	restock(t, c, hot0, 10)
	restock(t, c, hot1, 10)
	var wg sync.WaitGroup
	ids := make([]string, 40)
	for i := range ids {
		cust := fmt.Sprintf("buyer-%d", i)
		deposit(t, c, cust, 10_000)
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := c.Place(t.Context(), client.PlaceRequest{CustomerID: cust, ShippingAddress: sagatest.Addr("GB"),
				Items: []client.Item{{SKU: hot0, Quantity: 1, UnitPriceCents: 100}, {SKU: hot1, Quantity: 1, UnitPriceCents: 100}}})
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = v.OrderID
		}()
	}
	wg.Wait()
	completed := 0
	for _, id := range ids {
		v := waitOrder(t, c, id, func(o client.OrderView) error {
			if !o.Terminal() {
				return fmt.Errorf("%s is %s", o.OrderID, o.Status)
			}
			return nil
		})
		if v.Status == "completed" {
			completed++
		} else if v.CancelReason != "insufficient_stock" {
			t.Errorf("%s cancelled for %s", id, v.CancelReason)
		}
	}
	waitQuiet(t, s)
	if completed != 10 {
		t.Errorf("%d orders completed, want 10", completed)
	}
	wantStock(t, c, hot0, 0, 10)
	wantStock(t, c, hot1, 0, 10)
	checkInvariants(t, c)
}

// countSubject counts the messages a stream holds on a subject filter.
func countSubject(t *testing.T, s *sagatest.Stack, stream, filter string) int {
	t.Helper()
	st, err := s.JS.Stream(t.Context(), stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(t.Context(), jetstream.WithSubjectFilter(filter))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range info.State.Subjects {
		n += int(c)
	}
	return n
}
