package deadletter

import (
	"fmt"
	"github.com/choreo-dev/choreo/shared/streams"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The dead-letter headers, from the contract (section 5).
const (
	// HeaderStream is the original message's stream.
	HeaderStream = "Choreo-Dlq-Stream"
	// HeaderSequence is its sequence in that stream.
	HeaderSequence = "Choreo-Dlq-Sequence"
	// HeaderSubject is the subject it was published on.
	HeaderSubject = "Choreo-Dlq-Subject"
	// HeaderDeliveries is how many times the consumer received it.
	HeaderDeliveries = "Choreo-Dlq-Deliveries"
	// HeaderError is the first line of the last failure.
	HeaderError = "Choreo-Dlq-Error"
	// HeaderMsgID keeps the original Nats-Msg-Id, when it had one: the dead
	// letter gets an id of its own, so two services dead-lettering one event
	// both keep theirs.
	HeaderMsgID = "Choreo-Dlq-Msg-Id"
	// HeaderTruncated is set, to the original body's size in bytes, on a
	// dead letter whose body was cut to MaxBody; the original is in its
	// stream at HeaderSequence.
	HeaderTruncated = "Choreo-Dlq-Truncated"
	// HeaderRedrivenFrom is set on a redriven message to the DLQ sequence of
	// the letter it came from.
	HeaderRedrivenFrom = "Choreo-Redriven-From"
)

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
	// original had none.
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

// New returns the dead letter of msg, which service's consumer gave up on
// for cause: the original body and headers (less the Nats-* ones, see
// publishDirective), the Choreo-Dlq-* headers from meta, and a Nats-Msg-Id
// of its own, dlq.<service>.<stream>.<stream seq>, so a dead letter
// written twice (a crash before the original was terminated) is stored
// once.
func New(service string, msg jetstream.Msg, meta *jetstream.MsgMetadata, cause error) *nats.Msg {
	// The subject it was published on: a partitioned stream stores it with
	// its partition appended, which is no part of the contract's subjects.
	subject := streams.Published(msg.Subject())
	out := nats.NewMsg(streams.DeadLetterSubject(service, subject))
	out.Data = msg.Data()
	if len(out.Data) > MaxBody {
		// Too large to copy whole (with the headers it may not even fit the
		// server's max payload): keep the head and point to the original,
		// which stays in its stream at Choreo-Dlq-Sequence.
		out.Data = out.Data[:MaxBody]
		out.Header.Set(HeaderTruncated, strconv.Itoa(len(msg.Data())))
	}
	for k, vs := range msg.Headers() {
		if publishDirective(k) {
			continue
		}
		for _, v := range vs {
			out.Header.Add(k, v)
		}
	}
	if id := msg.Headers().Get(jetstream.MsgIDHeader); id != "" {
		out.Header.Set(HeaderMsgID, id)
	}
	out.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("dlq.%s.%s.%d", service, meta.Stream, meta.Sequence.Stream))
	out.Header.Set(HeaderStream, meta.Stream)
	out.Header.Set(HeaderSequence, strconv.FormatUint(meta.Sequence.Stream, 10))
	out.Header.Set(HeaderSubject, subject)
	out.Header.Set(HeaderDeliveries, strconv.FormatUint(meta.NumDelivered, 10))
	out.Header.Set(HeaderError, Reason(cause))
	return out
}

// Reason is what a dead letter says of cause: its message's first line
// (stacks stay in the log, not in a header).
func Reason(cause error) string {
	reason := cause.Error()
	if i := strings.IndexByte(reason, '\n'); i >= 0 {
		reason = reason[:i]
	}
	if len(reason) > maxReason {
		reason = reason[:maxReason] + "…"
	}
	return reason
}

// MaxBody bounds a dead letter's body: 256 KiB, the limit of an event
// (eventstore.MaxEventSize). A larger message — a forgery, most likely — is
// dead-lettered with its first MaxBody bytes and HeaderTruncated, so the copy
// always fits the server's max payload.
const MaxBody = 256 << 10

// maxReason bounds the Choreo-Dlq-Error header.
const maxReason = 1024

// Parse decodes a message of the DLQ stream.
func Parse(m *jetstream.RawStreamMsg) Letter {
	h := m.Header
	if h == nil {
		h = nats.Header{}
	}
	l := Letter{
		Seq: m.Sequence, Subject: m.Subject, Time: m.Time, Header: h, Data: m.Data,
		Stream:          h.Get(HeaderStream),
		OriginalSubject: h.Get(HeaderSubject),
		Error:           h.Get(HeaderError),
		MsgID:           h.Get(HeaderMsgID),
	}
	if tokens := strings.SplitN(m.Subject, ".", 3); len(tokens) == 3 {
		l.Service = tokens[1]
	}
	l.StreamSeq, _ = strconv.ParseUint(h.Get(HeaderSequence), 10, 64)
	l.Deliveries, _ = strconv.ParseUint(h.Get(HeaderDeliveries), 10, 64)
	return l
}

// publishDirective reports whether header k told JetStream how to store the
// original publish (Nats-Msg-Id, Nats-Expected-*, Nats-Batch-*, Nats-TTL, …)
// rather than describing the event. Such headers stay on the stored message;
// copied onto a dead letter they would apply to the DLQ publish — a
// Nats-Batch-Id makes it a fragment of a batch that never commits — so they
// are left off (and a redrive leaves them off too). The original Nats-Msg-Id
// is kept as Choreo-Dlq-Msg-Id.
func publishDirective(k string) bool {
	return len(k) >= 5 && strings.EqualFold(k[:5], "nats-")
}
