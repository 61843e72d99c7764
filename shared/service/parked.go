package service

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/choreo-dev/choreo/shared/endpoint"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/outbox"
)

// The parked area's operator endpoints (docs/contract.md, section 5): the
// outbox entries JetStream refused for good (too large), which an operator
// lists, puts back for another try (after raising the server's limit) or
// drops. In the secure profile only the admin identity may call them.

// ParkedSubjects are the parked area's operator endpoints of the named
// service: list, put back, drop.
func ParkedSubjects(service string) []string {
	return []string{service + ".parked", service + ".parked_retry", service + ".parked_drop"}
}

// ParkedEntry is one parked outbox entry as the endpoints show it.
type ParkedEntry struct {
	Seq      uint64    `json:"seq"`
	Subject  string    `json:"subject"`
	EventID  string    `json:"event_id"`
	Bytes    int       `json:"bytes"`
	Reason   string    `json:"reason"`
	ParkedAt time.Time `json:"parked_at"`
}

// ParkedList is "<service>.parked"'s reply.
type ParkedList struct {
	Parked []ParkedEntry `json:"parked"`
}

// parkedSeq is the request of "<service>.parked_retry" and "<service>.parked_drop".
type parkedSeq struct {
	Seq *int64 `json:"seq"`
}

func (r *parkedSeq) Validate() error {
	var p endpoint.Problems
	p.Required("seq", r.Seq != nil)
	if r.Seq != nil {
		p.IntRange("seq", *r.Seq, 1, math.MaxInt64)
	}
	return p.Err()
}

type noRequest struct{}

func parkedEndpoints(name string, store *eventstore.Store, relay *outbox.Relay) []endpoint.Endpoint {
	take := func(what string, f func(context.Context, uint64) error) endpoint.Handler[parkedSeq] {
		return func(ctx context.Context, r *parkedSeq) (any, error) {
			err := f(ctx, uint64(*r.Seq))
			if errors.Is(err, eventstore.ErrNotFound) {
				return nil, endpoint.NotFound("seq %d: no parked outbox entry", *r.Seq)
			}
			if err != nil {
				return nil, err
			}
			relay.CheckParked()
			return map[string]any{"seq": *r.Seq, what: true}, nil
		}
	}
	subjects := ParkedSubjects(name)
	return []endpoint.Endpoint{
		endpoint.New(subjects[0], func(ctx context.Context, _ *noRequest) (any, error) {
			es, err := store.Parked(ctx)
			if err != nil {
				return nil, err
			}
			out := ParkedList{Parked: make([]ParkedEntry, len(es))}
			for i, e := range es {
				out.Parked[i] = ParkedEntry{Seq: e.Seq, Subject: e.Subject, EventID: e.MsgID, Bytes: e.Size, Reason: e.Reason, ParkedAt: e.ParkedAt}
			}
			return out, nil
		}),
		endpoint.New(subjects[1], take("requeued", store.UnparkOutbox)),
		endpoint.New(subjects[2], take("dropped", store.DropParked)),
	}
}
