package consumer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/consumer"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/metrics"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/tracing"
	"github.com/nats-io/nats.go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Each delivery is counted by outcome and continues the event's trace: the
// handler's transaction appends in the handling span's trace.
func TestDeliveriesAreCountedAndTraced(t *testing.T) {
	t.Parallel()
	m := metrics.New("payment")
	exp := tracetest.NewInMemoryExporter()
	var mu sync.Mutex
	appendedIn := map[string]string{} // event id -> trace id of the handler's transaction
	var f *fixture
	f = newFixtureWith(t, func(c *consumer.Config) {
		c.Metrics = m
		c.Tracer = tracing.New(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))
		c.Heal = 50 * time.Millisecond
		c.Handler = func(ctx context.Context, tx *eventstore.Tx, env envelope.Envelope, ev envelope.Event) error {
			mu.Lock()
			appendedIn[env.ID] = tx.Trace().TraceID()
			mu.Unlock()
			return f.handle(ctx, tx, env, ev)
		}
	})
	const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	data, _ := json.Marshal(pinged{OrderID: "traced", Seq: 1})
	env := envelope.Envelope{ID: envelope.NewID(), Type: "Pinged", SchemaVersion: 1, AggregateType: "order",
		AggregateID: "traced", Version: 1, OccurredAt: time.Now().UTC(), CorrelationID: "traced", Data: data}
	body, _ := json.Marshal(env)
	msg := nats.NewMsg("order.events.Pinged.traced")
	msg.Data = body
	msg.Header.Set("traceparent", parent)
	if _, err := f.js.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	publishEnv(t, f.js, env, "again")                                 // a duplicate
	publish(t, f.js, pinged{OrderID: "flaky", Seq: 1, Fail: 2}, "")   // retried, then applied
	publish(t, f.js, pinged{OrderID: "poison", Seq: 1, Fail: -1}, "") // dead-lettered at once
	publishRaw(t, f.js, "order.events.Pinged.junk", []byte("{"), "")  // undecodable: dead-lettered
	want := []string{
		`choreo_events_handled_total{consumer="payment",event_type="Pinged",outcome="applied",service="payment"} 2`,
		`choreo_events_handled_total{consumer="payment",event_type="Pinged",outcome="duplicate",service="payment"} 1`,
		// A group commit may run a failing handler twice in one delivery:
		// "flaky" fails once or twice.
		`choreo_events_handled_total{consumer="payment",event_type="Pinged",outcome="retried",service="payment"} `,
		`choreo_events_handled_total{consumer="payment",event_type="Pinged",outcome="dead_lettered",service="payment"} 1`,
		`choreo_events_handled_total{consumer="payment",event_type="unknown",outcome="dead_lettered",service="payment"} 1`,
		`choreo_event_handle_duration_seconds_count{consumer="payment",event_type="Pinged",service="payment"} `,
		`choreo_event_delivery_lag_seconds_count{consumer="payment",service="payment"} 2`,
		`choreo_consumer_pending{consumer="payment",service="payment",stream="ORDER_EVENTS"} 0`,
		`choreo_consumer_ack_pending{consumer="payment",service="payment",stream="ORDER_EVENTS"} 0`,
	}
	natstest.Eventually(t, 10*time.Second, func() error {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		for _, w := range want {
			if !strings.Contains(rec.Body.String(), w) {
				return fmt.Errorf("metrics lack %s\n%s", w, grep(rec.Body.String(), "choreo_events_handled"))
			}
		}
		return nil
	})
	mu.Lock()
	got := appendedIn[env.ID]
	mu.Unlock()
	if got != parent[3:35] {
		t.Fatalf("the handler appended in trace %q, want the event's %q", got, parent[3:35])
	}
	for _, sp := range exp.GetSpans() {
		if sp.Name == "handle Pinged" && sp.SpanContext.TraceID().String() == parent[3:35] && sp.Parent.SpanID().String() == parent[36:52] {
			return
		}
	}
	t.Fatalf("no handle span continues %s: %+v", parent, exp.GetSpans())
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
