package metrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/metrics"
)

func scrape(t *testing.T, m *metrics.Service) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestServiceExposesWhatItRecords(t *testing.T) {
	t.Parallel()
	m := metrics.New("order")
	m.Request("order.place", 200, 3*time.Millisecond)
	m.Request("order.place", 409, time.Millisecond)
	m.EventHandled("order", "PaymentCompleted", metrics.Applied, time.Millisecond)
	m.EventHandled("order", "PaymentCompleted", metrics.Duplicate, time.Millisecond)
	m.DeliveryLag("order", 20*time.Millisecond)
	m.ConsumerInfo("PAYMENT_EVENTS", "order", 7, 2)
	m.Published("ORDER_EVENTS", 3)
	m.StoreCommit(2*time.Millisecond, 5)
	m.DeadLetters(4)
	m.GaugeFunc("choreo_test_gauge", "test", func() float64 { return 42 })
	out := scrape(t, m)
	for _, want := range []string{
		`choreo_requests_total{code="200",endpoint="order.place",service="order"} 1`,
		`choreo_requests_total{code="409",endpoint="order.place",service="order"} 1`,
		`choreo_request_duration_seconds_count{endpoint="order.place",service="order"} 2`,
		`choreo_events_handled_total{consumer="order",event_type="PaymentCompleted",outcome="applied",service="order"} 1`,
		`choreo_events_handled_total{consumer="order",event_type="PaymentCompleted",outcome="duplicate",service="order"} 1`,
		`choreo_event_handle_duration_seconds_count{consumer="order",event_type="PaymentCompleted",service="order"} 2`,
		`choreo_event_delivery_lag_seconds_count{consumer="order",service="order"} 1`,
		`choreo_consumer_pending{consumer="order",service="order",stream="PAYMENT_EVENTS"} 7`,
		`choreo_consumer_ack_pending{consumer="order",service="order",stream="PAYMENT_EVENTS"} 2`,
		`choreo_events_published_total{service="order",stream="ORDER_EVENTS"} 3`,
		`choreo_store_commit_duration_seconds_count{service="order"} 1`,
		`choreo_store_commit_batch_size_sum{service="order"} 5`,
		`choreo_dead_letters{service="order"} 4`,
		`choreo_test_gauge{service="order"} 42`,
		"go_goroutines ",
		"process_cpu_seconds_total ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
}

func TestNilServiceRecordsNothing(t *testing.T) {
	t.Parallel()
	var m *metrics.Service
	m.Request("x", 200, time.Second)
	m.EventHandled("a", "b", metrics.Applied, time.Second)
	m.DeliveryLag("a", time.Second)
	m.ConsumerInfo("s", "c", 1, 1)
	m.Published("s", 1)
	m.StoreCommit(time.Second, 1)
	m.DeadLetters(1)
	m.GaugeFunc("x", "y", func() float64 { return 0 })
	if m.Registerer() != nil {
		t.Fatal("nil service has a registerer")
	}
}
