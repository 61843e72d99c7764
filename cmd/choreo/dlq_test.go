package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/client/dlq"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// letters lists the dead letters through "dlq ls -o json": a JSON array.
func letters(t *testing.T, s *sagatest.Stack, args ...string) []dlq.Letter {
	t.Helper()
	out := ok(t, s, append([]string{"dlq", "ls", "-o", "json"}, args...)...)
	var ls []dlq.Letter
	if err := json.Unmarshal([]byte(out), &ls); err != nil || ls == nil {
		t.Fatalf("dlq ls -o json: %v\n%s", err, out)
	}
	return ls
}

// waitLetters waits until service has dead letters on exactly the given
// original subjects, and returns them by subject.
func waitLetters(t *testing.T, s *sagatest.Stack, service string, subjects ...string) map[string]dlq.Letter {
	t.Helper()
	var got map[string]dlq.Letter
	natstest.Eventually(t, wait, func() error {
		got = map[string]dlq.Letter{}
		for _, l := range letters(t, s, "-service", service) {
			got[l.OriginalSubject] = l
		}
		if len(got) != len(subjects) {
			return fmt.Errorf("%s's dead letters: %v, want %v", service, got, subjects)
		}
		for _, sub := range subjects {
			if _, ok := got[sub]; !ok {
				return fmt.Errorf("%s's dead letters: no %s in %v", service, sub, got)
			}
		}
		return nil
	})
	return got
}

// publish publishes body on subject with a Nats-Msg-Id, as a service's relay
// would, or without one if id is empty.
func publish(t *testing.T, s *sagatest.Stack, subject, id string, body []byte) {
	t.Helper()
	m := nats.NewMsg(subject)
	if id != "" {
		m.Header.Set(jetstream.MsgIDHeader, id)
	}
	m.Data = body
	if _, err := s.JS.PublishMsg(t.Context(), m); err != nil {
		t.Fatal(err)
	}
}

// TestDLQRedrive makes the order service dead-letter events it cannot handle
// yet, fixes the cause and redrives them: the order completes, and nothing
// happens twice.
func TestDLQRedrive(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	c := sagatest.NewClient(s.NC)
	if _, err := c.Deposit(t.Context(), "ada", 5000); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Restock(t.Context(), "widget", 10); err != nil {
		t.Fatal(err)
	}

	// A PaymentCompleted for an order the order service has never placed.
	// Inventory reserves and shipping schedules on it; order gives up on it
	// and on what follows it, at once: an unknown order is permanent.
	const x = "x-1"
	req := client.PlaceRequest{OrderID: x, CustomerID: "ada", ShippingAddress: sagatest.Addr("GB"),
		Items: []client.Item{{SKU: "widget", Quantity: 2, UnitPriceCents: 500}}}
	env := s.PublishEvent(t, "payment", paymentevents.PaymentCompleted{OrderID: x, PaymentID: "pay-early", CustomerID: "ada",
		AmountCents: 1000, Items: req.Items, ShippingAddress: req.ShippingAddress}, x)

	paid, reserved, scheduled := "payment.events.PaymentCompleted."+x, "inventory.events.StockReserved."+x, "shipping.events.ShipmentScheduled."+x
	dead := waitLetters(t, s, "order", paid, reserved, scheduled)
	l := dead[paid]
	if l.Subject != "dlq.order."+paid || l.Stream != "PAYMENT_EVENTS" || l.MsgID != env.ID ||
		l.Deliveries != 1 || !strings.Contains(l.Error, "unknown order") {
		t.Errorf("dead letter = %+v", l)
	}
	if len(letters(t, s)) != 3 {
		t.Errorf("dead letters of other services: %+v", letters(t, s))
	}
	contains(t, "dlq ls", ok(t, s, "dlq", "ls"), "SEQ", "ORIGINAL", "dlq.order."+paid, "PAYMENT_EVENTS/", "unknown order")
	contains(t, "dlq show", ok(t, s, "dlq", "show", fmt.Sprint(l.Seq)),
		"Choreo-Dlq-Error: ", "unknown order", "Choreo-Dlq-Msg-Id: "+env.ID, `"payment_id": "pay-early"`)
	stockIs(t, s, "widget", 8, 2)

	// The cause goes away: the order is placed. Payment charges it and
	// order hears that; inventory has decided already, so the order waits
	// for the StockReserved it gave up on.
	if _, err := c.Place(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, s, x, "paid")

	// Redrive one letter by its sequence.
	out := ok(t, s, "dlq", "redrive", fmt.Sprint(dead[reserved].Seq))
	contains(t, "dlq redrive SEQ", out, fmt.Sprintf("redriven %d: %s -> INVENTORY_EVENTS/", dead[reserved].Seq, reserved),
		fmt.Sprintf("(Nats-Msg-Id redrive.%d.%s)\n", dead[reserved].Seq, dead[reserved].MsgID))
	waitStatus(t, s, x, "reserved")
	r := choreo(t, s, "dlq", "show", fmt.Sprint(dead[reserved].Seq))
	if r.code != 1 || !strings.Contains(r.err, "dead letter not found") {
		t.Errorf("dlq show of a redriven letter: exit %d, stderr %q", r.code, r.err)
	}
	r = choreo(t, s, "dlq", "redrive", fmt.Sprint(dead[reserved].Seq))
	if r.code != 1 || !strings.Contains(r.err, "dead letter not found") {
		t.Errorf("second redrive: exit %d, stderr %q", r.code, r.err)
	}

	// And the rest of order's.
	out = ok(t, s, "dlq", "redrive", "-all", "-service", "order")
	contains(t, "dlq redrive -all", out, "redriven", paid, scheduled, "2 dead letter(s) redriven")
	waitStatus(t, s, x, "completed")
	natstest.Eventually(t, wait, s.Quiet)
	contains(t, "dlq ls", ok(t, s, "dlq", "ls"), "no dead letters")

	// Exactly once: one reservation, one charge, one shipment, each order
	// event once.
	stockIs(t, s, "widget", 8, 2)
	v, err := c.Get(t.Context(), x)
	if err != nil {
		t.Fatal(err)
	}
	if v.Steps != (client.Steps{Payment: "completed", Inventory: "reserved", Shipping: "scheduled"}) {
		t.Errorf("steps = %+v", v.Steps)
	}
	var types []string
	events, err := c.History(t.Context(), x)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		types = append(types, e.Type)
	}
	if got := strings.Join(types, " "); got != "OrderPlaced OrderPaid OrderReserved OrderCompleted" {
		t.Errorf("history = %s", got)
	}
	if _, err := c.CheckInvariants(t.Context()); err != nil {
		t.Error(err)
	}
	if b, _ := c.Balance(t.Context(), "ada"); b.BalanceCents != 4000 {
		t.Errorf("balance = %d, want 4000", b.BalanceCents)
	}
}

