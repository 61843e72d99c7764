package sagatest_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
)

func TestHappyPath(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	c := sagatest.NewClient(s.NC)
	deposit(t, c, "alice", 10_000)
	restock(t, c, "widget", 5)
	v := place(t, c, client.PlaceRequest{CustomerID: "alice", Items: []client.Item{{SKU: "widget", Quantity: 2, UnitPriceCents: 1_500}}, ShippingAddress: sagatest.Addr("GB")})
	if v.Status != "pending" || v.TotalCents != 3_000 || v.Currency != "USD" || v.Version != 1 {
		t.Fatalf("placed %+v", v)
	}
	if id, err := uuid.Parse(v.OrderID); err != nil || id.Version() != 7 {
		t.Errorf("order id %q is not a UUIDv7 (%v)", v.OrderID, err)
	}
	if v.Steps != (client.Steps{Payment: "pending", Inventory: "pending", Shipping: "pending"}) {
		t.Errorf("placed with steps %+v", v.Steps)
	}
	done := waitSteps(t, c, v.OrderID, "completed", "", client.Steps{Payment: "completed", Inventory: "reserved", Shipping: "scheduled"})
	checkInvariants(t, c)
	wantBalance(t, c, "alice", 7_000)
	wantStock(t, c, "widget", 3, 2)
	wantPayment(t, c, v.OrderID, "charged")
	sh, err := c.Shipment(t.Context(), v.OrderID)
	if err != nil || sh.Status != "scheduled" || sh.Carrier != "Royal Mail" || sh.TrackingNumber == "" || sh.ShipmentID == "" {
		t.Errorf("shipment %+v (%v)", sh, err)
	}
	if done.Version != 4 || !done.UpdatedAt.After(done.CreatedAt) || !done.CreatedAt.Equal(v.CreatedAt) {
		t.Errorf("completed view %+v (placed %+v)", done, v)
	}

	// order.history: the four events of a successful saga, oldest first, each
	// caused by the command or the other service's event that led to it, and
	// each published under its id.
	events := history(t, c, v.OrderID)
	types := eventTypes(events)
	want := []string{"OrderPlaced", "OrderPaid", "OrderReserved", "OrderCompleted"}
	if !slices.Equal(types, want) {
		t.Fatalf("history %v, want %v", types, want)
	}
	causes := map[string][2]string{ // event type -> stream and subject of the event that caused it
		"OrderPaid":      {"PAYMENT_EVENTS", "payment.events.PaymentCompleted." + v.OrderID},
		"OrderReserved":  {"INVENTORY_EVENTS", "inventory.events.StockReserved." + v.OrderID},
		"OrderCompleted": {"SHIPPING_EVENTS", "shipping.events.ShipmentScheduled." + v.OrderID},
	}
	for i, e := range events {
		if id, err := uuid.Parse(e.ID); err != nil || id.Version() != 7 {
			t.Errorf("%s: id %q is not a UUIDv7 (%v)", e.Type, e.ID, err)
		}
		if e.SchemaVersion != 1 || e.AggregateType != "order" || e.AggregateID != v.OrderID ||
			e.Version != uint64(i+1) || e.CorrelationID != v.OrderID || e.CausationID == "" ||
			e.CausationID == e.ID || e.OccurredAt.IsZero() || e.OccurredAt.Location().String() != "UTC" {
			t.Errorf("history[%d] envelope %+v", i, e)
		}
		if i > 0 && e.OccurredAt.Before(events[i-1].OccurredAt) {
			t.Errorf("%s occurred at %v, before %s at %v", e.Type, e.OccurredAt, events[i-1].Type, events[i-1].OccurredAt)
		}
		// The published copy: same body, Nats-Msg-Id = id.
		m := lastMsg(t, s.JS, "ORDER_EVENTS", "order.events."+e.Type+"."+v.OrderID)
		if got := m.Header.Get(jetstream.MsgIDHeader); got != e.ID {
			t.Errorf("%s published with Nats-Msg-Id %q, want its id %q", e.Type, got, e.ID)
		}
		pub, err := envelope.Parse(m.Data)
		if err != nil || pub.ID != e.ID || pub.Version != e.Version || string(pub.Data) != string(e.Data) {
			t.Errorf("%s published as %s (%v), stored as %+v", e.Type, m.Data, err, e)
		}
	}
	for typ, where := range causes {
		cause, err := envelope.Parse(lastMsg(t, s.JS, where[0], where[1]).Data)
		if err != nil {
			t.Fatalf("%s: %v", where[1], err)
		}
		i := slices.Index(types, typ)
		if typ == "OrderReserved" && events[i].CausationID == events[i+1].CausationID {
			// The streams are independent: the order service may hear
			// ShipmentScheduled first, which implies the reservation, and
			// record OrderReserved and OrderCompleted on it at once.
			continue
		}
		if events[i].CausationID != cause.ID {
			t.Errorf("%s has causation_id %s, want the id %s of %s", typ, events[i].CausationID, cause.ID, cause.Type)
		}
		if cause.CorrelationID != v.OrderID {
			t.Errorf("%s has correlation_id %s, want the order id", cause.Type, cause.CorrelationID)
		}
	}
	var placed struct {
		OrderID    string `json:"order_id"`
		CustomerID string `json:"customer_id"`
		TotalCents int64  `json:"total_cents"`
	}
	if err := json.Unmarshal(events[0].Data, &placed); err != nil || placed.OrderID != v.OrderID || placed.CustomerID != "alice" || placed.TotalCents != 3_000 {
		t.Errorf("OrderPlaced data %s (%v)", events[0].Data, err)
	}
}

