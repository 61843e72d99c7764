package endpoint_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/rs/zerolog"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/choreo-dev/choreo/shared/endpoint"
	"github.com/choreo-dev/choreo/shared/metrics"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/syncbuf"
	"github.com/choreo-dev/choreo/shared/tracing"
)

type slowRequest struct {
	Fail bool `json:"fail"`
}

func (slowRequest) Validate() error { return nil }

const slowFor = 30 * time.Millisecond

func slowHandler(_ context.Context, r *slowRequest) (any, error) {
	time.Sleep(slowFor)
	if r.Fail {
		return nil, endpoint.Conflict("it failed")
	}
	return nil, nil
}

// `nats micro stats` counts error replies as errors and shows the time the
// handler really took (micro's own statistics would show the hand-off to a
// worker and no errors); the metrics say the same.
func TestStatsCountErrorRepliesAndRealTime(t *testing.T) {
	t.Parallel()
	nc := connect(t)
	m := metrics.New("test")
	start(t, nc, endpoint.Config{Metrics: m}, endpoint.New("test.slow", slowHandler))
	request(t, nc, "test.slow", []byte(`{}`))
	request(t, nc, "test.slow", []byte(`{"fail":true}`))
	request(t, nc, "test.slow", []byte(`{"fail":1}`))

	var stats micro.Stats
	if err := json.Unmarshal(request(t, nc, "$SRV.STATS.test", nil).Data, &stats); err != nil {
		t.Fatal(err)
	}
	if len(stats.Endpoints) != 1 {
		t.Fatalf("stats %+v", stats)
	}
	e := stats.Endpoints[0]
	if e.NumRequests != 3 || e.NumErrors != 2 || !strings.HasPrefix(e.LastError, "400:") {
		t.Fatalf("stats %+v: want 3 requests, 2 errors, the last a 400", e)
	}
	if e.ProcessingTime < 2*slowFor || e.AverageProcessingTime < slowFor/2 {
		t.Fatalf("processing time %s (average %s) is not the handler's: it sleeps %s", e.ProcessingTime, e.AverageProcessingTime, slowFor)
	}
	var ping micro.Ping
	if err := json.Unmarshal(request(t, nc, "$SRV.PING.test", nil).Data, &ping); err != nil || ping.Type != micro.PingResponseType || ping.ID != stats.ID {
		t.Fatalf("ping %+v %v", ping, err)
	}

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	out := rec.Body.String()
	for _, want := range []string{
		`choreo_requests_total{code="200",endpoint="test.slow",service="test"} 1`,
		`choreo_requests_total{code="409",endpoint="test.slow",service="test"} 1`,
		`choreo_requests_total{code="400",endpoint="test.slow",service="test"} 1`,
		`choreo_request_duration_seconds_bucket{endpoint="test.slow",service="test",le="0.01"} 1`, // the 400: no sleep
		`choreo_request_duration_seconds_count{endpoint="test.slow",service="test"} 3`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// A request carrying traceparent continues its trace; one without starts
// one. Failure logs carry the trace id.
func TestRequestSpansContinueTraceparent(t *testing.T) {
	t.Parallel()
	nc := connect(t)
	exp := tracetest.NewInMemoryExporter()
	logs := &syncbuf.Buffer{}
	start(t, nc, endpoint.Config{Tracer: tracing.New(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))),
		Logger: zerolog.New(logs).Level(zerolog.DebugLevel)},
		endpoint.New("test.slow", slowHandler))
	const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	msg := nats.NewMsg("test.slow")
	msg.Data = []byte(`{"fail":true}`)
	msg.Header.Set("traceparent", parent)
	if _, err := nc.RequestMsg(msg, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	request(t, nc, "test.slow", []byte(`{}`))
	// A span ends just after its reply is sent: wait for both.
	natstest.Eventually(t, 5*time.Second, func() error {
		if n := len(exp.GetSpans()); n < 2 {
			return fmt.Errorf("%d spans ended", n)
		}
		return nil
	})
	var continued, root bool
	for _, sp := range exp.GetSpans() {
		if sp.Name != "test.slow" {
			continue
		}
		switch {
		case sp.SpanContext.TraceID().String() == parent[3:35] && sp.Parent.SpanID().String() == parent[36:52] && sp.Parent.IsRemote():
			continued = true
		case !sp.Parent.IsValid():
			root = true
		}
	}
	if !continued || !root {
		t.Fatalf("continued %v, root %v: spans %+v", continued, root, exp.GetSpans())
	}
	if !strings.Contains(logs.String(), `"trace_id":"`+parent[3:35]+`"`) {
		t.Fatalf("the rejection's log line lacks the trace id:\n%s", logs)
	}
}
