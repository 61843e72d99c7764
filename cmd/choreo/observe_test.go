package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/sagatest"
)

// brazil is placeArgs to a country shipping does not serve: the saga is
// compensated after payment and inventory acted.
func brazil(args []string) []string {
	for i, a := range args {
		if a == "GB" {
			args[i] = "BR"
		}
	}
	return args
}

// place -wait on a saga that is cancelled waits for its compensations
// before it prints, and shows the saga's steps on stderr as they come.
func TestPlaceWaitForCompensations(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	ok(t, s, "deposit", "ada", "10000")
	ok(t, s, "restock", "widget", "10")
	r := choreo(t, s, append(brazil(placeArgs("o-br", "ada", "widget:1:500")), "-wait")...)
	if r.code != 0 {
		t.Fatalf("place -wait: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	contains(t, "place -wait (cancelled)", r.out, "cancelled (shipping_failed)", "payment=refunded inventory=released shipping=failed")
	contains(t, "place -wait progress", r.err, "OrderPlaced", "PaymentCompleted", "ShipmentFailed", "OrderCancelled", "PaymentRefunded", "StockReleased")
}

func TestTraceDrawsTheSaga(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	ok(t, s, "deposit", "ada", "10000")
	ok(t, s, "restock", "widget", "10")
	ok(t, s, append(placeArgs("o-t", "ada", "widget:1:500"), "-wait")...)
	out := ok(t, s, "trace", "o-t")
	contains(t, "trace", out, "order o-t: completed, waiting on nothing; 7 events over", "AT", "HOP", "HEARD",
		"order      OrderPlaced", "payment    PaymentCompleted", "inventory  StockReserved", "shipping   ShipmentScheduled", "OrderCompleted", "|*")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3+7 {
		t.Fatalf("trace has %d lines, want a heading, a blank, a header and 7 events:\n%s", len(lines), out)
	}
	if f := strings.Fields(lines[4]); len(f) < 5 || f[2] != "PaymentCompleted" || !strings.HasSuffix(f[3], "s") {
		t.Errorf("PaymentCompleted's line has no hop time: %q", lines[4])
	}
	var tl client.Timeline
	okJSON(t, s, &tl, "trace", "o-t")
	if tl.OrderID != "o-t" || tl.Status != "completed" || tl.WaitingOn != nil || len(tl.Events) != 7 {
		t.Fatalf("trace -o json = %+v", tl)
	}
	if r := choreo(t, s, "trace", "nope"); r.code != 1 || !strings.Contains(r.err, "not_found") {
		t.Errorf("trace of an unknown order: exit %d, %s", r.code, r.err)
	}
}

func TestStuckListsSagasInFlight(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	ok(t, s, "deposit", "ada", "10000")
	ok(t, s, "restock", "widget", "10")
	ok(t, s, append(placeArgs("o-done", "ada", "widget:1:500"), "-wait")...)
	s.StopService("shipping")
	ok(t, s, placeArgs("o-held", "ada", "widget:1:500")...)
	waitStatus(t, s, "o-held", "reserved")

	contains(t, "stuck -older 1h", ok(t, s, "stuck", "-older", "1h"), "no saga in flight for more than 1h0m0s")
	out := ok(t, s, "stuck", "-older", "0s")
	contains(t, "stuck", out, "ORDER", "WAITING_ON", "o-held", "reserved", "shipping", "OrderReserved")
	if strings.Contains(out, "o-done") {
		t.Errorf("stuck lists a completed saga:\n%s", out)
	}
	var got []struct {
		OrderID   string  `json:"order_id"`
		WaitingOn *string `json:"waiting_on"`
	}
	okJSON(t, s, &got, "stuck", "-older", "0s")
	if len(got) != 1 || got[0].OrderID != "o-held" || got[0].WaitingOn == nil || *got[0].WaitingOn != "shipping" {
		t.Errorf("stuck -o json = %+v", got)
	}
	if r := choreo(t, s, "stuck", "-older", "-1s"); r.code != 2 {
		t.Errorf("stuck -older -1s: exit %d", r.code)
	}
}

// watch -order follows one saga — what happened before it started too —
// and returns once the saga is over.
func TestWatchOrderFollowsOneSaga(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	ok(t, s, "deposit", "ada", "10000")
	ok(t, s, "restock", "widget", "10")
	s.StopService("inventory")
	ok(t, s, brazil(placeArgs("o-watched", "ada", "widget:1:500"))...)
	waitStatus(t, s, "o-watched", "paid")

	var out, errOut bytes.Buffer
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	go func() {
		done <- run(ctx, []string{"-server", s.NATS.URL(), "watch", "-order", "o-watched"}, &out, &errOut)
	}()
	select {
	case err := <-done:
		t.Fatalf("watch -order returned before the saga was over: %v\n%s", err, out.String())
	case <-time.After(300 * time.Millisecond):
	}
	s.StartService("inventory")
	select {
	case err := <-done:
		if err != nil || ctx.Err() != nil {
			t.Fatalf("watch -order: %v (%v)\n%s\n%s", err, ctx.Err(), out.String(), errOut.String())
		}
	case <-time.After(wait):
		t.Fatal("watch -order did not return once the saga was over")
	}
	got := out.String()
	for _, typ := range []string{"OrderPlaced", "PaymentCompleted", "OrderPaid", "StockReserved", "ShipmentFailed", "OrderCancelled", "PaymentRefunded", "StockReleased"} {
		if strings.Count(got, " "+typ+" ") != 1 {
			t.Errorf("watch -order shows %s %d times:\n%s", typ, strings.Count(got, " "+typ+" "), got)
		}
	}
	contains(t, "watch -order", errOut.String(), "following the saga of order o-watched", "cancelled, waiting on nothing")

	// -o json: one timeline event per line.
	r := choreo(t, s, "watch", "-order", "o-watched", "-o", "json")
	var n int
	for _, line := range strings.Split(strings.TrimSpace(r.out), "\n") {
		var e client.TimelineEvent
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.ID == "" {
			t.Fatalf("watch -order -o json line %q: %v", line, err)
		}
		n++
	}
	if n != 9 {
		t.Errorf("watch -order -o json printed %d events, want 9", n)
	}
	if r := choreo(t, s, "watch", "order.events.>", "-order", "x"); r.code != 2 {
		t.Errorf("watch SUBJECT -order: exit %d", r.code)
	}
}
