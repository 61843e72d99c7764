package client

import (
	"context"
	"slices"
	"time"
)

// StuckSaga is a saga in flight for longer than it should be, and where it
// waits: what Stuck returns and `choreo stuck -o json` prints.
type StuckSaga struct {
	OrderID    string    `json:"order_id"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
	AgeSeconds float64   `json:"age_seconds"`
	WaitingOn  *string   `json:"waiting_on"`
	LastEvent  string    `json:"last_event"`
	// Order is the order as order.list answered it (choreo stuck -o json
	// leaves it out: its lines are about the saga).
	Order OrderView `json:"-"`
}

// stuckScan bounds how many orders of each open status Stuck reads.
const stuckScan = 1000

// openStatuses are the statuses of a saga in flight.
var openStatuses = []string{"pending", "paid", "reserved"}

// Stuck returns the sagas in flight (orders pending, paid or reserved)
// created more than olderThan before now, oldest first, each with the
// service it waits on and the last event the order service heard — what
// the order service's choreo_sagas_stuck counts. It reads order.list (up
// to 1000 orders of each open status) and each candidate's order.timeline;
// a saga that ended meanwhile is left out.
func (c *Client) Stuck(ctx context.Context, olderThan time.Duration, now time.Time) ([]StuckSaga, error) {
	out := []StuckSaga{}
	for _, status := range openStatuses {
		orders, err := c.List(ctx, ListRequest{Status: status, Limit: stuckScan})
		if err != nil {
			return nil, err
		}
		for _, o := range orders {
			age := now.Sub(o.CreatedAt)
			if age <= olderThan {
				continue
			}
			tl, err := c.Timeline(ctx, o.OrderID)
			if err != nil {
				return nil, err
			}
			if tl.Status == "completed" || tl.Status == "cancelled" {
				continue // ended meanwhile
			}
			s := StuckSaga{OrderID: o.OrderID, Status: tl.Status, CreatedAt: o.CreatedAt,
				AgeSeconds: age.Seconds(), WaitingOn: tl.WaitingOn, Order: o}
			if n := len(tl.Events); n > 0 {
				s.LastEvent = tl.Events[n-1].Type
			}
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b StuckSaga) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}
