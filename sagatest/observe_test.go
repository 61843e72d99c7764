package sagatest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/tracing"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// scrape reads a service's /metrics.
func scrape(s *sagatest.Stack, service string) (string, error) {
	code, body, err := httpGet(s, service, "/metrics")
	if err == nil && code != 200 {
		err = fmt.Errorf("%s /metrics: %d", service, code)
	}
	return body, err
}

func httpGet(s *sagatest.Stack, service, path string) (int, string, error) {
	resp, err := http.Get("http://" + s.HTTPAddr(service) + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// waitMetrics waits until each service's metrics hold every line (or line
// prefix) given for it.
func waitMetrics(t testing.TB, s *sagatest.Stack, want map[string][]string) {
	t.Helper()
	natstest.Eventually(t, wait, func() error {
		for service, lines := range want {
			m, err := scrape(s, service)
			if err != nil {
				return err
			}
			for _, l := range lines {
				if !strings.Contains(m, l) {
					return fmt.Errorf("%s's metrics lack %s:\n%s", service, l, metricLines(m, strings.SplitN(l, "{", 2)[0]))
				}
			}
		}
		return nil
	})
}

func metricLines(m, name string) string {
	var out []string
	for _, l := range strings.Split(m, "\n") {
		if strings.HasPrefix(l, name) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestMetricsFollowSagas: the metrics move with real sagas — counts by
// outcome on every service, the saga's own service levels on order, a
// stuck saga counted while shipping is stopped (also after order restarts)
// and uncounted once shipping is back — and /readyz follows NATS.
func TestMetricsFollowSagas(t *testing.T) {
	t.Parallel()
	// One partition whatever CHOREO_SAGATEST_PARTITIONS says: the counts
	// asserted are one process's (Prometheus sums a deployment's).
	s := sagatest.Start(t, sagatest.Options{HTTP: true, StuckAfter: 300 * time.Millisecond, SagaTimeout: time.Minute, Partitions: 1})
	c := sagatest.NewClient(s.NC)
	deposit(t, c, "mia", 100_000)
	restock(t, c, "meter", 10)

	done := place(t, c, order("mia", "meter", 1, 1_000, "US"))
	waitTimeline(t, c, done.OrderID, ended("completed"))
	undone := place(t, c, order("mia", "meter", 1, 1_000, "BR"))
	waitTimeline(t, c, undone.OrderID, ended("cancelled"))
	publish(t, s.JS, "order.events.OrderPlaced.junk", []byte("not an event"), "") // payment dead-letters it
	waitQuiet(t, s)

	applied := func(consumer, typ string, n int) string {
		return fmt.Sprintf(`choreo_events_handled_total{consumer=%q,event_type=%q,outcome="applied",service=%q} %d`, consumer, typ, consumer, n)
	}
	waitMetrics(t, s, map[string][]string{
		"order": {
			`choreo_requests_total{code="200",endpoint="order.place",service="order"} 2`,
			`choreo_request_duration_seconds_count{endpoint="order.place",service="order"} 2`,
			`choreo_sagas_started_total{service="order"} 2`,
			`choreo_sagas_ended_total{reason="",service="order",status="completed"} 1`,
			`choreo_sagas_ended_total{reason="shipping_failed",service="order",status="cancelled"} 1`,
			`choreo_saga_duration_seconds_count{service="order",status="completed"} 1`,
			`choreo_saga_duration_seconds_count{service="order",status="cancelled"} 1`,
			`choreo_compensation_duration_seconds_count{service="order"} 1`,
			`choreo_sagas_in_flight{service="order"} 0`,
			`choreo_sagas_stuck{service="order"} 0`,
			applied("order", "PaymentCompleted", 2), applied("order", "ShipmentFailed", 1), applied("order", "PaymentRefunded", 1),
			`choreo_event_delivery_lag_seconds_count{consumer="order",service="order"}`,
			`choreo_events_published_total{service="order",stream="ORDER_EVENTS"}`,
			`choreo_outbox_entries{service="order"} 0`,
			`choreo_consumer_pending{consumer="order",service="order",stream="PAYMENT_EVENTS"} 0`,
			`choreo_store_commit_batch_size_count{service="order"}`,
			`choreo_ready{check="consumer:SHIPPING_EVENTS",service="order"} 1`,
		},
		"payment": {
			applied("payment", "OrderPlaced", 2), applied("payment", "OrderCancelled", 1),
			`choreo_events_handled_total{consumer="payment",event_type="unknown",outcome="dead_lettered",service="payment"} 1`,
			`choreo_dead_letters{service="payment"} 1`,
			`choreo_events_published_total{service="payment",stream="PAYMENT_EVENTS"} 4`, // a deposit, two charges, a refund
		},
		"inventory": {applied("inventory", "PaymentCompleted", 2), applied("inventory", "OrderCancelled", 1), `choreo_dead_letters{service="inventory"} 0`},
		"shipping":  {applied("shipping", "StockReserved", 2), `choreo_events_published_total{service="shipping",stream="SHIPPING_EVENTS"} 2`},
	})

	// Shipping away: the next saga waits on it, and is stuck once in flight
	// longer than StuckAfter — also as a restarted order service counts it.
	s.StopService("shipping")
	stuck := place(t, c, order("mia", "meter", 1, 1_000, "US"))
	waitTimeline(t, c, stuck.OrderID, func(tl client.Timeline) error {
		if tl.WaitingOn == nil || *tl.WaitingOn != "shipping" {
			return fmt.Errorf("timeline %v waits on %v", timelineTypes(tl), tl.WaitingOn)
		}
		return nil
	})
	stuckNow := map[string][]string{"order": {`choreo_sagas_in_flight{service="order"} 1`, `choreo_sagas_stuck{service="order"} 1`}}
	waitMetrics(t, s, stuckNow)
	s.RestartService("order")
	waitMetrics(t, s, stuckNow)
	s.StartService("shipping")
	waitTimeline(t, c, stuck.OrderID, ended("completed"))
	waitMetrics(t, s, map[string][]string{"order": {
		`choreo_sagas_in_flight{service="order"} 0`, `choreo_sagas_stuck{service="order"} 0`,
		`choreo_sagas_ended_total{reason="",service="order",status="completed"} 1`, // counted since the restart
	}})

	// /readyz: 503 on every service while NATS is down, 200 once it is back.
	s.NATS.Shutdown()
	for _, svc := range sagatest.Services {
		natstest.Eventually(t, wait, func() error { return wantReadyz(s, svc, 503) })
	}
	s.NATS.Restart(t)
	for _, svc := range sagatest.Services {
		natstest.Eventually(t, wait, func() error { return wantReadyz(s, svc, 200) })
	}
}

func wantReadyz(s *sagatest.Stack, service string, want int) error {
	code, body, err := httpGet(s, service, "/readyz")
	if err != nil {
		return err
	}
	if code != want {
		return fmt.Errorf("%s /readyz %d, want %d: %s", service, code, want, body)
	}
	if code == 503 && !strings.Contains(body, `"name":"nats","ok":false`) {
		return fmt.Errorf("%s /readyz does not name the nats check: %s", service, body)
	}
	return nil
}

// TestOneSagaOneTrace: an order placed with a traceparent is one trace
// across the four services: every event of its saga on *.events.> carries
// that trace id, and the spans of all four services are in it — also when a
// service is stopped mid-saga and started again.
func TestOneSagaOneTrace(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	s := sagatest.Start(t, sagatest.Options{Tracer: sagatest.Tracers(exp)})
	c := sagatest.NewClient(s.NC)
	deposit(t, c, "tom", 100_000)
	restock(t, c, "lamp", 10)
	for _, tc := range []struct {
		name, country, status string
		stop                  string // a service stopped before placing, started once the saga waits for it
	}{
		{"completed", "US", "completed", ""},
		{"compensated", "BR", "cancelled", ""},
		{"shipping stopped mid-saga", "US", "completed", "shipping"},
		{"inventory stopped mid-saga", "BR", "cancelled", "inventory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			traceID := fmt.Sprintf("%032x", time.Now().UnixNano())
			parent := tracing.Context{Parent: "00-" + traceID + "-00f067aa0ba902b7-01"}
			r := order("tom", "lamp", 1, 1_000, tc.country)
			r.OrderID = "trace-" + traceID[16:]
			msgs := make(chan *nats.Msg, 64)
			sub, err := s.NC.ChanSubscribe("*.events.*."+r.OrderID, msgs)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Unsubscribe()
			if tc.stop != "" {
				s.StopService(tc.stop)
			}
			if _, err := c.Place(parent.Into(t.Context()), r); err != nil {
				t.Fatal(err)
			}
			if tc.stop != "" {
				waitTimeline(t, c, r.OrderID, func(tl client.Timeline) error {
					if tl.WaitingOn == nil || *tl.WaitingOn != tc.stop {
						return fmt.Errorf("saga waits on %v, not yet on %s", tl.WaitingOn, tc.stop)
					}
					return nil
				})
				s.StartService(tc.stop)
			}
			tl := waitTimeline(t, c, r.OrderID, ended(tc.status))
			waitQuiet(t, s)

			seen := map[string]string{} // event id -> its traceparent
			natstest.Eventually(t, wait, func() error {
				for len(msgs) > 0 {
					m := <-msgs
					seen[m.Header.Get("Nats-Msg-Id")] = m.Header.Get("traceparent")
				}
				for _, e := range tl.Events {
					if _, ok := seen[e.ID]; !ok {
						return fmt.Errorf("%s (%s) not seen on *.events.>", e.Type, e.ID)
					}
				}
				return nil
			})
			for _, e := range tl.Events {
				if got := (tracing.Context{Parent: seen[e.ID]}).TraceID(); got != traceID {
					t.Errorf("%s of %s carries traceparent %q, not trace %s", e.Type, e.Service, seen[e.ID], traceID)
				}
			}
			services := map[string]bool{}
			names := map[string]bool{}
			for _, sp := range exp.GetSpans() {
				if sp.SpanContext.TraceID().String() != traceID {
					continue
				}
				names[sp.Name] = true
				for _, kv := range sp.Resource.Attributes() {
					if kv.Key == "service.name" {
						services[kv.Value.AsString()] = true
					}
				}
			}
			for _, svc := range sagatest.Services {
				if !services[svc] {
					t.Errorf("no span of %s in the saga's trace (services %v)", svc, services)
				}
			}
			for _, n := range []string{"order.place", "store.commit", "outbox.publish", "handle OrderPlaced", "handle PaymentCompleted", "handle StockReserved"} {
				if !names[n] {
					t.Errorf("no %q span in the saga's trace (%v)", n, names)
				}
			}
		})
	}
}

// TestTraceContextWithTracingOff: without any tracer the trace context is
// still carried from the request through every event of the saga.
func TestTraceContextWithTracingOff(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	c := sagatest.NewClient(s.NC)
	deposit(t, c, "una", 10_000)
	restock(t, c, "bulb", 10)
	msgs := make(chan *nats.Msg, 64)
	sub, err := s.NC.ChanSubscribe("*.events.*.untraced", msgs)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	r := order("una", "bulb", 1, 1_000, "BR")
	r.OrderID = "untraced"
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	if _, err := c.Place(tracing.Context{Parent: "00-" + traceID + "-00f067aa0ba902b7-01"}.Into(context.Background()), r); err != nil {
		t.Fatal(err)
	}
	tl := waitTimeline(t, c, r.OrderID, ended("cancelled"))
	got := map[string]string{}
	natstest.Eventually(t, wait, func() error {
		for len(msgs) > 0 {
			m := <-msgs
			got[m.Header.Get("Nats-Msg-Id")] = tracing.Context{Parent: m.Header.Get("traceparent")}.TraceID()
		}
		if len(got) < len(tl.Events) {
			return fmt.Errorf("seen %d of %d events", len(got), len(tl.Events))
		}
		return nil
	})
	for _, e := range tl.Events {
		if got[e.ID] != traceID {
			t.Errorf("%s carries trace %q, want %s", e.Type, got[e.ID], traceID)
		}
	}
}
