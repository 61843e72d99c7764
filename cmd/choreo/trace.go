package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/spf13/cobra"
)

const traceHelp = `Draws the saga of ORDER_ID as a timeline: every event of it from the four
services, oldest first, as order.timeline answers it. For each event: when
it occurred after the first (AT), the service that published it, its type,
how long after the event that caused it it occurred (HOP: the time that
step of the saga took), and how long after it occurred the order service
recorded it (HEARD: the delivery, for the other services' events); then a
bar on the saga's time axis. The heading says where the saga stands and
which service it waits on. With -o json it prints order.timeline's reply.`

func (c *cli) traceCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "trace ORDER_ID",
		Short:             "draw an order's saga as a timeline, with the time each hop took",
		Long:              traceHelp,
		Args:              args(1, 1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, a []string) error {
			return query(cmd.Context(), c, func(ctx context.Context, cl *client.Client) (client.Timeline, error) {
				return cl.Timeline(ctx, a[0])
			}, func(tl client.Timeline) { drawTimeline(c.stdout, tl) })
		},
	}
}

// barWidth is the width of the timeline's time axis, in characters.
const barWidth = 40

func drawTimeline(w io.Writer, tl client.Timeline) {
	fmt.Fprintf(w, "order %s: %s, %s", tl.OrderID, tl.Status, waitingText(tl.WaitingOn))
	if len(tl.Events) == 0 {
		fmt.Fprintln(w, "; no events")
		return
	}
	first := tl.Events[0].OccurredAt
	span := tl.Events[len(tl.Events)-1].OccurredAt.Sub(first)
	fmt.Fprintf(w, "; %d events over %s\n\n", len(tl.Events), short(span))
	at := map[string]time.Time{}
	rows := [][]string{{"AT", "SERVICE", "EVENT", "HOP", "HEARD", ""}}
	for _, e := range tl.Events {
		at[e.ID] = e.OccurredAt
		hop := "-"
		if cause, ok := at[e.CausationID]; ok {
			hop = short(e.OccurredAt.Sub(cause))
		}
		heard := "-"
		if d := e.RecordedAt.Sub(e.OccurredAt); d > 0 {
			heard = "+" + short(d)
		}
		rows = append(rows, []string{"+" + short(e.OccurredAt.Sub(first)), e.Service, e.Type, hop, heard, bar(e.OccurredAt.Sub(first), span)})
	}
	table(w, rows...)
}

func waitingText(w *string) string {
	if w == nil {
		return "waiting on nothing"
	}
	return "waiting on " + *w
}

// bar marks offset on an axis of barWidth characters spanning total.
func bar(offset, total time.Duration) string {
	pos := 0
	if total > 0 {
		pos = int(int64(barWidth-1) * int64(offset) / int64(total))
	}
	return "|" + strings.Repeat(" ", pos) + "*" + strings.Repeat(" ", barWidth-1-pos) + "|"
}

// short prints a duration rounded for people: 3.2ms, 1.25s, 2m3s.
func short(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + short(-d)
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(100 * time.Microsecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
