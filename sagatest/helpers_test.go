package sagatest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// wait is how long a scenario waits for the stack to settle. It is generous
// because the suite runs under -race on small machines; a passing check
// returns at once.
const wait = 30 * time.Second

// order is a one-line order of qty × sku at price cents each, shipped to cc.
func order(customer, sku string, qty, price int64, cc string) client.PlaceRequest {
	return client.PlaceRequest{
		CustomerID:      customer,
		Items:           []client.Item{{SKU: sku, Quantity: qty, UnitPriceCents: price}},
		ShippingAddress: sagatest.Addr(cc),
	}
}

// deposit credits a customer or fails the test.
func deposit(t testing.TB, c *sagatest.Client, customer string, cents int64) {
	t.Helper()
	if _, err := c.Deposit(t.Context(), customer, cents); err != nil {
		t.Fatalf("deposit %d for %s: %v", cents, customer, err)
	}
}

// restock adds stock or fails the test.
func restock(t testing.TB, c *sagatest.Client, sku string, qty int64) {
	t.Helper()
	if _, err := c.Restock(t.Context(), sku, qty); err != nil {
		t.Fatalf("restock %d of %s: %v", qty, sku, err)
	}
}

// history reads an order's events or fails the test.
func history(t testing.TB, c *sagatest.Client, id string) []envelope.Envelope {
	t.Helper()
	events, err := c.History(t.Context(), id)
	if err != nil {
		t.Fatalf("history of %s: %v", id, err)
	}
	return events
}

// eventTypes lists the events' types.
func eventTypes(events []envelope.Envelope) []string {
	types := make([]string, len(events))
	for i, e := range events {
		types[i] = e.Type
	}
	return types
}

// place places r and fails the test if order.place does not accept it.
func place(t testing.TB, c *sagatest.Client, r client.PlaceRequest) client.OrderView {
	t.Helper()
	v, err := c.Place(t.Context(), r)
	if err != nil {
		t.Fatalf("place %+v: %v", r, err)
	}
	return v
}

// waitOrder waits until the order's view satisfies ok and returns it.
func waitOrder(t testing.TB, c *sagatest.Client, id string, ok func(client.OrderView) error) client.OrderView {
	t.Helper()
	var v client.OrderView
	natstest.Eventually(t, wait, func() error {
		var err error
		if v, err = c.Get(t.Context(), id); err != nil {
			return err
		}
		return ok(v)
	})
	return v
}

// waitStatus waits until the order has the status and returns its view.
func waitStatus(t testing.TB, c *sagatest.Client, id, status string) client.OrderView {
	t.Helper()
	return waitOrder(t, c, id, func(v client.OrderView) error {
		if v.Status != status {
			return fmt.Errorf("order %s is %s (steps %+v), want %s", id, v.Status, v.Steps, status)
		}
		return nil
	})
}

// waitSteps waits until the order has the status and steps and returns its view.
func waitSteps(t testing.TB, c *sagatest.Client, id, status, reason string, steps client.Steps) client.OrderView {
	t.Helper()
	return waitOrder(t, c, id, func(v client.OrderView) error {
		if v.Status != status || v.CancelReason != reason || v.Steps != steps {
			return fmt.Errorf("order %s is %s/%q with steps %+v, want %s/%q with %+v",
				id, v.Status, v.CancelReason, v.Steps, status, reason, steps)
		}
		return nil
	})
}

// checkInvariants waits until the contract's invariants hold for everything
// c did, and returns the summary.
func checkInvariants(t testing.TB, c *sagatest.Client) sagatest.Summary {
	t.Helper()
	var sum sagatest.Summary
	natstest.Eventually(t, wait, func() error {
		var err error
		sum, err = c.CheckInvariants(t.Context())
		return err
	})
	return sum
}

// waitQuiet waits until every consumer has caught up (see Stack.Quiet).
func waitQuiet(t testing.TB, s *sagatest.Stack) {
	t.Helper()
	natstest.Eventually(t, wait, s.Quiet)
}

// wantBalance checks a customer's balance.
func wantBalance(t testing.TB, c *sagatest.Client, customer string, cents int64) {
	t.Helper()
	b, err := c.Balance(t.Context(), customer)
	if err != nil {
		t.Fatalf("balance of %s: %v", customer, err)
	}
	if b.BalanceCents != cents {
		t.Errorf("balance of %s is %d, want %d", customer, b.BalanceCents, cents)
	}
}