func stockIs(t *testing.T, s *sagatest.Stack, sku string, available, reserved int64) {
	t.Helper()
	natstest.Eventually(t, wait, func() error {
		v, err := client.New(s.NC).Stock(t.Context(), sku)
		if err != nil {
			return err
		}
		if v.Available != available || v.Reserved != reserved {
			return fmt.Errorf("%s: %d available, %d reserved; want %d and %d", sku, v.Available, v.Reserved, available, reserved)
		}
		return nil
	})
}

// TestDLQRedriveAgainAndPurge dead-letters undecodable messages, which both
// of PaymentCompleted's consumers give up on, redrives them without fixing
// anything (they come back under new sequences, and the redrive ends), then
// purges them.
func TestDLQRedriveAgainAndPurge(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	contains(t, "dlq ls", ok(t, s, "dlq", "ls"), "no dead letters")
	for _, id := range []string{"a", "b"} {
		publish(t, s, "payment.events.PaymentCompleted."+id, "bad-"+id, []byte("not json"))
	}
	a, b := "payment.events.PaymentCompleted.a", "payment.events.PaymentCompleted.b"
	before := waitLetters(t, s, "inventory", a, b)
	waitLetters(t, s, "order", a, b)
	if l := before[a]; !strings.Contains(l.Error, "invalid envelope") {
		t.Errorf("undecodable letter's error = %q", l.Error)
	}

	out := ok(t, s, "dlq", "redrive", "-all", "-service", "inventory")
	contains(t, "dlq redrive -all", out, "2 dead letter(s) redriven")
	// Still broken: inventory gives up again, under new sequences; order gets
	// them again too, and gives up again.
	natstest.Eventually(t, wait, func() error {
		ls := letters(t, s)
		if len(ls) != 6 {
			return fmt.Errorf("%d dead letters, want 6", len(ls))
		}
		return nil
	})
	after := waitLetters(t, s, "inventory", a, b)
	for sub, l := range after {
		if l.Seq <= before[sub].Seq || l.Headers.Get("Choreo-Redriven-From") != strconv.FormatUint(before[sub].Seq, 10) {
			t.Errorf("%s dead-lettered again as %+v, was %d", sub, l, before[sub].Seq)
		}
	}

	order := letters(t, s, "-service", "order")
	r := choreo(t, s, "dlq", "purge", fmt.Sprint(order[0].Seq))
	if r.code != 2 || !strings.Contains(r.err, "-yes") {
		t.Errorf("purge without -yes: exit %d, stderr %q", r.code, r.err)
	}
	contains(t, "dlq purge SEQ", ok(t, s, "dlq", "purge", fmt.Sprint(order[0].Seq), "-yes"), fmt.Sprintf("purged %d: dlq.order.", order[0].Seq))
	if n := len(letters(t, s, "-service", "order")); n != len(order)-1 {
		t.Errorf("order has %d dead letters after purging one of %d", n, len(order))
	}
	contains(t, "dlq purge -all -service", ok(t, s, "dlq", "purge", "-all", "-service", "inventory", "-yes"), "2 dead letter(s) purged")
	if ls := letters(t, s, "-service", "inventory"); len(ls) != 0 {
		t.Errorf("inventory's letters after purge: %+v", ls)
	}
	contains(t, "dlq purge -all", ok(t, s, "dlq", "purge", "-all", "-yes"), fmt.Sprintf("%d dead letter(s) purged", len(order)-1))
	contains(t, "dlq ls", ok(t, s, "dlq", "ls"), "no dead letters")
}

