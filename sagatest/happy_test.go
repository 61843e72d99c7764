package sagatest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/natstest"
)

func TestHappyPath(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	c := sagatest.NewClient(s.NC)
	if _, err := c.Deposit("alice", 10_000); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Restock("widget", 5); err != nil {
		t.Fatal(err)
	}
	v, err := c.Place(sagatest.PlaceRequest{CustomerID: "alice", Items: []sagatest.Item{{SKU: "widget", Quantity: 2, UnitPriceCents: 1_500}}, ShippingAddress: sagatest.Addr("GB")})
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != "pending" || v.TotalCents != 3_000 || v.Currency != "USD" {
		t.Fatalf("placed %+v", v)
	}
	natstest.Eventually(t, 10*time.Second, func() error {
		o, err := c.Order(v.OrderID)
		if err != nil {
			return err
		}
		if o.Status != "completed" {
			return fmt.Errorf("status %s", o.Status)
		}
		return nil
	})
	natstest.Eventually(t, 10*time.Second, func() error { _, err := c.CheckInvariants(); return err })
	b, _ := c.Balance("alice")
	st, _ := c.Stock("widget")
	if b.BalanceCents != 7_000 || st.Available != 3 || st.Reserved != 2 {
		t.Fatalf("balance %+v stock %+v", b, st)
	}
}
