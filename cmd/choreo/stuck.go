package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/spf13/cobra"
)

const stuckHelp = `Lists the sagas in flight (orders pending, paid or reserved) for longer than
-older (default 10s), oldest first, with the service each waits on and the
last event it heard — what choreo_sagas_stuck counts. It reads order.list
(up to 1000 orders of each open status) and each order's order.timeline.
With -o json it prints a JSON array of {"order_id","status","created_at",
"age_seconds","waiting_on","last_event"}.`

// stuckSaga is one line of choreo stuck.
type stuckSaga struct {
	OrderID    string    `json:"order_id"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
	AgeSeconds float64   `json:"age_seconds"`
	WaitingOn  *string   `json:"waiting_on"`
	LastEvent  string    `json:"last_event"`
}

func (c *cli) stuckCmd() *cobra.Command {
	var older time.Duration
	cmd := &cobra.Command{
		Use:               "stuck [-older 10s]",
		Short:             "list the sagas in flight for longer than -older, with what each waits on",
		Long:              stuckHelp,
		Args:              args(0, 0),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if older < 0 {
				return usagef("-older must not be negative")
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			out, err := stuckSagas(cmd.Context(), cl, older, time.Now())
			if err != nil {
				return err
			}
			return c.show(out, func() {
				if len(out) == 0 {
					fmt.Fprintf(c.stdout, "no saga in flight for more than %s\n", older)
					return
				}
				rows := [][]string{{"ORDER", "STATUS", "AGE", "WAITING_ON", "LAST_EVENT"}}
				for _, s := range out {
					rows = append(rows, []string{s.OrderID, s.Status, short(time.Duration(s.AgeSeconds * float64(time.Second))),
						waitingName(s.WaitingOn), s.LastEvent})
				}
				table(c.stdout, rows...)
			})
		},
	}
	cmd.Flags().DurationVar(&older, "older", 10*time.Second, "list sagas in flight for longer than this")
	return cmd
}

func waitingName(w *string) string {
	if w == nil {
		return "-"
	}
	return *w
}

// stuckSagas returns the open orders created more than older before now,
// oldest first.
func stuckSagas(ctx context.Context, cl *client.Client, older time.Duration, now time.Time) ([]stuckSaga, error) {
	out := []stuckSaga{}
	for _, status := range []string{"pending", "paid", "reserved"} {
		orders, err := cl.List(ctx, client.ListRequest{Status: status, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, o := range orders {
			age := now.Sub(o.CreatedAt)
			if age <= older {
				continue
			}
			tl, err := cl.Timeline(ctx, o.OrderID)
			if err != nil {
				return nil, err
			}
			if tl.Status != status && (tl.Status == "completed" || tl.Status == "cancelled") {
				continue // ended meanwhile
			}
			s := stuckSaga{OrderID: o.OrderID, Status: tl.Status, CreatedAt: o.CreatedAt, AgeSeconds: age.Seconds(), WaitingOn: tl.WaitingOn}
			if n := len(tl.Events); n > 0 {
				s.LastEvent = tl.Events[n-1].Type
			}
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b stuckSaga) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}
