package deadletter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/choreo-dev/choreo/shared/consumer"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// HeaderRedrivenFrom is set on a redriven message to the DLQ sequence of the
// letter it came from.
const HeaderRedrivenFrom = "Choreo-Redriven-From"

// Letter is one message of the DLQ stream.
type Letter struct {
	// Seq is the letter's sequence in the DLQ stream: its handle for Get,
	// Redrive and Delete.
	Seq uint64
	// Subject is dlq.<service>.<original subject>.
	Subject string
	// Service is the consumer that gave up on the message.
	Service string
	// Stream and StreamSeq locate the original message.
	Stream    string
	StreamSeq uint64
	// OriginalSubject is the subject the message was published on.
	OriginalSubject string
	// Deliveries is how many times the consumer received it.
	Deliveries uint64
	// Error is the last handler error's first line.
	Error string
	// MsgID is the original Nats-Msg-Id, the envelope id; empty if the
	// original was published without one.
	MsgID string
	// Time is when the letter was written to the DLQ stream.
	Time time.Time
	// Header and Data are the DLQ message's headers and body. The body is the
	// original message's.
	Header nats.Header
	Data   []byte
}

// RedriveMsgID is the Nats-Msg-Id a redrive of l publishes with:
// redrive.<seq>.<original id>, or redrive.<seq> if the original had none.
func (l Letter) RedriveMsgID() string {
	id := "redrive." + strconv.FormatUint(l.Seq, 10)
	if l.MsgID != "" {
		id += "." + l.MsgID
	}
	return id
}

// Filter is the DLQ subject filter for service's letters, all letters if
// service is empty.
func Filter(service string) string {
	if service == "" {
		return "dlq.>"
	}
	return "dlq." + service + ".>"
}

func fromRaw(m *jetstream.RawStreamMsg) Letter {
	h := m.Header
	if h == nil {
		h = nats.Header{}
	}
	l := Letter{
		Seq: m.Sequence, Subject: m.Subject, Time: m.Time, Header: h, Data: m.Data,
		Stream:          h.Get(consumer.HeaderDLQStream),
		OriginalSubject: h.Get(consumer.HeaderDLQSubject),
		Error:           h.Get(consumer.HeaderDLQError),
		MsgID:           h.Get(consumer.HeaderDLQMsgID),
	}
	if tokens := strings.SplitN(m.Subject, ".", 3); len(tokens) == 3 {
		l.Service = tokens[1]
	}
	l.StreamSeq, _ = strconv.ParseUint(h.Get(consumer.HeaderDLQSequence), 10, 64)
	l.Deliveries, _ = strconv.ParseUint(h.Get(consumer.HeaderDLQDeliveries), 10, 64)
	return l
}

// Scan calls fn with each of service's letters (every letter if service is
// empty), in DLQ order, up to the last letter present when Scan began. It
// stops at the first error fn returns and returns it.
func Scan(ctx context.Context, js jetstream.JetStream, service string, fn func(Letter) error) error {
	st, err := js.Stream(ctx, streams.DLQ)
	if err != nil {
		return fmt.Errorf("scan dead letters: %w", err)
	}
	last := st.CachedInfo().State.LastSeq
	filter := Filter(service)
	for seq := uint64(1); seq <= last; {
		m, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("scan dead letters at %d: %w", seq, err)
		}
		if m.Sequence > last {
			return nil
		}
		if err := fn(fromRaw(m)); err != nil {
			return err
		}
		seq = m.Sequence + 1
	}
	return nil
}

// Get returns the letter at DLQ sequence seq, or ErrNotFound.
func Get(ctx context.Context, js jetstream.JetStream, seq uint64) (Letter, error) {
	st, err := js.Stream(ctx, streams.DLQ)
	if err != nil {
		return Letter{}, fmt.Errorf("get dead letter %d: %w", seq, err)
	}
	m, err := st.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return Letter{}, fmt.Errorf("get dead letter %d: %w", seq, ErrNotFound)
	}
	if err != nil {
		return Letter{}, fmt.Errorf("get dead letter %d: %w", seq, err)
	}
	return fromRaw(m), nil
}

// RedriveMsg is the message Redrive publishes for l (see the package
// documentation), or ErrMalformed if l does not say where it came from.
func RedriveMsg(l Letter) (*nats.Msg, error) {
	if l.Stream == "" || l.OriginalSubject == "" {
		return nil, fmt.Errorf("dead letter %d: %w: %s and %s are required",
			l.Seq, ErrMalformed, consumer.HeaderDLQStream, consumer.HeaderDLQSubject)
	}
	out := nats.NewMsg(l.OriginalSubject)
	out.Data = l.Data
	for k, vs := range l.Header {
		if dropped(k) {
			continue
		}
		out.Header[k] = append([]string(nil), vs...)
	}
	out.Header.Set(jetstream.MsgIDHeader, l.RedriveMsgID())
	out.Header.Set(HeaderRedrivenFrom, strconv.FormatUint(l.Seq, 10))
	return out, nil
}

// dropped reports whether a redrive leaves header k out: the dead-letter
// headers, a previous redrive's mark (replaced), and every Nats-* header —
// those told JetStream how to store an earlier publish (the id, which is
// replaced, expectations, atomic batch headers) and must not apply to this one.
func dropped(k string) bool {
	lk := strings.ToLower(k)
	return lk == strings.ToLower(HeaderRedrivenFrom) ||
		strings.HasPrefix(lk, "choreo-dlq-") ||
		consumer.IsPublishDirective(k)
}

// Redrive republishes l on its original subject, waits for JetStream's
// acknowledgement, then deletes l from the DLQ stream (see the package
// documentation). It returns the acknowledgement: Duplicate is true when the
// same letter had already been republished by a redrive that did not get to
// delete it.
func Redrive(ctx context.Context, js jetstream.JetStream, l Letter) (*jetstream.PubAck, error) {
	msg, err := RedriveMsg(l)
	if err != nil {
		return nil, err
	}
	ack, err := js.PublishMsg(ctx, msg, jetstream.WithExpectStream(l.Stream))
	if err != nil {
		return nil, fmt.Errorf("redrive dead letter %d to %s: %w", l.Seq, l.OriginalSubject, err)
	}
	if err := Delete(ctx, js, l.Seq); err != nil && !errors.Is(err, ErrNotFound) {
		// Republished but still here: a second redrive is deduplicated.
		return ack, fmt.Errorf("redrive dead letter %d: %w", l.Seq, err)
	}
	return ack, nil
}

// Delete removes the letter at DLQ sequence seq, or returns ErrNotFound if
// there is none.
func Delete(ctx context.Context, js jetstream.JetStream, seq uint64) error {
	st, err := js.Stream(ctx, streams.DLQ)
	if err != nil {
		return fmt.Errorf("delete dead letter %d: %w", seq, err)
	}
	if err := st.DeleteMsg(ctx, seq); err != nil {
		// The server reports a missing message as a failed delete; tell the
		// two apart by looking.
		if _, gerr := st.GetMsg(ctx, seq); errors.Is(gerr, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("delete dead letter %d: %w", seq, ErrNotFound)
		}
		return fmt.Errorf("delete dead letter %d: %w", seq, err)
	}
	return nil
}
