package sagatest_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/sagatest"
)

// TestCancel covers order.cancel's answers and a cancel racing the saga.
func TestCancel(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})

	t.Run("right after place", func(t *testing.T) {
		t.Parallel()
		c := sagatest.NewClient(s.NC)
		deposit(t, c, "hasty", 100_000)
		restock(t, c, "impulse", 100)
		for range 5 {
			v := place(t, c, order("hasty", "impulse", 1, 1_000, "CA"))
			cv, err := c.Cancel(t.Context(), v.OrderID, "")
			switch {
			case err == nil:
				if cv.Status != "cancelled" || cv.CancelReason != "customer_request" {
					t.Errorf("cancel replied %+v", cv)
				}
				final := waitStatus(t, c, v.OrderID, "cancelled")
				if final.CancelReason != "customer_request" {
					t.Errorf("cancelled with reason %q", final.CancelReason)
				}
			case errors.Is(err, client.ErrConflict):
				// The saga won the race: it must then have completed.
				t.Logf("order %s completed before the cancel arrived", v.OrderID)
				waitStatus(t, c, v.OrderID, "completed")
			default:
				t.Fatalf("cancel %s: %v", v.OrderID, err)
			}
		}
		sum := checkInvariants(t, c)
		t.Logf("%+v", sum)
	})

	t.Run("answers", func(t *testing.T) {
		t.Parallel()
		c := sagatest.NewClient(s.NC)
		deposit(t, c, "decisive", 10_000)
		restock(t, c, "keeper", 10)
		done := place(t, c, order("decisive", "keeper", 1, 1_000, "JP"))
		waitStatus(t, c, done.OrderID, "completed")
		_, err := c.Cancel(t.Context(), done.OrderID, "too late")
		wantCode(t, err, 409, "conflict")

		_, err = c.Cancel(t.Context(), "no-such-order", "")
		wantCode(t, err, 404, "not_found")
		_, err = c.Cancel(t.Context(), "bad id!", "")
		wantCode(t, err, 400, "invalid_argument")

		// An order the saga cancelled cannot be cancelled again.
		declined := place(t, c, order("decisive", "keeper", 1, 1_000_000, "JP"))
		waitStatus(t, c, declined.OrderID, "cancelled")
		_, err = c.Cancel(t.Context(), declined.OrderID, "")
		wantCode(t, err, 409, "conflict")

		// A second cancel conflicts. (The first one may lose the race
		// against the saga; then try again with a new order.)
		var v client.OrderView
		for attempt := 0; ; attempt++ {
			v = place(t, c, order("decisive", "keeper", 1, 1_000, "JP"))
			first, err := c.Cancel(t.Context(), v.OrderID, "")
			if errors.Is(err, client.ErrConflict) && attempt < 5 {
				continue
			}
			if err != nil || first.Status != "cancelled" {
				t.Fatalf("cancel: %+v, %v", first, err)
			}
			break
		}
		_, err = c.Cancel(t.Context(), v.OrderID, "")
		wantCode(t, err, 409, "conflict")

		checkInvariants(t, c)
		// The rejected cancels changed nothing.
		got := waitStatus(t, c, done.OrderID, "completed")
		if got.Version != 4 {
			t.Errorf("completed order at version %d after a rejected cancel, want 4", got.Version)
		}
		if n := count(eventTypes(history(t, c, v.OrderID)), "OrderCancelled"); n != 1 {
			t.Errorf("%d OrderCancelled after cancelling twice, want 1", n)
		}
	})
}

