package deadletter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Scan calls fn with each of service's letters (every letter if service is
// empty), in DLQ order, up to the last letter present when Scan began. It
// stops at the first error fn returns and returns it.
func Scan(ctx context.Context, js jetstream.JetStream, service string, fn func(Letter) error) error {
	return ScanFrom(ctx, js, service, 1, fn)
}

// ScanFrom is Scan of the letters at DLQ sequence from and after: a reader
// of the newest letters need not read the oldest.
func ScanFrom(ctx context.Context, js jetstream.JetStream, service string, from uint64, fn func(Letter) error) error {
	st, err := js.Stream(ctx, streams.DLQ)
	if err != nil {
		return fmt.Errorf("scan dead letters: %w", err)
	}
	last := st.CachedInfo().State.LastSeq
	filter := Filter(service)
	for seq := max(from, 1); seq <= last; {
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
		if err := fn(Parse(m)); err != nil {
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
	return Parse(m), nil
}

// RedriveMsg is the message Redrive publishes for l (see the package
// documentation), or ErrMalformed if l does not say where it came from.
func RedriveMsg(l Letter) (*nats.Msg, error) {
	if l.Stream == "" || l.OriginalSubject == "" {
		return nil, fmt.Errorf("dead letter %d: %w: %s and %s are required",
			l.Seq, ErrMalformed, HeaderStream, HeaderSubject)
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
		publishDirective(k)
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

// Counts returns how many letters wait in the DLQ stream, by the service
// that gave up on them (the second token of dlq.<service>.<subject>).
func Counts(ctx context.Context, js jetstream.JetStream) (map[string]uint64, error) {
	return counts(ctx, js, Filter(""))
}

// Count returns how many of service's letters wait in the DLQ stream.
func Count(ctx context.Context, js jetstream.JetStream, service string) (uint64, error) {
	c, err := counts(ctx, js, Filter(service))
	return c[service], err
}

// counts asks the stream for its subjects matching filter and their
// message counts: one request, no message read.
func counts(ctx context.Context, js jetstream.JetStream, filter string) (map[string]uint64, error) {
	st, err := js.Stream(ctx, streams.DLQ)
	if err != nil {
		return nil, fmt.Errorf("count dead letters: %w", err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return nil, fmt.Errorf("count dead letters: %w", err)
	}
	out := map[string]uint64{}
	for subject, n := range info.State.Subjects {
		if tokens := strings.SplitN(subject, ".", 3); len(tokens) == 3 {
			out[tokens[1]] += n
		}
	}
	return out, nil
}
