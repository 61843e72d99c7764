package order

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/eventstore"
)

// TestViewsListAndDeadlines places orders through the handler on a real
// store and reads them back the way order.list and the deadline scheduler
// do: newest first, by customer, by status, and the open orders by
// deadline.
func TestViewsListAndDeadlines(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := start
	st, err := eventstore.Open(filepath.Join(t.TempDir(), "order.db"), eventstore.Options{
		Service: "order", Registry: Registry(), Projections: []eventstore.Projection{views{}},
		Now: func() time.Time { return clock },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := handlers{store: st, settings: Settings{SagaTimeout: time.Hour}}
	ctx := context.Background()
	// One order a minute; customer "c" is a prefix of customer "c1".
	for i, o := range []struct{ id, customer string }{
		{"o1", "c"}, {"o2", "c1"}, {"o3", "c"}, {"o4", "d"}, {"o5", "c1"},
	} {
		clock = start.Add(time.Duration(i) * time.Minute)
		q, p := int64(1), int64(100)
		if _, err := h.place(ctx, &placeRequest{OrderID: o.id, CustomerID: o.customer,
			Items:           []itemRequest{{SKU: "s", Quantity: &q, UnitPriceCents: &p}},
			ShippingAddress: &addressRequest{Name: "A", Line1: "1", City: "X", PostalCode: "1", Country: "GB"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.cancel(ctx, &cancelRequest{OrderID: "o3"}); err != nil {
		t.Fatal(err)
	}

	list := func(customer, status string, limit int) []string {
		t.Helper()
		var ids []string
		if err := st.View(ctx, func(tx *eventstore.Tx) error {
			vs, err := listViews(tx, customer, status, limit)
			for _, v := range vs {
				ids = append(ids, v.OrderID)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	for _, tc := range []struct {
		customer, status string
		limit            int
		want             []string
	}{
		{"", "", 50, []string{"o5", "o4", "o3", "o2", "o1"}},
		{"", "", 2, []string{"o5", "o4"}},
		{"c", "", 50, []string{"o3", "o1"}},
		{"c1", "", 50, []string{"o5", "o2"}},
		{"b", "", 50, nil},
		{"", "cancelled", 50, []string{"o3"}},
		{"c", "pending", 50, []string{"o1"}},
	} {
		if got := list(tc.customer, tc.status, tc.limit); !slices.Equal(got, tc.want) {
			t.Errorf("list customer %q status %q limit %d = %v, want %v", tc.customer, tc.status, tc.limit, got, tc.want)
		}
	}

	due := func(now time.Time, limit int) ([]string, time.Time) {
		t.Helper()
		var ids []string
		var next time.Time
		_ = st.View(ctx, func(tx *eventstore.Tx) error {
			ids, next = dueOrders(tx, now, limit)
			return nil
		})
		return ids, next
	}
	// Deadlines are an hour after placing; o3 is cancelled, so not due.
	if ids, next := due(start.Add(time.Hour+90*time.Second), 50); !slices.Equal(ids, []string{"o1", "o2"}) || !next.Equal(start.Add(time.Hour+3*time.Minute)) {
		t.Errorf("due = %v, next %v; want [o1 o2], next %v", ids, next, start.Add(time.Hour+3*time.Minute))
	}
	if ids, next := due(start.Add(2*time.Hour), 1); !slices.Equal(ids, []string{"o1"}) || !next.Equal(start.Add(time.Hour+time.Minute)) {
		t.Errorf("due with limit 1 = %v, next %v; want [o1], next %v", ids, next, start.Add(time.Hour+time.Minute))
	}
	if ids, next := due(start, 50); len(ids) != 0 || !next.Equal(start.Add(time.Hour)) {
		t.Errorf("due at the start = %v, next %v; want none, next %v", ids, next, start.Add(time.Hour))
	}
}