// TestCancelAfterPayment cancels an order that is paid but not reserved (the
// inventory service is down): payment refunds, and inventory, once back,
// leaves no reservation standing.
func TestCancelAfterPayment(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	c := sagatest.NewClient(s.NC)
	deposit(t, c, "fickle", 10_000)
	restock(t, c, "whim", 5)

	s.StopService("inventory")
	v := place(t, c, order("fickle", "whim", 2, 1_500, "NL"))
	waitStatus(t, c, v.OrderID, "paid")
	wantBalance(t, c, "fickle", 7_000)
	cv, err := c.Cancel(t.Context(), v.OrderID, "changed my mind")
	if err != nil || cv.Status != "cancelled" || cv.CancelReason != "customer_request" {
		t.Fatalf("cancel: %+v, %v", cv, err)
	}
	waitSteps(t, c, v.OrderID, "cancelled", "customer_request",
		client.Steps{Payment: "refunded", Inventory: "pending", Shipping: "pending"})
	wantBalance(t, c, "fickle", 10_000)
	wantPayment(t, c, v.OrderID, "refunded")
	wantCancelNote(t, c, v.OrderID, "changed my mind")

	s.StartService("inventory")
	waitQuiet(t, s)
	got := checkInvariants(t, c)
	if got.Cancelled != 1 {
		t.Errorf("summary %+v", got)
	}
	wantStock(t, c, "whim", 5, 0)
	wantShipment(t, c, v.OrderID, "")
	wantBalance(t, c, "fickle", 10_000)
	final, err := c.Get(t.Context(), v.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	switch final.Steps.Inventory {
	case "pending":
		t.Log("inventory heard the cancellation first and never reserved")
	case "released":
		t.Log("inventory reserved on PaymentCompleted, then released on OrderCancelled")
	default:
		t.Errorf("steps %+v after inventory came back", final.Steps)
	}
}

// TestCancelAfterReservation cancels an order that is reserved but not
// shipped (the shipping service is down): payment refunds, inventory
// releases, and shipping, once back, leaves no shipment standing.
func TestCancelAfterReservation(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	c := sagatest.NewClient(s.NC)
	deposit(t, c, "wavering", 10_000)
	restock(t, c, "doubt", 5)

	s.StopService("shipping")
	v := place(t, c, order("wavering", "doubt", 2, 1_500, "AU"))
	waitStatus(t, c, v.OrderID, "reserved")
	wantStock(t, c, "doubt", 3, 2)
	if _, err := c.Cancel(t.Context(), v.OrderID, ""); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	waitSteps(t, c, v.OrderID, "cancelled", "customer_request",
		client.Steps{Payment: "refunded", Inventory: "released", Shipping: "pending"})
	wantBalance(t, c, "wavering", 10_000)
	wantStock(t, c, "doubt", 5, 0)

	s.StartService("shipping")
	waitQuiet(t, s)
	checkInvariants(t, c)
	wantStock(t, c, "doubt", 5, 0)
	wantBalance(t, c, "wavering", 10_000)
	sh, err := c.Shipment(t.Context(), v.OrderID)
	switch {
	case errors.Is(err, client.ErrNotFound):
		t.Log("shipping heard the cancellation first and never scheduled")
	case err == nil && sh.Status == "cancelled":
		t.Log("shipping scheduled on StockReserved, then cancelled on OrderCancelled")
		waitSteps(t, c, v.OrderID, "cancelled", "customer_request",
			client.Steps{Payment: "refunded", Inventory: "released", Shipping: "cancelled"})
	default:
		t.Errorf("shipment %+v (%v) after shipping came back", sh, err)
	}
}

// wantCancelNote checks that the order's OrderCancelled keeps the customer's
// note.
func wantCancelNote(t testing.TB, c *sagatest.Client, id, note string) {
	t.Helper()
	for _, e := range history(t, c, id) {
		if e.Type != "OrderCancelled" {
			continue
		}
		var d struct {
			Reason string `json:"reason"`
			Note   string `json:"note"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil || d.Reason != "customer_request" || d.Note != note {
			t.Errorf("OrderCancelled data %s, want reason customer_request and note %q", e.Data, note)
		}
		return
	}
	t.Errorf("order %s has no OrderCancelled", id)
}
