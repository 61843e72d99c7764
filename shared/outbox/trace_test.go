package outbox_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/metrics"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/outbox"
	"github.com/choreo-dev/choreo/shared/tracing"
	"github.com/nats-io/nats.go/jetstream"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Every published event carries the trace context it was appended in, on
// both paths: as it is with tracing off, through a publish span (a child of
// it) with tracing on.
func TestRelaySendsTraceContext(t *testing.T) {
	for _, traced := range []bool{false, true} {
		t.Run(fmt.Sprintf("tracing=%v", traced), func(t *testing.T) {
			modes(t, func(t *testing.T, atomic bool) { testTraceContext(t, atomic, traced) })
		})
	}
}

func testTraceContext(t *testing.T, atomic, traced bool) {
	_, js, st := setup(t)
	const n = 12
	parents := map[string]string{} // event id -> traceparent appended in
	for i := range n {
		tc := tracing.Context{Parent: fmt.Sprintf("00-%032x-%016x-01", i+1, i+100)}
		err := st.Update(tc.Into(context.Background()), func(tx *eventstore.Tx) error {
			envs, err := tx.Append("thing", fmt.Sprint(i), 0, eventstore.Meta{}, happened{N: i})
			if err == nil {
				parents[envs[0].ID] = tc.Parent
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	exp := tracetest.NewInMemoryExporter()
	var tr *tracing.Tracer
	if traced {
		tr = tracing.New(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))
	}
	m := metrics.New("test")
	r := &outbox.Relay{Store: st, JS: js, Stream: "TEST_EVENTS", Atomic: atomic, Tracer: tr, Metrics: m}
	natstest.Eventually(t, 10*time.Second, func() error {
		if _, err := r.Flush(context.Background()); err != nil {
			return err
		}
		if k, _ := st.OutboxLen(context.Background()); k != 0 {
			return fmt.Errorf("outbox has %d", k)
		}
		return nil
	})
	s, _ := js.Stream(context.Background(), "TEST_EVENTS")
	spans := map[string]sdktrace.ReadOnlySpan{}
	for _, sp := range exp.GetSpans().Snapshots() {
		spans[sp.SpanContext().SpanID().String()] = sp
	}
	for seq := uint64(1); seq <= n; seq++ {
		msg, err := s.GetMsg(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		id := msg.Header.Get(jetstream.MsgIDHeader)
		want, got := parents[id], msg.Header.Get("traceparent")
		if !traced {
			if got != want {
				t.Errorf("event %s: traceparent %q, want %q", id, got, want)
			}
			continue
		}
		if got[:36] != want[:36] {
			t.Errorf("event %s: traceparent %q is not in the trace of %q", id, got, want)
			continue
		}
		sp, ok := spans[got[36:52]]
		if !ok || sp.Name() != "outbox.publish" || sp.Parent().SpanID().String() != want[36:52] {
			t.Errorf("event %s: no publish span %s that is a child of %s (%v)", id, got[36:52], want[36:52], ok)
		}
	}
	var out strings.Builder
	scrape(t, m, &out)
	if want := fmt.Sprintf(`choreo_events_published_total{service="test",stream="TEST_EVENTS"} %d`, n); !strings.Contains(out.String(), want) {
		t.Errorf("metrics lack %s", want)
	}
}

func scrape(t *testing.T, m *metrics.Service, w *strings.Builder) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	w.WriteString(rec.Body.String())
}
