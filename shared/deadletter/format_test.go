package deadletter_test

import (
	"errors"
	"testing"

	"github.com/choreo-dev/choreo/shared/deadletter"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// delivered publishes an event on the payment stream and returns it as a
// consumer receives it.
func delivered(t *testing.T, js jetstream.JetStream, subject string, header nats.Header) (jetstream.Msg, *jetstream.MsgMetadata) {
	t.Helper()
	m := nats.NewMsg(subject)
	m.Data = []byte(`{"id":"e1"}`)
	for k, vs := range header {
		m.Header[k] = vs
	}
	if _, err := js.PublishMsg(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	c, err := js.OrderedConsumer(t.Context(), streams.Name("payment"), jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Next()
	if err != nil {
		t.Fatal(err)
	}
	meta, err := got.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	return got, meta
}

// store publishes a dead letter to the DLQ stream and reads it back.
func store(t *testing.T, js jetstream.JetStream, letter *nats.Msg) deadletter.Letter {
	t.Helper()
	ack, err := js.PublishMsg(t.Context(), letter)
	if err != nil {
		t.Fatal(err)
	}
	l, err := deadletter.Get(t.Context(), js, ack.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A dead letter written by New reads back through Get as the letter of the
// message it was made from.
func TestNewParsesBack(t *testing.T) {
	t.Parallel()
	js := setup(t)
	subject := "payment.events.PaymentCompleted.A"
	msg, meta := delivered(t, js, subject, nats.Header{
		jetstream.MsgIDHeader:  {"e1"},
		"Nats-Expected-Stream": {streams.Name("payment")},
		"Trace":                {"abc"},
	})
	l := store(t, js, deadletter.New("order", msg, meta, errors.New("boom\ngoroutine 1 [running]:")))
	if l.Subject != "dlq.order."+subject || l.Service != "order" || l.Stream != streams.Name("payment") ||
		l.StreamSeq != meta.Sequence.Stream || l.OriginalSubject != subject || l.Deliveries != 1 ||
		l.Error != "boom" || l.MsgID != "e1" || string(l.Data) != `{"id":"e1"}` {
		t.Fatalf("letter = %+v", l)
	}
	want := map[string]string{
		jetstream.MsgIDHeader:       "dlq.order." + streams.Name("payment") + ".1",
		deadletter.HeaderMsgID:      "e1",
		deadletter.HeaderStream:     streams.Name("payment"),
		deadletter.HeaderSequence:   "1",
		deadletter.HeaderSubject:    subject,
		deadletter.HeaderDeliveries: "1",
		deadletter.HeaderError:      "boom",
		"Trace":                     "abc",
	}
	for k, v := range want {
		if got := l.Header.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	for k := range l.Header {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected header %s: %q", k, l.Header[k])
		}
	}
}

// An original without a Nats-Msg-Id gives a letter without
// Choreo-Dlq-Msg-Id, not one with an empty value.
func TestNewWithoutMsgID(t *testing.T) {
	t.Parallel()
	js := setup(t)
	msg, meta := delivered(t, js, "payment.events.PaymentCompleted.B", nil)
	out := deadletter.New("order", msg, meta, errors.New("boom"))
	if vs, ok := out.Header[deadletter.HeaderMsgID]; ok {
		t.Fatalf("%s = %q on a letter of a message without an id", deadletter.HeaderMsgID, vs)
	}
	l := store(t, js, out)
	if vs := l.Header.Values(deadletter.HeaderMsgID); len(vs) != 0 || l.MsgID != "" {
		t.Fatalf("stored letter has %s %q", deadletter.HeaderMsgID, vs)
	}
}