// wantStock checks a SKU's stock.
func wantStock(t testing.TB, c *sagatest.Client, sku string, available, reserved int64) {
	t.Helper()
	st, err := c.Stock(t.Context(), sku)
	if err != nil {
		t.Fatalf("stock of %s: %v", sku, err)
	}
	if st.Available != available || st.Reserved != reserved {
		t.Errorf("stock of %s is %d available, %d reserved; want %d, %d", sku, st.Available, st.Reserved, available, reserved)
	}
}

// wantPayment checks the status of an order's payment ("" for none).
func wantPayment(t testing.TB, c *sagatest.Client, id, status string) {
	t.Helper()
	p, err := c.Payment(t.Context(), id)
	switch {
	case status == "" && errors.Is(err, client.ErrNotFound):
	case status == "" && err == nil:
		t.Errorf("order %s has payment %+v, want none", id, p)
	case err != nil:
		t.Errorf("payment of %s: %v", id, err)
	case p.Status != status:
		t.Errorf("payment of %s is %+v, want status %s", id, p, status)
	}
}

// wantShipment checks the status of an order's shipment ("" for none).
func wantShipment(t testing.TB, c *sagatest.Client, id, status string) {
	t.Helper()
	sh, err := c.Shipment(t.Context(), id)
	switch {
	case status == "" && errors.Is(err, client.ErrNotFound):
	case status == "" && err == nil:
		t.Errorf("order %s has shipment %+v, want none", id, sh)
	case err != nil:
		t.Errorf("shipment of %s: %v", id, err)
	case sh.Status != status:
		t.Errorf("shipment of %s is %+v, want status %s", id, sh, status)
	}
}

// wantCode checks that err is a contract error reply with the status and code.
func wantCode(t testing.TB, err error, status int, code string) {
	t.Helper()
	var re *client.Error
	if !errors.As(err, &re) || re.Status != status || re.Code != code {
		t.Errorf("got %v, want a %d %s error reply", err, status, code)
	}
}

// newEnvelope builds a well-formed saga event about order orderID, as its
// owning service would publish it.
func newEnvelope(t testing.TB, ev envelope.Event, aggType, orderID string) envelope.Envelope {
	t.Helper()
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return envelope.Envelope{
		ID: envelope.NewID(), Type: ev.EventType(), SchemaVersion: 1,
		AggregateType: aggType, AggregateID: orderID, Version: 1,
		OccurredAt: time.Now().UTC(), CorrelationID: orderID, CausationID: envelope.NewID(),
		Data: data,
	}
}

// publish publishes body on subject with the Nats-Msg-Id msgID and returns
// the stream sequence JetStream stored it at.
func publish(t testing.TB, js jetstream.JetStream, subject string, body []byte, msgID string) uint64 {
	t.Helper()
	msg := nats.NewMsg(subject)
	msg.Data = body
	if msgID != "" {
		msg.Header.Set(jetstream.MsgIDHeader, msgID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := js.PublishMsg(ctx, msg)
	if err != nil {
		t.Fatalf("publish on %s: %v", subject, err)
	}
	if ack.Duplicate {
		t.Fatalf("publish on %s: JetStream took Nats-Msg-Id %s for a duplicate", subject, msgID)
	}
	return ack.Sequence
}

// publishEnvelope publishes env on subject the way a relay does, with its id
// as Nats-Msg-Id.
func publishEnvelope(t testing.TB, js jetstream.JetStream, subject string, env envelope.Envelope) uint64 {
	t.Helper()
	body, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return publish(t, js, subject, body, env.ID)
}

// lastMsg reads the last message stored on subject in stream.
func lastMsg(t testing.TB, js jetstream.JetStream, stream, subject string) *jetstream.RawStreamMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	m, err := st.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		// A partitioned stream stores it with its partition appended.
		m, err = st.GetLastMsgForSubject(ctx, subject+".*")
	}
	if err != nil {
		t.Fatalf("last message on %s in %s: %v", subject, stream, err)
	}
	return m
}
