package sagatest_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/natstest"
)

const sagaTimeout = 1500 * time.Millisecond

// TestDeadline: an order whose payment never answers is cancelled with reason
// timeout once its deadline passes; payment, back later, leaves no charge.
func TestDeadline(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{SagaTimeout: sagaTimeout})
	c := sagatest.NewClient(s.NC)
	deposit(t, c, "patient", 10_000)
	restock(t, c, "slow", 5)

	// An order that completes in time is left alone by its deadline.
	quick := place(t, c, order("patient", "slow", 1, 1_000, "US"))
	quickEnd := waitOrder(t, c, quick.OrderID, terminal)

	s.StopService("payment")
	v := place(t, c, order("patient", "slow", 2, 1_000, "US"))
	got := waitSteps(t, c, v.OrderID, "cancelled", "timeout",
		client.Steps{Payment: "pending", Inventory: "pending", Shipping: "pending"})
	if late := got.UpdatedAt.Sub(got.CreatedAt); late < sagaTimeout {
		t.Errorf("cancelled %v after placing, before its deadline of %v", late, sagaTimeout)
	}

	s.StartService("payment")
	waitQuiet(t, s)
	checkInvariants(t, c)
	wantStock(t, c, "slow", 5-reservedBy(quickEnd), reservedBy(quickEnd))
	wantShipment(t, c, v.OrderID, "")
	p, err := c.Payment(t.Context(), v.OrderID)
	switch {
	case errors.Is(err, client.ErrNotFound):
		t.Log("payment heard the cancellation first and never charged")
	case err == nil && p.Status == "refunded":
		t.Log("payment charged on OrderPlaced, then refunded on OrderCancelled")
		waitSteps(t, c, v.OrderID, "cancelled", "timeout",
			client.Steps{Payment: "refunded", Inventory: "pending", Shipping: "pending"})
	default:
		t.Errorf("payment %+v (%v) after payment came back", p, err)
	}
	if quickEnd.Status == "completed" {
		if again := waitStatus(t, c, quick.OrderID, "completed"); again.Version != quickEnd.Version {
			t.Errorf("completed order changed after its deadline: %+v", again)
		}
		wantBalance(t, c, "patient", 10_000-1_000)
	} else {
		t.Logf("the quick order did not finish within %v on this machine: %+v", sagaTimeout, quickEnd)
		wantBalance(t, c, "patient", 10_000)
	}
}

// TestDeadlineSurvivesRestart: a deadline that passes while the order
// service is down cancels the order as soon as it is back.
func TestDeadlineSurvivesRestart(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{SagaTimeout: sagaTimeout})
	c := sagatest.NewClient(s.NC)
	deposit(t, c, "sleeper", 10_000)
	restock(t, c, "nap", 5)

	s.StopService("payment") // keeps the saga from moving
	v := place(t, c, order("sleeper", "nap", 1, 2_500, "GB"))
	s.StopService("order")
	deadline := v.CreatedAt.Add(sagaTimeout)
	natstest.Eventually(t, wait, func() error {
		if now := time.Now(); now.Before(deadline.Add(100 * time.Millisecond)) {
			return fmt.Errorf("deadline %v not passed yet at %v", deadline, now)
		}
		return nil
	})
	s.StartService("order")
	waitSteps(t, c, v.OrderID, "cancelled", "timeout",
		client.Steps{Payment: "pending", Inventory: "pending", Shipping: "pending"})

	s.StartService("payment")
	waitQuiet(t, s)
	checkInvariants(t, c)
	wantBalance(t, c, "sleeper", 10_000)
	wantStock(t, c, "nap", 5, 0)
	wantShipment(t, c, v.OrderID, "")
	if p, err := c.Payment(t.Context(), v.OrderID); err == nil && p.Status != "refunded" {
		t.Errorf("payment %+v for a timed-out order", p)
	}
}

func terminal(v client.OrderView) error {
	if v.Status != "completed" && v.Status != "cancelled" {
		return fmt.Errorf("order %s is %s", v.OrderID, v.Status)
	}
	return nil
}

// reservedBy is the stock a terminal order holds: its quantities if it
// completed.
func reservedBy(v client.OrderView) int64 {
	if v.Status != "completed" {
		return 0
	}
	var n int64
	for _, it := range v.Items {
		n += it.Quantity
	}
	return n
}
