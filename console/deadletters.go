package console

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/choreo-dev/choreo/client/dlq"
	"github.com/choreo-dev/choreo/shared/deadletter"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	defaultLetterLimit = 100
	maxLetterLimit     = 500
	// maxBodyPreview bounds the body a letter's page shows.
	maxBodyPreview = 64 << 10
	// maxHeaderValue bounds each header value it shows.
	maxHeaderValue = 2 << 10
)

// LetterRow is one dead letter of the list.
type LetterRow struct {
	Seq             uint64    `json:"seq"`
	Service         string    `json:"service"`
	Subject         string    `json:"subject"`
	OriginalSubject string    `json:"original_subject"`
	Stream          string    `json:"stream"`
	StreamSeq       uint64    `json:"stream_seq"`
	Deliveries      uint64    `json:"deliveries"`
	Error           string    `json:"error"`
	MsgID           string    `json:"msg_id"`
	Time            time.Time `json:"time"`
	// OrderID is the original subject's last token: the order of a saga
	// event.
	OrderID string `json:"order_id"`
}

func letterRow(l deadletter.Letter) LetterRow {
	r := LetterRow{Seq: l.Seq, Service: l.Service, Subject: l.Subject, OriginalSubject: l.OriginalSubject, Stream: l.Stream,
		StreamSeq: l.StreamSeq, Deliveries: l.Deliveries, Error: l.Error, MsgID: l.MsgID, Time: l.Time}
	if _, _, id, ok := streams.ParseSubject(l.OriginalSubject); ok {
		r.OrderID = id
	}
	return r
}

// LetterList is the dead letters page's list, newest first.
type LetterList struct {
	Service   string            `json:"service"`
	Limit     int               `json:"limit"`
	Letters   []LetterRow       `json:"letters"`
	Total     uint64            `json:"total"`
	ByService map[string]uint64 `json:"by_service"`
	Error     string            `json:"error,omitempty"`
}

// parseLetterQuery reads the list's query: service and limit.
func parseLetterQuery(get func(string) string) (service string, limit int, err error) {
	service, limit = strings.TrimSpace(get("service")), defaultLetterLimit
	var errs []string
	if service != "" && !validID(service) {
		errs = append(errs, "service must be a service name")
	}
	if v := get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLetterLimit {
			errs = append(errs, fmt.Sprintf("limit must be from 1 to %d", maxLetterLimit))
		}
		limit = n
	}
	if len(errs) > 0 {
		return service, limit, fmt.Errorf("%w: %s", ErrBadRequest, strings.Join(errs, "; "))
	}
	return service, limit, nil
}

// listLetters reads the newest limit letters of service (every service's
// if empty), and how many there are.
func listLetters(ctx context.Context, js jetstream.JetStream, service string, limit int) LetterList {
	out := LetterList{Service: service, Limit: limit, Letters: []LetterRow{}, ByService: map[string]uint64{}}
	counts, err := deadletter.Counts(ctx, js)
	if err != nil {
		out.Error = dlqUnavailable(err)
		return out
	}
	for svc, n := range counts {
		out.ByService[svc] = n
		if service == "" || svc == service {
			out.Total += n
		}
	}
	ls, err := dlq.List(ctx, js, service, limit)
	if err != nil {
		out.Error = dlqUnavailable(err)
	}
	slices.Reverse(ls)
	for _, l := range ls {
		out.Letters = append(out.Letters, letterRow(l))
	}
	return out
}

// LetterDetail is one letter: its headers and (the head of) its body.
type LetterDetail struct {
	LetterRow
	Headers []dlq.Header `json:"headers"`
	Body    string       `json:"body"`
	// BodyCut: the body shown is the first maxBodyPreview bytes of more.
	BodyCut   bool `json:"body_cut"`
	BodyBytes int  `json:"body_bytes"`
	// RedriveMsgID is the Nats-Msg-Id a redrive publishes it under.
	RedriveMsgID string `json:"redrive_msg_id"`
}

func letterDetail(l deadletter.Letter) LetterDetail {
	d := LetterDetail{LetterRow: letterRow(l), Headers: dlq.Headers(l), BodyBytes: len(l.Data), RedriveMsgID: l.RedriveMsgID()}
	for i, h := range d.Headers {
		if len(h.Value) > maxHeaderValue {
			d.Headers[i].Value, _ = dlq.Body([]byte(h.Value), maxHeaderValue)
			d.Headers[i].Value += "…"
		}
	}
	d.Body, d.BodyCut = dlq.Body(l.Data, maxBodyPreview)
	return d
}

// dlqUnavailable says why the DLQ could not be read.
func dlqUnavailable(err error) string {
	return "dead letters unavailable: " + dlq.Explain(err).Error()
}

// ActionResult is what a redrive or a purge answers.
type ActionResult struct {
	Seq      uint64        `json:"seq"`
	Message  string        `json:"message"`
	Redriven *dlq.Redriven `json:"redriven,omitempty"`
}

// act redrives or purges the letter at seq, as choreo dlq does.
func act(ctx context.Context, js jetstream.JetStream, seq uint64, redrive bool, timeout time.Duration) (ActionResult, error) {
	res := ActionResult{Seq: seq}
	err := dlq.Each(ctx, js, dlq.Selection{Seq: seq}, timeout, func(ctx context.Context, l deadletter.Letter) error {
		if !redrive {
			if err := dlq.Purge(ctx, js, l); err != nil {
				return err
			}
			res.Message = fmt.Sprintf("purged %d: %s", l.Seq, l.Subject)
			return nil
		}
		r, err := dlq.Redrive(ctx, js, l)
		if err != nil {
			return err
		}
		res.Redriven, res.Message = &r, r.String()
		return nil
	}, nil)
	return res, err
}

// errNotFound reports whether err means there is no such letter (any more).
func errNotFound(err error) bool { return errors.Is(err, deadletter.ErrNotFound) }

// getLetter reads the letter at seq, within timeout.
func getLetter(ctx context.Context, js jetstream.JetStream, seq uint64, timeout time.Duration) (deadletter.Letter, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return deadletter.Get(ctx, js, seq)
}
