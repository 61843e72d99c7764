package sagatest_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/natstest"
)

// waitTimeline waits until the order's timeline satisfies ok and returns it.
func waitTimeline(t testing.TB, c *sagatest.Client, id string, ok func(client.Timeline) error) client.Timeline {
	t.Helper()
	var tl client.Timeline
	natstest.Eventually(t, wait, func() error {
		var err error
		if tl, err = c.Timeline(t.Context(), id); err != nil {
			return err
		}
		return ok(tl)
	})
	return tl
}

// ended is a timeline's condition: the saga has status and waits for
// nothing.
func ended(status string) func(client.Timeline) error {
	return func(tl client.Timeline) error {
		if tl.Status != status || tl.WaitingOn != nil {
			w := "nothing"
			if tl.WaitingOn != nil {
				w = *tl.WaitingOn
			}
			return fmt.Errorf("order %s is %s, waiting on %s, events %v", tl.OrderID, tl.Status, w, timelineTypes(tl))
		}
		return nil
	}
}

func timelineTypes(tl client.Timeline) []string {
	out := make([]string, len(tl.Events))
	for i, e := range tl.Events {
		out[i] = e.Type
	}
	return out
}

// checkTimeline checks that tl holds exactly the event types want (in any
// order but oldest first, OrderPlaced first), each with its publisher, its
// subject and a causation that is an earlier event of the saga (or, for
// what the order did on its own — a command, its deadline — none of them).
func checkTimeline(t testing.TB, tl client.Timeline, want ...string) {
	t.Helper()
	got := timelineTypes(tl)
	if !reflect.DeepEqual(sorted(got), sorted(want)) {
		t.Fatalf("timeline of %s: %v, want (in some order) %v", tl.OrderID, got, want)
	}
	if got[0] != "OrderPlaced" {
		t.Errorf("timeline of %s starts with %s", tl.OrderID, got[0])
	}
	byID := map[string]client.TimelineEvent{}
	for i, e := range tl.Events {
		byID[e.ID] = e
		if i > 0 && e.OccurredAt.Before(tl.Events[i-1].OccurredAt) {
			t.Errorf("timeline of %s not oldest first at %d: %v", tl.OrderID, i, got)
		}
		var service string
		switch {
		case strings.HasPrefix(e.Type, "Order"):
			service = "order"
		case strings.HasPrefix(e.Type, "Payment"):
			service = "payment"
		case strings.HasPrefix(e.Type, "Stock"):
			service = "inventory"
		case strings.HasPrefix(e.Type, "Shipment"):
			service = "shipping"
		}
		if e.Service != service || e.Subject != service+".events."+e.Type+"."+tl.OrderID {
			t.Errorf("%s: service %q, subject %q", e.Type, e.Service, e.Subject)
		}
		if e.RecordedAt.Before(e.OccurredAt) {
			t.Errorf("%s recorded at %v, before it occurred at %v", e.Type, e.RecordedAt, e.OccurredAt)
		}
	}
	for _, e := range tl.Events {
		if _, ok := byID[e.CausationID]; !ok && e.Service != "order" {
			t.Errorf("%s of %s: causation %q is no event of its saga", e.Type, e.Service, e.CausationID)
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestTimeline: order.timeline shows a completed, a compensated and a timed
// out saga, each event from the service that published it, oldest first,
// with what the saga waits on — also after a restart of the order service
// and after its projections are rebuilt from its store.
func TestTimeline(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{SagaTimeout: sagaTimeout})
	c := sagatest.NewClient(s.NC)
	deposit(t, c, "tina", 100_000)
	restock(t, c, "clock", 10)

	done := place(t, c, order("tina", "clock", 1, 1_000, "US"))
	checkTimeline(t, waitTimeline(t, c, done.OrderID, ended("completed")),
		"OrderPlaced", "PaymentCompleted", "OrderPaid", "StockReserved", "OrderReserved", "ShipmentScheduled", "OrderCompleted")

	undone := place(t, c, order("tina", "clock", 2, 1_000, "BR"))
	tl := waitTimeline(t, c, undone.OrderID, ended("cancelled"))
	checkTimeline(t, tl, "OrderPlaced", "PaymentCompleted", "OrderPaid", "StockReserved", "OrderReserved",
		"ShipmentFailed", "OrderCancelled", "PaymentRefunded", "StockReleased")
	if last := timelineTypes(tl)[len(tl.Events)-1]; last != "PaymentRefunded" && last != "StockReleased" {
		t.Errorf("the compensated saga ends with %s, not a compensation", last)
	}

	// Payment away: the deadline cancels the saga; an effect not heard of is
	// not waited for.
	s.StopService("payment")
	late := place(t, c, order("tina", "clock", 1, 1_000, "US"))
	if tl, err := c.Timeline(t.Context(), late.OrderID); err != nil || tl.WaitingOn == nil || *tl.WaitingOn != "payment" {
		t.Fatalf("a saga placed while payment is down: %+v %v, want it waiting on payment", tl, err)
	}
	checkTimeline(t, waitTimeline(t, c, late.OrderID, ended("cancelled")), "OrderPlaced", "OrderCancelled")
	s.StartService("payment")
	waitQuiet(t, s)
	lateTL := waitTimeline(t, c, late.OrderID, ended("cancelled"))
	if got := timelineTypes(lateTL); len(got) != 2 {
		// payment charged on OrderPlaced, then refunded on OrderCancelled
		checkTimeline(t, lateTL, "OrderPlaced", "OrderCancelled", "PaymentCompleted", "PaymentRefunded")
	}

	ids := []string{done.OrderID, undone.OrderID, late.OrderID}
	before := map[string]client.Timeline{}
	for _, id := range ids {
		before[id] = waitTimeline(t, c, id, func(client.Timeline) error { return nil })
	}
	same := func(when string) {
		t.Helper()
		for _, id := range ids {
			got := waitTimeline(t, c, id, func(client.Timeline) error { return nil })
			if !reflect.DeepEqual(got, before[id]) {
				t.Errorf("%s, timeline of %s:\n%+v\nwant\n%+v", when, id, got, before[id])
			}
		}
	}
	s.RestartService("order")
	same("after a restart")

	s.StopService("order")
	spec := s.Spec("order")
	st, err := eventstore.Open(s.DBPath("order"), eventstore.Options{Service: "order", Registry: spec.Registry,
		Projections: spec.Projections, ConsumedProjections: spec.ConsumedProjections})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.RebuildProjections(t.Context()); err != nil {
		t.Fatal(err)
	}
	st.Close()
	s.StartService("order")
	same("after -rebuild-projections")

	if _, err := c.Timeline(t.Context(), "no-such-order"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("timeline of an unknown order: %v, want not found", err)
	}
}
