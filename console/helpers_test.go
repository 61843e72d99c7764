package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/console"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/nats-io/nats.go"
)

// wait bounds how long a test waits for the stack or the page to settle;
// generous for -race on a small machine, and a passing check returns at
// once.
const wait = 30 * time.Second

// world is a running stack — embedded NATS on file storage, the four
// services in process, each with its HTTP endpoint — and a console on it.
type world struct {
	t     testing.TB
	s     *sagatest.Stack
	c     *sagatest.Client
	url   string // the console's base URL
	token string // the page's token
}

// start runs the stack and a console reading it, both stopped in
// t.Cleanup; tune changes the console's configuration.
func start(t testing.TB, opts sagatest.Options, tune ...func(*console.Config)) *world {
	t.Helper()
	opts.HTTP = true
	if opts.StuckAfter == 0 {
		opts.StuckAfter = 2 * time.Second
	}
	s := sagatest.Start(t, opts)
	var svcs []console.Endpoint
	for _, name := range sagatest.Services {
		svcs = append(svcs, console.Endpoint{Name: name, HTTPAddr: s.HTTPAddr(name)})
	}
	nc := s.NATS.Connect(t, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	cfg := console.Config{Addr: "127.0.0.1:0", Services: svcs, StuckAfter: opts.StuckAfter,
		Every: 250 * time.Millisecond, Timeout: 5 * time.Second}
	for _, f := range tune {
		f(&cfg)
	}
	srv, err := console.New(cfg, nc)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("console: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("the console did not stop")
		}
	})
	w := &world{t: t, s: s, c: sagatest.NewClient(s.NC), url: "http://" + ln.Addr().String()}
	page := w.get("/", 200)
	m := regexp.MustCompile(`<meta name="choreo-token" content="([^"]+)">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no token in the page:\n%s", page)
	}
	w.token = m[1]
	return w
}

// do sends a request to the console and returns its status and body.
func (w *world) do(req *http.Request) (int, string) {
	w.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// get fetches path and checks its status.
func (w *world) get(path string, code int) string {
	w.t.Helper()
	req, err := http.NewRequest(http.MethodGet, w.url+path, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	got, body := w.do(req)
	if got != code {
		w.t.Fatalf("GET %s: %d, want %d\n%s", path, got, code, body)
	}
	return body
}

// api fetches path and decodes its JSON into v.
func (w *world) api(path string, v any) {
	w.t.Helper()
	body := w.get(path, 200)
	if err := json.Unmarshal([]byte(body), v); err != nil {
		w.t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
}

// post sends an action as the page does: with the token, from the
// console's own origin.
func (w *world) post(path string, headers map[string]string) (int, string) {
	w.t.Helper()
	req, err := http.NewRequest(http.MethodPost, w.url+path, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return w.do(req)
}

// fund gives customers money and SKUs stock.
func (w *world) fund(cents map[string]int64, stock map[string]int64) {
	w.t.Helper()
	for cust, n := range cents {
		if _, err := w.c.Deposit(w.t.Context(), cust, n); err != nil {
			w.t.Fatal(err)
		}
	}
	for sku, n := range stock {
		if _, err := w.c.Restock(w.t.Context(), sku, n); err != nil {
			w.t.Fatal(err)
		}
	}
}

// place places a one-line order of qty × sku to country cc.
func (w *world) place(id, customer, sku string, qty int64, cc string) client.OrderView {
	w.t.Helper()
	v, err := w.c.Place(w.t.Context(), client.PlaceRequest{OrderID: id, CustomerID: customer, ShippingAddress: sagatest.Addr(cc),
		Items: []client.Item{{SKU: sku, Quantity: qty, UnitPriceCents: 500}}})
	if err != nil {
		w.t.Fatalf("place %s: %v", id, err)
	}
	return v
}

// over waits until the order's saga is over (completed, or cancelled with
// every compensation recorded) and returns its timeline.
func (w *world) over(id string) client.Timeline {
	w.t.Helper()
	var tl client.Timeline
	natstest.Eventually(w.t, wait, func() error {
		var err error
		tl, err = w.c.Timeline(w.t.Context(), id)
		if err != nil {
			return err
		}
		if tl.WaitingOn != nil || (tl.Status != "completed" && tl.Status != "cancelled") {
			return fmt.Errorf("%s: %s, waiting on %v", id, tl.Status, tl.WaitingOn)
		}
		return nil
	})
	return tl
}

func contains(t testing.TB, what, got string, want ...string) {
	t.Helper()
	for _, s := range want {
		if !strings.Contains(got, s) {
			t.Errorf("%s: no %q in\n%s", what, s, got)
		}
	}
}
