package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/health"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/service"
	"github.com/nats-io/nats.go"
)

// get fetches path from the service's HTTP endpoint.
func get(addr, path string) (int, string, error) {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func runObserved(t *testing.T, url string) (ready chan struct{}, addr func() string) {
	t.Helper()
	bound := make(chan string, 1)
	ready, _ = run(t, url, t.TempDir(), func(o *service.Options) {
		o.HTTPAddr = "127.0.0.1:0"
		o.HTTPBound = func(a string) { bound <- a }
		o.ObserveEvery = 50 * time.Millisecond
	})
	var a string
	select {
	case a = <-bound:
	case <-time.After(10 * time.Second):
		t.Fatal("no HTTP endpoint")
	}
	return ready, func() string { return a }
}

// /readyz answers 503, naming the failing check, while NATS is down, and
// 200 once it is back; /healthz answers 200 throughout.
func TestReadyzFollowsNATS(t *testing.T) {
	t.Parallel()
	srv := natstest.RunJetStream(t)
	ready, addr := runObserved(t, srv.URL())
	<-ready
	natstest.Eventually(t, 10*time.Second, func() error { return wantReady(addr(), true) })
	srv.Shutdown()
	natstest.Eventually(t, 10*time.Second, func() error { return wantReady(addr(), false) })
	var rep health.Report
	_, body, _ := get(addr(), "/readyz")
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatalf("readyz body %q: %v", body, err)
	}
	failing := map[string]bool{}
	for _, c := range rep.Checks {
		if !c.OK {
			failing[c.Name] = true
		}
	}
	if !failing["nats"] {
		t.Fatalf("readyz with NATS down does not name the nats check: %s", body)
	}
	if code, _, err := get(addr(), "/healthz"); err != nil || code != 200 {
		t.Fatalf("healthz with NATS down: %d %v", code, err)
	}
	if _, m, _ := get(addr(), "/metrics"); !strings.Contains(m, `choreo_ready{check="nats",service="shop"} 0`) {
		t.Fatalf("metrics do not show the nats check failing:\n%s", grepLines(m, "choreo_ready"))
	}
	srv.Restart(t)
	natstest.Eventually(t, 20*time.Second, func() error { return wantReady(addr(), true) })
}

func wantReady(addr string, ready bool) error {
	code, body, err := get(addr, "/readyz")
	if err != nil {
		return err
	}
	want := 200
	if !ready {
		want = 503
	}
	if code != want {
		return fmt.Errorf("readyz %d, want %d: %s", code, want, body)
	}
	return nil
}

// The metrics move with what the service does: a request, the event it
// appends published, heard back and applied, the commits, and a dead letter.
func TestMetricsMoveWithWork(t *testing.T) {
	t.Parallel()
	srv := natstest.RunJetStream(t)
	ready, addr := runObserved(t, srv.URL())
	<-ready
	nc := srv.Connect(t)
	for i := range 3 {
		if _, err := nc.Request("shop.note", []byte(fmt.Sprintf(`{"id":"n%d","text":"hi"}`, i)), 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Publish("shop.events.Noted.junk", []byte("not an event")); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`choreo_requests_total{code="200",endpoint="shop.note",service="shop"} 3`,
		`choreo_request_duration_seconds_count{endpoint="shop.note",service="shop"} 3`,
		`choreo_events_published_total{service="shop",stream="SHOP_EVENTS"} 3`,
		`choreo_events_handled_total{consumer="shop",event_type="Noted",outcome="applied",service="shop"} 3`,
		`choreo_events_handled_total{consumer="shop",event_type="unknown",outcome="dead_lettered",service="shop"} 1`,
		`choreo_dead_letters{service="shop"} 1`,
		`choreo_outbox_entries{service="shop"} 0`,
		`choreo_outbox_oldest_age_seconds{service="shop"} 0`,
		`choreo_ready{check="nats",service="shop"} 1`,
		`choreo_ready{check="outbox",service="shop"} 1`,
		`choreo_store_commit_batch_size_count{service="shop"}`,
		`choreo_store_commit_duration_seconds_bucket{service="shop",le="+Inf"}`,
		`process_resident_memory_bytes `,
		`go_goroutines `,
	}
	natstest.Eventually(t, 15*time.Second, func() error {
		_, m, err := get(addr(), "/metrics")
		if err != nil {
			return err
		}
		for _, w := range want {
			if !strings.Contains(m, w) {
				return fmt.Errorf("metrics lack %s:\n%s", w, grepLines(m, "choreo_"))
			}
		}
		return nil
	})
}

// A service whose HTTP address is taken does not start: it says so.
func TestHTTPAddressInUse(t *testing.T) {
	t.Parallel()
	srv := natstest.RunJetStream(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = service.Run(context.Background(), spec(), service.Options{NATSURL: srv.URL(), DataDir: t.TempDir(), HTTPAddr: ln.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), "CHOREO_HTTP_ADDR") {
		t.Fatalf("Run with a taken HTTP address: %v", err)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

var _ = nats.DefaultURL
