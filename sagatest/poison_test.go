package sagatest_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestPoisonMessages: messages no consumer can decode go to the DLQ stream
// at once, with the original body and the contract's headers, and the
// messages behind them are handled as usual.
func TestPoisonMessages(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	c := sagatest.NewClient(s.NC)
	deposit(t, c, "brave", 100_000)
	restock(t, c, "antidote", 100)
	before := place(t, c, order("brave", "antidote", 1, 1_000, "US"))

	type poison struct {
		subject   string
		body      []byte
		consumers []string // the services that must dead-letter it
	}
	unknown, err := json.Marshal(envelope.Envelope{
		ID: envelope.NewID(), Type: "OrderTeleported", SchemaVersion: 1, AggregateType: "order",
		AggregateID: "poison2", Version: 1, OccurredAt: time.Now().UTC(), CorrelationID: "poison2",
		CausationID: envelope.NewID(), Data: json.RawMessage(`{"order_id":"poison2"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	badData, err := json.Marshal(envelope.Envelope{
		ID: envelope.NewID(), Type: "OrderPlaced", SchemaVersion: 1, AggregateType: "order",
		AggregateID: "poison3", Version: 1, OccurredAt: time.Now().UTC(), CorrelationID: "poison3",
		CausationID: envelope.NewID(), Data: json.RawMessage(`{"order_id":"poison3","total_cents":"lots"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	poisons := []poison{
		{"order.events.OrderPlaced.poison1", []byte("\x00\xffnot json at all{"), []string{"payment"}},
		// Every service that hears OrderCancelled gives up on an unknown type.
		{"order.events.OrderCancelled.poison2", unknown, []string{"payment", "inventory", "shipping"}},
		{"order.events.OrderPlaced.poison3", badData, []string{"payment"}},
		{"order.events.OrderPlaced.poison4", []byte(`{"id":"x","type":"OrderPlaced"}`), []string{"payment"}},
	}
	seqs := make([]uint64, len(poisons))
	msgIDs := make([]string, len(poisons))
	for i, p := range poisons {
		msgIDs[i] = "poison-" + strconv.Itoa(i) + "-" + envelope.NewID()
		msg := nats.NewMsg(p.subject)
		msg.Data = p.body
		msg.Header.Set(jetstream.MsgIDHeader, msgIDs[i])
		msg.Header.Set("X-Test-Origin", "poison")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ack, err := s.JS.PublishMsg(ctx, msg)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		seqs[i] = ack.Sequence
	}
	// Orders placed behind the poison still go through.
	var after []string
	for range 3 {
		after = append(after, place(t, c, order("brave", "antidote", 1, 1_000, "US")).OrderID)
	}

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	dlq, err := s.JS.Stream(ctx, "DLQ")
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range poisons {
		for _, svc := range p.consumers {
			subject := "dlq." + svc + "." + p.subject
			var m *jetstream.RawStreamMsg
			natstest.Eventually(t, wait, func() (err error) {
				m, err = dlq.GetLastMsgForSubject(ctx, subject)
				return err
			})
			h := m.Header
			for k, want := range map[string]string{
				"Choreo-Dlq-Stream":     "ORDER_EVENTS",
				"Choreo-Dlq-Sequence":   strconv.FormatUint(seqs[i], 10),
				"Choreo-Dlq-Subject":    p.subject,
				"Choreo-Dlq-Deliveries": "1", // undecodable: dead-lettered at once
				"X-Test-Origin":         "poison",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s: header %s = %q, want %q", subject, k, got, want)
				}
			}
			if h.Get("Choreo-Dlq-Error") == "" {
				t.Errorf("%s: no Choreo-Dlq-Error header", subject)
			}
			if string(m.Data) != string(p.body) {
				t.Errorf("%s: body %q, want the original %q", subject, m.Data, p.body)
			}
			t.Logf("%s: %s", subject, h.Get("Choreo-Dlq-Error"))
		}
	}
	// Nothing else was dead-lettered for them.
	info, err := dlq.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(6); info.State.Msgs != want {
		t.Errorf("DLQ holds %d messages, want %d", info.State.Msgs, want)
	}

	for _, id := range append(after, before.OrderID) {
		waitStatus(t, c, id, "completed")
	}
	waitQuiet(t, s) // the poison is terminated, not left pending
	checkInvariants(t, c)
}
