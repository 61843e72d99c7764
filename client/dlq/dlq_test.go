package dlq_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/client/dlq"
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

// letter writes a dead letter of service for an original on subject with
// the given Choreo-Dlq-Msg-Id (none if msgID is nil), and returns its
// sequence.
func letter(t *testing.T, js jetstream.JetStream, service, subject string, msgID *string, body string) uint64 {
	t.Helper()
	m := nats.NewMsg(streams.DeadLetterSubject(service, subject))
	m.Data = []byte(body)
	if msgID != nil {
		m.Header[deadletter.HeaderMsgID] = []string{*msgID}
	}
	m.Header.Set(deadletter.HeaderStream, streams.Name("payment"))
	m.Header.Set(deadletter.HeaderSequence, "1")
	m.Header.Set(deadletter.HeaderSubject, subject)
	m.Header.Set(deadletter.HeaderError, "boom")
	ack, err := js.PublishMsg(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}

func seqs(ls []deadletter.Letter) []uint64 {
	var out []uint64
	for _, l := range ls {
		out = append(out, l.Seq)
	}
	return out
}

// List returns the newest letters of a service, oldest first, however far
// back they are, and all of them without a limit.
func TestListNewestFirstBounded(t *testing.T) {
	t.Parallel()
	js := setup(t)
	id := "e"
	var order []uint64
	for i := range 30 {
		svc := "payment"
		if i%10 == 0 {
			svc = "order" // sparse: 3 of 30
		}
		seq := letter(t, js, svc, "payment.events.PaymentCompleted.o"+strconv.Itoa(i), &id, "{}")
		if svc == "order" {
			order = append(order, seq)
		}
	}
	for _, tc := range []struct {
		service string
		limit   int
		want    []uint64
	}{
		{"", 5, []uint64{26, 27, 28, 29, 30}},
		{"order", 2, order[1:]},
		{"order", 10, order},
		{"order", 0, order},
		{"shipping", 3, nil},
	} {
		got, err := dlq.List(t.Context(), js, tc.service, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(seqs(got)) != fmt.Sprint(tc.want) {
			t.Errorf("List(%q, %d) = %v, want %v", tc.service, tc.limit, seqs(got), tc.want)
		}
	}
	all, err := dlq.List(t.Context(), js, "", 0)
	if err != nil || len(all) != 30 {
		t.Fatalf("List all = %d letters, %v", len(all), err)
	}
	counts, err := deadletter.Counts(t.Context(), js)
	if err != nil || counts["order"] != 3 || counts["payment"] != 27 || len(counts) != 2 {
		t.Errorf("Counts = %v, %v", counts, err)
	}
}

// A letter written before the consumer left an empty Choreo-Dlq-Msg-Id out
// reads without it; other empty headers read as (none).
func TestHeadersLeaveOutAnEmptyMsgID(t *testing.T) {
	t.Parallel()
	js := setup(t)
	empty := ""
	seq := letter(t, js, "order", "payment.events.PaymentCompleted.a", &empty, "not json")
	l, err := deadletter.Get(t.Context(), js, seq)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := l.Header[deadletter.HeaderMsgID]; !ok {
		t.Fatal("the stored letter lost its empty header: the test shows nothing")
	}
	l.Header.Set("X-Empty", "")
	var lines []string
	for _, h := range dlq.Headers(l) {
		lines = append(lines, h.Name+": "+h.Value)
	}
	got := strings.Join(lines, "\n")
	if strings.Contains(got, deadletter.HeaderMsgID) || !strings.Contains(got, "X-Empty: (none)") ||
		!strings.Contains(got, deadletter.HeaderError+": boom") {
		t.Errorf("headers:\n%s", got)
	}
	if _, ok := dlq.View(l).Headers[deadletter.HeaderMsgID]; ok {
		t.Errorf("View keeps the empty %s", deadletter.HeaderMsgID)
	}
	if v := dlq.View(l); v.Data != "not json" {
		t.Errorf("View's data = %#v, want the body as a string", v.Data)
	}
}

func TestBody(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in    string
		limit int
		want  string
		cut   bool
	}{
		{`{"a":1}`, 0, "{\n  \"a\": 1\n}", false},
		{"plain", 0, "plain", false},
		{"plain", 3, "pla", true},
		{"aé", 2, "a", true}, // é is two bytes: not split
		{"aé", 3, "aé", false},
	} {
		got, cut := dlq.Body([]byte(tc.in), tc.limit)
		if got != tc.want || cut != tc.cut {
			t.Errorf("Body(%q, %d) = %q, %v; want %q, %v", tc.in, tc.limit, got, cut, tc.want, tc.cut)
		}
	}
}

// Each with All goes through every letter of the service, reports each one
// that fails and goes on; for one letter it says when there is none.
func TestEach(t *testing.T) {
	t.Parallel()
	js := setup(t)
	id := "e"
	for i := range 4 {
		letter(t, js, "order", "payment.events.PaymentCompleted.o"+strconv.Itoa(i), &id, "{}")
	}
	letter(t, js, "payment", "payment.events.PaymentCompleted.x", &id, "{}")
	var visited []uint64
	var reported []error
	err := dlq.Each(t.Context(), js, dlq.Selection{All: true, Service: "order"}, time.Second,
		func(_ context.Context, l deadletter.Letter) error {
			visited = append(visited, l.Seq)
			if l.Seq%2 == 0 {
				return fmt.Errorf("letter %d: no", l.Seq)
			}
			return nil
		}, func(err error) { reported = append(reported, err) })
	if !errors.Is(err, dlq.ErrSomeFailed) || err.Error() != "2 dead letter(s) failed" {
		t.Errorf("Each = %v", err)
	}
	if fmt.Sprint(visited) != "[1 2 3 4]" || len(reported) != 2 {
		t.Errorf("visited %v, reported %v", visited, reported)
	}
	err = dlq.Each(t.Context(), js, dlq.Selection{Seq: 99}, time.Second,
		func(context.Context, deadletter.Letter) error { return nil }, nil)
	if !errors.Is(err, deadletter.ErrNotFound) {
		t.Errorf("Each of a missing letter = %v, want ErrNotFound", err)
	}
}

// Redrive says in one line what it did; an original without an id gives
// an id without a trailing dot.
func TestRedriveLine(t *testing.T) {
	t.Parallel()
	js := setup(t)
	seq := letter(t, js, "order", "payment.events.PaymentCompleted.a", nil, "{}")
	l, err := deadletter.Get(t.Context(), js, seq)
	if err != nil {
		t.Fatal(err)
	}
	r, err := dlq.Redrive(t.Context(), js, l)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("redriven %d: payment.events.PaymentCompleted.a -> PAYMENT_EVENTS/1 (Nats-Msg-Id redrive.%d)", seq, seq)
	if r.String() != want {
		t.Errorf("line = %q, want %q", r, want)
	}
}
