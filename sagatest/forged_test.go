package sagatest_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/choreo-dev/choreo/shipping/shippingevents"
	"github.com/nats-io/nats.go/jetstream"
)

// TestForgedEventsChangeNothing publishes, with full publish rights (the
// walk-through profile has no authorization), the forgeries an attacker on
// the same host tried: an event on a subject whose order token is not the
// envelope's order, an event whose type is not its subject's, events about
// an order nobody placed, and an OrderPlaced whose total is not the sum of
// its lines. Each is dead-lettered at once, by every service that hears it,
// with the reason — and no balance, stock, order, payment or shipment
// changes. (What a forger with publish rights could still do with a fully
// consistent event is what the secure profile's permissions forbid.)
func TestForgedEventsChangeNothing(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	c := sagatest.NewClient(s.NC)
	deposit(t, c, "forge-rich", 1_000_000)
	restock(t, c, "forge-sku", 100)
	done := place(t, c, order("forge-rich", "forge-sku", 2, 1_500, "GB"))
	waitStatus(t, c, done.OrderID, "completed")
	waitQuiet(t, s)
	before := forgeSnapshot(t, c, done.OrderID)

	items := []orderevents.Item{{SKU: "forge-sku", Quantity: 2, UnitPriceCents: 1_500}}
	addr := sagatest.Addr("GB")
	cancelDone := orderevents.OrderCancelled{OrderID: done.OrderID, Reason: orderevents.ReasonCustomerRequest}
	at := time.Now().UTC()
	for _, f := range []struct {
		name      string
		subject   string
		event     envelope.Event // wrapped in an envelope as its publisher would
		aggregate string
		hearers   []string
		reason    string
	}{
		{"cancel of a completed order on another order's token", "order.events.OrderCancelled.zzz",
			cancelDone, done.OrderID, []string{"payment", "inventory", "shipping"}, "subject order.events.OrderCancelled.zzz does not match the envelope"},
		{"an OrderCancelled on the OrderPlaced subject", "order.events.OrderPlaced." + done.OrderID,
			cancelDone, done.OrderID, []string{"payment"}, "does not match the envelope (type OrderCancelled"},
		{"a shipment for an order nobody placed", "shipping.events.ShipmentScheduled.ghost-1",
			shippingevents.ShipmentScheduled{OrderID: "ghost-1", ShipmentID: "s-ghost", Carrier: "DHL", TrackingNumber: "CH1", Country: "GB"},
			"ghost-1", []string{"order"}, "unknown order"},
		{"a refund for an order nobody placed", "payment.events.PaymentRefunded.ghost-2",
			paymentevents.PaymentRefunded{OrderID: "ghost-2", PaymentID: "p-ghost", CustomerID: "forge-rich", AmountCents: 90_000},
			"ghost-2", []string{"order"}, "unknown order"},
		{"an OrderPlaced whose total is not its lines' sum", "order.events.OrderPlaced.forged-total",
			orderevents.OrderPlaced{OrderID: "forged-total", CustomerID: "forge-rich", Items: items, TotalCents: 90_000,
				Currency: "USD", ShippingAddress: addr, PlacedAt: at, Deadline: at.Add(30 * time.Second)},
			"forged-total", []string{"payment"}, "total_cents must be the lines' total 3000, got 90000"},
	} {
		env := newEnvelope(t, f.event, aggregateOf(f.subject), f.aggregate)
		publishEnvelope(t, s.JS, f.subject, env)
		for _, svc := range f.hearers {
			m := waitDeadLetter(t, s.JS, streams.DeadLetterSubject(svc, f.subject))
			if got := m.Header.Get("Choreo-Dlq-Error"); !strings.Contains(got, f.reason) || m.Header.Get("Choreo-Dlq-Deliveries") != "1" {
				t.Errorf("%s: %s dead-lettered it after %s deliveries with %q, want at once with %q",
					f.name, svc, m.Header.Get("Choreo-Dlq-Deliveries"), got, f.reason)
			}
		}
	}
	waitQuiet(t, s)
	after := forgeSnapshot(t, c, done.OrderID)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s changed: %s -> %s", k, v, after[k])
		}
	}
	for _, ghost := range []string{"ghost-1", "ghost-2", "forged-total"} {
		if _, err := c.Get(t.Context(), ghost); !errors.Is(err, client.ErrNotFound) {
			t.Errorf("order %s: %v, want not found", ghost, err)
		}
		if _, err := c.Payment(t.Context(), ghost); !errors.Is(err, client.ErrNotFound) {
			t.Errorf("payment of %s: %v, want not found", ghost, err)
		}
	}
	checkInvariants(t, c)
}

// aggregateOf is the aggregate type a forger would claim: the subject's
// publisher.
func aggregateOf(subject string) string {
	svc, _, _, _ := streams.ParseSubject(subject)
	return svc
}

func waitDeadLetter(t *testing.T, js jetstream.JetStream, subject string) *jetstream.RawStreamMsg {
	t.Helper()
	var m *jetstream.RawStreamMsg
	natstest.Eventually(t, 20*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := js.Stream(ctx, streams.DLQ)
		if err != nil {
			return err
		}
		m, err = st.GetLastMsgForSubject(ctx, subject)
		return err
	})
	return m
}

// forgeSnapshot is what a forgery must not change.
func forgeSnapshot(t *testing.T, c *sagatest.Client, orderID string) map[string]string {
	t.Helper()
	ctx := t.Context()
	snap := map[string]string{}
	b, err := c.Balance(ctx, "forge-rich")
	st, err2 := c.Stock(ctx, "forge-sku")
	o, err3 := c.Get(ctx, orderID)
	p, err4 := c.Payment(ctx, orderID)
	sh, err5 := c.Shipment(ctx, orderID)
	for _, e := range []error{err, err2, err3, err4, err5} {
		if e != nil {
			t.Fatal(e)
		}
	}
	snap["balance"] = strconv.FormatInt(b.BalanceCents, 10)
	snap["stock"] = strconv.FormatInt(st.Available, 10) + "/" + strconv.FormatInt(st.Reserved, 10)
	snap["order"] = o.Status + " " + o.Steps.Payment + " " + o.Steps.Inventory + " " + o.Steps.Shipping + " v" + strconv.FormatUint(o.Version, 10)
	snap["payment"] = p.Status
	snap["shipment"] = sh.Status
	return snap
}
