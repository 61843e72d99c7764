package console

import (
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

func ptr(s string) *string { return &s }

// where says, in words, where a saga stands: over, waiting on whom for
// what, stuck, and what is down.
func TestWhere(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	order := func(status, reason string, age time.Duration, steps client.Steps) *client.OrderView {
		return &client.OrderView{Status: status, CancelReason: reason, CreatedAt: now.Add(-age), Steps: steps}
	}
	tl := func(status string, waiting *string) *client.Timeline {
		return &client.Timeline{Status: status, WaitingOn: waiting, Events: []client.TimelineEvent{
			{Type: "OrderPlaced", Service: "order", OccurredAt: now.Add(-time.Minute)},
			{Type: "PaymentCompleted", Service: "payment", OccurredAt: now.Add(-50 * time.Second)}}}
	}
	up := func(string) string { return "" }
	down := func(svc string) string {
		if svc == "shipping" {
			return "shipping does not answer"
		}
		return ""
	}
	charged := client.Steps{Payment: "completed", Inventory: "pending", Shipping: "pending"}
	for name, tc := range map[string]struct {
		o      *client.OrderView
		tl     *client.Timeline
		down   func(string) string
		level  string
		head   []string
		detail string
		done   *bool
	}{
		"completed": {order("completed", "", time.Minute, client.Steps{}), tl("completed", nil), up, "ok",
			[]string{"Completed", "Nothing waits"}, "Last event: PaymentCompleted from payment, 50s ago.", new(bool)},
		"in flight": {order("paid", "", 3*time.Second, charged), tl("paid", ptr("inventory")), up, "wait",
			[]string{"In flight for 3s: waiting on inventory to reserve the stock."}, "", nil},
		"stuck": {order("reserved", "", time.Minute, charged), tl("reserved", ptr("shipping")), up, "warn",
			[]string{"Stuck: in flight for 1m0s (more than 10s): waiting on shipping to schedule the shipment."}, "", nil},
		"stuck behind a service down": {order("reserved", "", time.Minute, charged), tl("reserved", ptr("shipping")), down, "error",
			[]string{"Stuck"}, "shipping does not answer", nil},
		"cancelled, compensating": {order("cancelled", "insufficient_stock", time.Minute, client.Steps{Payment: "completed", Inventory: "failed", Shipping: "pending"}),
			tl("cancelled", ptr("payment")), up, "warn",
			[]string{"Cancelled because there was not enough stock; waiting on payment to refund the payment."}, "payment: completed, waiting to be refunded", new(bool)},
		"cancelled, compensated": {order("cancelled", "payment_failed", time.Minute, client.Steps{Payment: "failed", Inventory: "pending", Shipping: "pending"}),
			tl("cancelled", nil), up, "ok",
			[]string{"Cancelled because the payment was declined. Every compensation is done; nothing waits."}, "payment: failed — nothing to undo", ptr2(true)},
		"no timeline": {order("cancelled", "timeout", time.Minute, client.Steps{}), nil, up, "warn",
			[]string{"cannot be read: the timeline is unavailable"}, "", nil},
		"nothing": {nil, nil, up, "error", []string{"the order service does not answer"}, "", nil},
	} {
		var comps []Compensation
		if tc.o != nil {
			comps = compensations(*tc.o)
		}
		w := where(tc.o, tc.tl, comps, tc.down, 10*time.Second, now)
		if w.Level != tc.level {
			t.Errorf("%s: level %s, want %s (%+v)", name, w.Level, tc.level, w)
		}
		for _, h := range tc.head {
			if !strings.Contains(w.Headline, h) {
				t.Errorf("%s: headline %q lacks %q", name, w.Headline, h)
			}
		}
		if d := strings.Join(w.Details, " | "); !strings.Contains(d, tc.detail) {
			t.Errorf("%s: details %q lack %q", name, d, tc.detail)
		}
		if (w.CompensationsDone == nil) != (tc.done == nil) || (tc.done != nil && *w.CompensationsDone != *tc.done) {
			t.Errorf("%s: compensations done %v, want %v", name, w.CompensationsDone, tc.done)
		}
	}
}

func ptr2(b bool) *bool { return &b }

// A backlog grows when it is above what it was half a minute ago and has
// not fallen lately; a short history tells nothing.
func TestGrowing(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	h := func(vs ...uint64) []sample {
		var out []sample
		for i, v := range vs {
			out = append(out, sample{now.Add(-time.Duration(len(vs)-1-i) * 10 * time.Second), v})
		}
		return out
	}
	for _, tc := range []struct {
		h    []sample
		want bool
	}{
		{h(0, 0, 5, 8, 8), true},
		{h(0, 0, 5, 8, 7), false}, // falling now
		{h(9, 9, 5, 8, 8), false}, // lower than half a minute ago
		{h(0, 8), false},          // too short
		{h(0, 0, 0, 0, 0), false}, // nothing
		{h(4, 4, 4, 4, 4), false}, // steady
		{h(1, 2, 3), true},        // 20s of history is enough
		{h(3, 3, 3, 3, 3, 3, 4), true},
	} {
		if _, got := growing(tc.h, now); got != tc.want {
			var vs []uint64
			for _, s := range tc.h {
				vs = append(vs, s.v)
			}
			t.Errorf("growing(%v) = %v, want %v", vs, got, tc.want)
		}
	}
}

func TestParseMetrics(t *testing.T) {
	t.Parallel()
	text := `# HELP choreo_outbox_entries Events committed and not yet acknowledged by JetStream.
# TYPE choreo_outbox_entries gauge
choreo_outbox_entries{service="order"} 3
choreo_outbox_entries_total 99
choreo_dead_letters{service="order",x="a}b"} 2
choreo_dead_letters{service="order",x="c"} 1.5 1700000000000
choreo_sagas_stuck 4
garbage line
`
	got, err := parseMetrics(strings.NewReader(text), readMetrics)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{metricOutbox: 3, metricDeadLetters: 3.5, metricStuck: 4}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

// The console answers requests for its own address only: loopback names,
// or the host it was told to listen on.
func TestHostAllowed(t *testing.T) {
	t.Parallel()
	for addr, hosts := range map[string]map[string]bool{
		"127.0.0.1:8080": {"127.0.0.1:8080": true, "localhost:8080": true, "[::1]:8080": true, "evil.example:8080": false,
			"10.0.0.5:8080": false, "console.localhost": true, "127.0.0.1.evil.example": false},
		"10.0.0.5:8080": {"10.0.0.5:8080": true, "127.0.0.1:8080": true, "evil.example:8080": false},
		"0.0.0.0:8080":  {"anything:8080": true},
	} {
		s := &Server{cfg: Config{Addr: addr}}
		for host, want := range hosts {
			if got := s.hostAllowed(host); got != want {
				t.Errorf("listening on %s, Host %s: %v, want %v", addr, host, got, want)
			}
		}
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	svcs, err := ParseServices("order=127.0.0.1:9101, payment=off,,inventory")
	if err == nil || !strings.Contains(err.Error(), `"inventory" is not name=host:port`) || len(svcs) != 2 || svcs[1].Served() {
		t.Errorf("ParseServices = %+v, %v", svcs, err)
	}
	err = Config{Addr: "nowhere", Services: []Endpoint{{"a.b", ""}, {"x", "bad"}, {"x", ""}}, Every: -1, Window: time.Second}.Validate()
	for _, want := range []string{`Addr: "nowhere"`, `Services[0]: "a.b"`, `Services[1]: x's HTTP address "bad"`, "Services[2]: x twice",
		"Every must not be negative", "Window must be at least a minute"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v lacks %q", err, want)
		}
	}
	if err := (Config{}).withDefaults().Validate(); err != nil {
		t.Errorf("the defaults: %v", err)
	}
	if got := lanesOf([]Endpoint{{Name: "order-p0"}, {Name: "order-p1"}, {Name: "pay-plan"}, {Name: "shipping"}}); strings.Join(got, " ") != "order pay-plan shipping" {
		t.Errorf("lanes = %v", got)
	}
}

// The rates count per bucket, keep a window and give the last complete
// bucket's rate.
func TestRates(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	r := newRates(time.Minute, func() time.Time { return now })
	r.add(func(b *Bucket) { b.Placed++ })
	now = now.Add(bucketDuration)
	for range 20 {
		r.add(func(b *Bucket) { b.Placed++ })
	}
	r.add(func(b *Bucket) { b.Completed++ })
	now = now.Add(bucketDuration)
	got := r.snapshot()
	if len(got.Buckets) != 3 || got.Buckets[1].Placed != 20 || got.PlacedPerSecond != 2 || got.EndedPerSecond != 0.1 {
		t.Errorf("snapshot = %+v", got)
	}
	now = now.Add(time.Hour)
	if got := r.snapshot(); len(got.Buckets) != 6 || got.Buckets[0].Placed != 0 {
		t.Errorf("an hour later: %+v", got)
	}
}

// The watcher counts each saga opened and ended once: a second copy of an
// event (a publish retried) and a republish of an old one (a redrive, a
// healed stream) are not counted again; every event names its order.
func TestWatcherCounts(t *testing.T) {
	t.Parallel()
	now := time.Now()
	r := newRates(time.Minute, func() time.Time { return now })
	w := newWatcher(nil, r, zerolog.Nop())
	msg := func(subject, id string, at time.Time) *nats.Msg {
		m := nats.NewMsg(subject)
		m.Header.Set(jetstream.MsgIDHeader, id)
		m.Data = []byte(`{"id":"` + id + `","occurred_at":"` + at.UTC().Format(time.RFC3339Nano) + `"}`)
		return m
	}
	for _, m := range []*nats.Msg{
		msg("order.events.OrderPlaced.a", "e1", now),
		msg("order.events.OrderPlaced.a", "e1", now),                 // the same again
		msg("order.events.OrderPlaced.b", "e2", now.Add(-time.Hour)), // republished
		msg("order.events.OrderCompleted.a", "e3", now),
		msg("payment.events.PaymentCompleted.c", "e4", now),
		msg("not-an-event", "e5", now),
	} {
		w.handle(m)
	}
	b := r.snapshot().Buckets
	if last := b[len(b)-1]; last.Placed != 1 || last.Completed != 1 || last.Cancelled != 0 {
		t.Errorf("bucket = %+v", last)
	}
	moved, ok := w.flush()
	if !ok || strings.Join(moved.IDs, " ") != "a b c" || !moved.Orders || moved.More {
		t.Errorf("moved = %+v, %v", moved, ok)
	}
	if _, ok := w.flush(); ok {
		t.Error("a second flush moved something")
	}
}

// A hot order's events set aside are in no durable's backlog: the overview
// says so from the service's metrics.
func TestAlertsSetAside(t *testing.T) {
	o := &Overview{NATS: NATSState{Connected: true}, Services: []ServiceState{
		{Name: "order", Served: true, Reachable: true, Ready: true, Metrics: map[string]float64{metricSetAside: 1200}},
		{Name: "payment", Served: true, Reachable: true, Ready: true, Metrics: map[string]float64{metricSetAside: 0}},
	}}
	var got []string
	for _, a := range alerts(o) {
		got = append(got, a.Level+": "+a.Text)
	}
	want := "warn: order holds 1200 event(s) of hot orders set aside, handled in their order's turn: one order is getting far more events than a saga makes"
	if len(got) != 1 || got[0] != want {
		t.Fatalf("alerts %q, want [%q]", got, want)
	}
}