func TestOrderList(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	c := sagatest.NewClient(s.NC)
	// "al" and "alice-2" share a prefix with "alice": the customer filter
	// must not mix them up.
	for _, cust := range []string{"alice", "al", "alice-2"} {
		deposit(t, c, cust, 10_000)
	}
	restock(t, c, "widget", 100)
	var ids []string // in placement order
	for _, r := range []client.PlaceRequest{
		order("alice", "widget", 1, 3_000, "US"),
		order("al", "widget", 1, 1_000, "US"),
		order("alice", "widget", 1, 20_000, "US"), // insufficient funds
		order("alice-2", "widget", 1, 1_000, "US"),
		order("alice", "widget", 1, 3_000, "US"),
		order("al", "widget", 1, 1_000, "BR"), // unsupported destination
	} {
		ids = append(ids, place(t, c, r).OrderID)
	}
	checkInvariants(t, c)
	cancelled := map[string]bool{ids[2]: true, ids[5]: true}

	newest := func(idx ...int) []string {
		var out []string
		for i := len(ids) - 1; i >= 0; i-- {
			if len(idx) == 0 || slices.Contains(idx, i) {
				out = append(out, ids[i])
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		req  client.ListRequest
		want []string
	}{
		{"all", client.ListRequest{}, newest()},
		{"limit", client.ListRequest{Limit: 2}, newest(5, 4)},
		{"customer", client.ListRequest{CustomerID: "alice"}, newest(0, 2, 4)},
		{"short customer", client.ListRequest{CustomerID: "al"}, newest(1, 5)},
		{"longer customer", client.ListRequest{CustomerID: "alice-2"}, newest(3)},
		{"customer limit", client.ListRequest{CustomerID: "alice", Limit: 1}, newest(4)},
		{"status", client.ListRequest{Status: "cancelled"}, newest(2, 5)},
		{"status limit", client.ListRequest{Status: "completed", Limit: 3}, newest(0, 1, 3, 4)[:3]},
		{"customer status", client.ListRequest{CustomerID: "alice", Status: "completed"}, newest(0, 4)},
		{"no match", client.ListRequest{CustomerID: "alice", Status: "pending"}, nil},
		{"unknown customer", client.ListRequest{CustomerID: "nobody"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			views, err := c.List(t.Context(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i, v := range views {
				got = append(got, v.OrderID)
				if i > 0 && v.CreatedAt.After(views[i-1].CreatedAt) {
					t.Errorf("not newest first: %s at %v after %s at %v", v.OrderID, v.CreatedAt, views[i-1].OrderID, views[i-1].CreatedAt)
				}
				if tc.req.CustomerID != "" && v.CustomerID != tc.req.CustomerID {
					t.Errorf("%s is %s's order", v.OrderID, v.CustomerID)
				}
				if wantStatus := map[bool]string{true: "cancelled", false: "completed"}[cancelled[v.OrderID]]; v.Status != wantStatus {
					t.Errorf("%s listed as %s, want %s", v.OrderID, v.Status, wantStatus)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("listed %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("invalid", func(t *testing.T) {
		_, err := c.List(t.Context(), client.ListRequest{Status: "lost"})
		wantCode(t, err, 400, "invalid_argument")
		_, err = c.List(t.Context(), client.ListRequest{Limit: 1001})
		wantCode(t, err, 400, "invalid_argument")
	})
}
