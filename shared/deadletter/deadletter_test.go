package deadletter_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/deadletter"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func setup(t *testing.T) jetstream.JetStream {
	t.Helper()
	js := natstest.RunJetStream(t).JetStream(t)
	if err := streams.Ensure(t.Context(), js, []string{"order", "payment"}, streams.Options{}); err != nil {
		t.Fatal(err)
	}
	return js
}

// deadLetter writes what the consumer runner writes for an original message
// of stream seq on subject, given up on by service.
func deadLetter(t *testing.T, js jetstream.JetStream, service, subject, msgID string, seq uint64) uint64 {
	t.Helper()
	m := nats.NewMsg("dlq." + service + "." + subject)
	m.Data = []byte(`{"id":"` + msgID + `"}`)
	m.Header.Set("Trace", "abc")
	m.Header.Set(jetstream.MsgIDHeader, "dlq."+service+"."+strconv.FormatUint(seq, 10))
	m.Header.Set(deadletter.HeaderMsgID, msgID)
	m.Header.Set(deadletter.HeaderStream, streams.Name("payment"))
	m.Header.Set(deadletter.HeaderSequence, strconv.FormatUint(seq, 10))
	m.Header.Set(deadletter.HeaderSubject, subject)
	m.Header.Set(deadletter.HeaderDeliveries, "5")
	m.Header.Set(deadletter.HeaderError, "boom")
	ack, err := js.PublishMsg(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}

func scan(t *testing.T, js jetstream.JetStream, service string) []deadletter.Letter {
	t.Helper()
	var out []deadletter.Letter
	if err := deadletter.Scan(t.Context(), js, service, func(l deadletter.Letter) error {
		out = append(out, l)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestScanFiltersAndDecodes(t *testing.T) {
	t.Parallel()
	js := setup(t)
	deadLetter(t, js, "order", "payment.events.PaymentCompleted.A", "id-a", 7)
	deadLetter(t, js, "inventory", "payment.events.PaymentCompleted.B", "id-b", 8)
	third := deadLetter(t, js, "order", "payment.events.PaymentFailed.C", "id-c", 9)
	if err := deadletter.Delete(t.Context(), js, 1); err != nil {
		t.Fatal(err)
	}

	all := scan(t, js, "")
	if len(all) != 2 {
		t.Fatalf("scan all = %d letters, want 2", len(all))
	}
	got := scan(t, js, "order")
	if len(got) != 1 {
		t.Fatalf("scan order = %+v, want one letter", got)
	}
	l := got[0]
	if l.Seq != third || l.Service != "order" || l.Stream != streams.Name("payment") || l.StreamSeq != 9 ||
		l.OriginalSubject != "payment.events.PaymentFailed.C" || l.Deliveries != 5 || l.Error != "boom" ||
		l.MsgID != "id-c" || l.Time.IsZero() {
		t.Fatalf("letter = %+v", l)
	}
}

func TestScanStopsAtTheLastLetterWhenItBegan(t *testing.T) {
	t.Parallel()
	js := setup(t)
	deadLetter(t, js, "order", "payment.events.PaymentCompleted.A", "id-a", 1)
	n := 0
	err := deadletter.Scan(t.Context(), js, "", func(l deadletter.Letter) error {
		n++
		deadLetter(t, js, "order", "payment.events.PaymentCompleted.A", "id-a", 1+uint64(n))
		return nil
	})
	if err != nil || n != 1 {
		t.Fatalf("scan visited %d letters (%v), want 1", n, err)
	}
}

func TestRedrive(t *testing.T) {
	t.Parallel()
	js := setup(t)
	ctx := t.Context()
	subject := "payment.events.PaymentCompleted.A"
	seq := deadLetter(t, js, "order", subject, "id-a", 3)
	l, err := deadletter.Get(ctx, js, seq)
	if err != nil {
		t.Fatal(err)
	}

	ack, err := deadletter.Redrive(ctx, js, l)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Stream != streams.Name("payment") || ack.Duplicate {
		t.Fatalf("ack = %+v", ack)
	}
	if _, err := deadletter.Get(ctx, js, seq); !errors.Is(err, deadletter.ErrNotFound) {
		t.Fatalf("get after redrive: %v, want ErrNotFound", err)
	}
	st, err := js.Stream(ctx, streams.Name("payment"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.GetMsg(ctx, ack.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		jetstream.MsgIDHeader:         "redrive." + strconv.FormatUint(seq, 10) + ".id-a",
		deadletter.HeaderRedrivenFrom: strconv.FormatUint(seq, 10),
		"Trace":                       "abc",
		// Set by the redrive's own publish expectation.
		"Nats-Expected-Stream": streams.Name("payment"),
	}
	for k, v := range want {
		if got := m.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	for k := range m.Header {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected header %s: %q", k, m.Header[k])
		}
	}
	if m.Subject != subject || string(m.Data) != string(l.Data) {
		t.Errorf("redriven %s %s, want %s %s", m.Subject, m.Data, subject, l.Data)
	}

	// A redrive that crashed before its delete and is run again publishes
	// the same id: JetStream drops it, and the delete happens this time.
	seq2 := deadLetter(t, js, "inventory", subject, "id-a", 3)
	l2, err := deadletter.Get(ctx, js, seq2)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := deadletter.RedriveMsg(l2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.PublishMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}
	ack, err = deadletter.Redrive(ctx, js, l2)
	if err != nil || !ack.Duplicate {
		t.Fatalf("second redrive: ack %+v, err %v; want a duplicate", ack, err)
	}
	if got := scan(t, js, ""); len(got) != 0 {
		t.Fatalf("letters left: %+v", got)
	}
}

func TestRedriveMalformed(t *testing.T) {
	t.Parallel()
	js := setup(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	ack, err := js.Publish(ctx, "dlq.order.whatever", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := deadletter.Get(ctx, js, ack.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := deadletter.Redrive(ctx, js, l); !errors.Is(err, deadletter.ErrMalformed) {
		t.Fatalf("redrive = %v, want ErrMalformed", err)
	}
	if err := deadletter.Delete(ctx, js, ack.Sequence+10); !errors.Is(err, deadletter.ErrNotFound) {
		t.Fatalf("delete missing = %v, want ErrNotFound", err)
	}
}

// TestRedriveMsgIDWithoutOriginalID: a letter whose original had no
// Nats-Msg-Id is redriven as redrive.<seq>, not "redrive.<seq>.".
func TestRedriveMsgIDWithoutOriginalID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		l    deadletter.Letter
		want string
	}{
		{deadletter.Letter{Seq: 4, MsgID: "id-a"}, "redrive.4.id-a"},
		{deadletter.Letter{Seq: 4}, "redrive.4"},
	} {
		if got := tc.l.RedriveMsgID(); got != tc.want {
			t.Errorf("RedriveMsgID of %+v = %q, want %q", tc.l, got, tc.want)
		}
	}
}