// TestDLQLetterWithoutMsgID dead-letters a message published without a
// Nats-Msg-Id: the letter shows no empty Choreo-Dlq-Msg-Id, and its redrive
// id reads redrive.<seq>.
func TestDLQLetterWithoutMsgID(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	subject := "payment.events.PaymentCompleted.n"
	publish(t, s, subject, "", []byte("not json"))
	l := waitLetters(t, s, "inventory", subject)[subject]
	waitLetters(t, s, "order", subject)
	if l.MsgID != "" || l.Headers.Get("Choreo-Dlq-Msg-Id") != "" {
		t.Errorf("letter without an original id: %+v", l)
	}
	out := ok(t, s, "dlq", "show", fmt.Sprint(l.Seq))
	contains(t, "dlq show", out, "Choreo-Dlq-Subject: "+subject, "not json")
	if strings.Contains(out, "Choreo-Dlq-Msg-Id") {
		t.Errorf("dlq show prints an empty Choreo-Dlq-Msg-Id:\n%s", out)
	}
	out = ok(t, s, "dlq", "redrive", fmt.Sprint(l.Seq))
	contains(t, "dlq redrive", out, fmt.Sprintf("(Nats-Msg-Id redrive.%d)\n", l.Seq))
	if strings.Contains(out, fmt.Sprintf("redrive.%d.", l.Seq)) {
		t.Errorf("redrive id with a trailing dot:\n%s", out)
	}

	// -o json: an array of what was redriven, and the purge count. (Every
	// redrive comes back: the body is still not JSON.)
	natstest.Eventually(t, wait, s.Quiet)
	order := letters(t, s, "-service", "order")
	var redriven []struct {
		Seq     uint64 `json:"seq"`
		Subject string `json:"subject"`
		MsgID   string `json:"msg_id"`
		Stream  string `json:"stream"`
	}
	if err := json.Unmarshal([]byte(ok(t, s, "dlq", "redrive", "-all", "-service", "order", "-o", "json")), &redriven); err != nil ||
		len(redriven) != len(order) {
		t.Fatalf("dlq redrive -o json = %+v (%v), letters %+v", redriven, err, order)
	}
	for i, r := range redriven {
		want := fmt.Sprintf("redrive.%d", r.Seq) // the first letter's original had no id; later ones have a redrive's
		if order[i].MsgID != "" {
			want += "." + order[i].MsgID
		}
		if r.Seq != order[i].Seq || r.MsgID != want || r.Subject != subject || r.Stream != "PAYMENT_EVENTS" {
			t.Errorf("redriven %+v, letter %+v", r, order[i])
		}
	}
	natstest.Eventually(t, wait, s.Quiet)
	n := len(letters(t, s))
	var purged struct{ Purged int }
	if err := json.Unmarshal([]byte(ok(t, s, "-o", "json", "dlq", "purge", "-all", "-yes")), &purged); err != nil || purged.Purged != n {
		t.Errorf("dlq purge -o json = %+v, %v; want %d purged", purged, err, n)
	}
	if out := ok(t, s, "dlq", "ls", "-o", "json"); out != "[]\n" {
		t.Errorf("dlq ls -o json of none = %q", out)
	}
}

// TestPublishMakesADeadLetter: the README's way to make a dead letter to try
// the dlq commands on — publish a message that is not an event where payment
// hears OrderPlaced — works with the CLI alone.
func TestPublishMakesADeadLetter(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	if out := ok(t, s, "publish", "order.events.OrderPlaced.junk", "not an event"); !strings.Contains(out, "stored in ORDER_EVENTS as message") {
		t.Errorf("publish printed %q", out)
	}
	l := waitLetters(t, s, "payment", "order.events.OrderPlaced.junk")["order.events.OrderPlaced.junk"]
	if l.Deliveries != 1 {
		t.Errorf("dead-lettered after %d deliveries, want 1 (undecodable: at once)", l.Deliveries)
	}
	if r := choreo(t, s, "publish", "order.events.OrderPlaced.x"); r.code != 2 {
		t.Errorf("publish without a body: exit %d, want 2 (usage)", r.code)
	}
}
