package dlq

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/choreo-dev/choreo/shared/deadletter"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Letter is a dead letter as an operator reads it: what `choreo dlq ls -o
// json` and `show -o json` print, and what the console shows.
type Letter struct {
	Seq             uint64      `json:"seq"`
	Subject         string      `json:"subject"`
	Service         string      `json:"service"`
	Stream          string      `json:"stream"`
	StreamSeq       uint64      `json:"stream_seq"`
	OriginalSubject string      `json:"original_subject"`
	Deliveries      uint64      `json:"deliveries"`
	Error           string      `json:"error"`
	MsgID           string      `json:"msg_id"`
	Time            time.Time   `json:"time"`
	Headers         nats.Header `json:"headers"`
	Data            any         `json:"data"` // the body, as JSON if it is, else as a string
}

// View is l as an operator reads it, body and all. An empty
// Choreo-Dlq-Msg-Id (letters written before the consumer left it out for
// an original without an id) is left out.
func View(l deadletter.Letter) Letter {
	var data any = json.RawMessage(l.Data)
	if !json.Valid(l.Data) {
		data = string(l.Data)
	}
	h := nats.Header{}
	for k, vs := range l.Header {
		h[k] = slices.Clone(vs)
	}
	if h.Get(deadletter.HeaderMsgID) == "" {
		h.Del(deadletter.HeaderMsgID)
	}
	return Letter{l.Seq, l.Subject, l.Service, l.Stream, l.StreamSeq, l.OriginalSubject, l.Deliveries, l.Error, l.MsgID, l.Time, h, data}
}

// Header is one header line of a letter.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Headers are l's headers as an operator reads them: sorted by name, a line
// per value, an empty value shown as "(none)" — but for an empty
// Choreo-Dlq-Msg-Id, which means the original had no id and is left out.
func Headers(l deadletter.Letter) []Header {
	keys := make([]string, 0, len(l.Header))
	for k := range l.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []Header
	for _, k := range keys {
		for _, v := range l.Header[k] {
			switch {
			case v == "" && strings.EqualFold(k, deadletter.HeaderMsgID):
				continue
			case v == "":
				v = "(none)"
			}
			out = append(out, Header{k, v})
		}
	}
	return out
}

// Body is a letter's body for reading: indented if it is JSON, as it is
// otherwise, cut to at most limit bytes (at a character boundary) if limit
// is positive; cut reports whether it was.
func Body(data []byte, limit int) (text string, cut bool) {
	var b bytes.Buffer
	if json.Indent(&b, data, "", "  ") != nil {
		b.Reset()
		b.Write(data)
	}
	out := b.Bytes()
	if limit > 0 && len(out) > limit {
		out, cut = out[:limit], true
		for len(out) > 0 && !utf8.Valid(out[max(0, len(out)-utf8.UTFMax):]) {
			out = out[:len(out)-1] // a character split at the cut
		}
	}
	return string(out), cut
}

// ValidService reports whether s may name a service whose letters to
// select: a subject token (or empty, every service).
func ValidService(s string) bool { return !strings.ContainsAny(s, ".*> \t") }

// List returns service's letters (every service's if service is empty),
// oldest first: the newest limit of them, or all if limit is not positive.
// It reads only as far back as it must.
func List(ctx context.Context, js jetstream.JetStream, service string, limit int) ([]deadletter.Letter, error) {
	collect := func(from uint64) ([]deadletter.Letter, error) {
		var out []deadletter.Letter
		err := deadletter.ScanFrom(ctx, js, service, from, func(l deadletter.Letter) error {
			out = append(out, l)
			return nil
		})
		return out, err
	}
	if limit <= 0 {
		return collect(1)
	}
	st, err := js.Stream(ctx, streams.DLQ)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	state := st.CachedInfo().State
	// Look back over a window of sequences that widens until it holds
	// limit letters of service or reaches the first.
	for window := uint64(limit); ; window *= 4 {
		from := state.FirstSeq
		if state.LastSeq >= window && state.LastSeq-window+1 > from {
			from = state.LastSeq - window + 1
		}
		out, err := collect(from)
		if err != nil || len(out) >= limit || from <= state.FirstSeq {
			return out[max(0, len(out)-limit):], err
		}
	}
}

// Selection is the letters an action applies to: the one at Seq, or with
// All every letter of Service (every service's if empty).
type Selection struct {
	Seq     uint64
	All     bool
	Service string
}

// Each calls fn with each selected letter, each call under its own timeout.
// With All it goes through the letters present when it began (a letter
// that fails again comes back under a new sequence, so a redrive of all
// ends); a failing letter is passed to report and the others still get
// their turn, and Each returns ErrSomeFailed. For one letter it returns
// fn's error, or deadletter.ErrNotFound if there is none at Seq.
func Each(ctx context.Context, js jetstream.JetStream, sel Selection, timeout time.Duration, fn func(context.Context, deadletter.Letter) error, report func(error)) error {
	if !sel.All {
		octx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		l, err := deadletter.Get(octx, js, sel.Seq)
		if err != nil {
			return Explain(err)
		}
		return Explain(fn(octx, l))
	}
	failed := 0
	err := deadletter.Scan(ctx, js, sel.Service, func(l deadletter.Letter) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		octx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := fn(octx, l); err != nil {
			report(err)
			failed++
		}
		return nil
	})
	if err != nil {
		return Explain(err)
	}
	if failed > 0 {
		return fmt.Errorf("%d %w", failed, ErrSomeFailed)
	}
	return nil
}

// Redriven is a letter republished by Redrive: `choreo dlq redrive -o
// json` prints a list of them.
type Redriven struct {
	Seq       uint64 `json:"seq"`
	Subject   string `json:"subject"`
	MsgID     string `json:"msg_id"`
	Stream    string `json:"stream"`
	StreamSeq uint64 `json:"stream_seq"`
	Duplicate bool   `json:"duplicate"`
}

// String says what happened, in one line.
func (r Redriven) String() string {
	dup := ""
	if r.Duplicate {
		dup = ", already republished: the duplicate was dropped"
	}
	return fmt.Sprintf("redriven %d: %s -> %s/%d (Nats-Msg-Id %s%s)", r.Seq, r.Subject, r.Stream, r.StreamSeq, r.MsgID, dup)
}

// Redrive republishes l on its original subject and deletes it from the
// DLQ stream (deadletter.Redrive).
func Redrive(ctx context.Context, js jetstream.JetStream, l deadletter.Letter) (Redriven, error) {
	ack, err := deadletter.Redrive(ctx, js, l)
	if err != nil {
		return Redriven{}, err
	}
	return Redriven{l.Seq, l.OriginalSubject, l.RedriveMsgID(), ack.Stream, ack.Sequence, ack.Duplicate}, nil
}

// Purge deletes l from the DLQ stream without redriving it.
func Purge(ctx context.Context, js jetstream.JetStream, l deadletter.Letter) error {
	return deadletter.Delete(ctx, js, l.Seq)
}
