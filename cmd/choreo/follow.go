package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/nats-io/nats.go"
)

// sagaSubject is every event of one saga, from any service: the order id is
// the subject's last token.
func sagaSubject(orderID string) string { return "*.events.*." + orderID }

// followEvery is how often follow asks for the timeline when no event of
// the saga came by: the order service records what it hears a moment
// after it is published.
const followEvery = 250 * time.Millisecond

// follow prints the saga of orderID as the order service records it, one
// line per event (JSON lines of the timeline's events with asJSON), each
// event once — first what happened before, then as it happens — until the
// saga is over (completed, or cancelled with every compensation recorded)
// or ctx ends. events, a subscription to sagaSubject, wakes it early. It
// returns the last timeline read and whether the saga is over. An order
// not placed yet is waited for.
func follow(ctx context.Context, cl *client.Client, events <-chan *nats.Msg, orderID string, w io.Writer, asJSON bool) (client.Timeline, bool, error) {
	printed := map[string]time.Time{} // event id -> occurred at
	tick := time.NewTicker(followEvery)
	defer tick.Stop()
	var tl client.Timeline
	for {
		cur, err := cl.Timeline(ctx, orderID)
		switch {
		case errors.Is(err, client.ErrNotFound):
		case err != nil && ctx.Err() != nil:
			return tl, false, nil
		case err != nil:
			return tl, false, err
		default:
			tl = cur
			for _, e := range tl.Events {
				if _, ok := printed[e.ID]; ok {
					continue
				}
				if err := printStep(w, e, printed, asJSON); err != nil {
					return tl, false, err
				}
				printed[e.ID] = e.OccurredAt
			}
			if tl.WaitingOn == nil && (tl.Status == "completed" || tl.Status == "cancelled") {
				return tl, true, nil
			}
		}
		select {
		case <-ctx.Done():
			return tl, false, nil
		case <-events:
			for len(events) > 0 {
				<-events
			}
		case <-tick.C:
		}
	}
}

// printStep prints one event of a saga: when it occurred, its publisher, its
// type, and how long after its cause (printed earlier) it came.
func printStep(w io.Writer, e client.TimelineEvent, printed map[string]time.Time, asJSON bool) error {
	if asJSON {
		return jsonLine(w, e)
	}
	hop := ""
	if cause, ok := printed[e.CausationID]; ok {
		hop = "+" + short(e.OccurredAt.Sub(cause))
	}
	_, err := fmt.Fprintf(w, "%s  %-9s  %-22s  %s\n", e.OccurredAt.UTC().Format(milliTime), e.Service, e.Type, hop)
	return err
}

// jsonLine writes v as one line of JSON.
func jsonLine(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }
