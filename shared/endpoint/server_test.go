package endpoint_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/rs/zerolog"

	"github.com/choreo-dev/choreo/shared/endpoint"
	"github.com/choreo-dev/choreo/shared/syncbuf"
)

// connect starts an embedded NATS server and connects to it.
func connect(t *testing.T) *nats.Conn {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatalf("nats-server: %v", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(ns.Shutdown)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// start starts a Server with the endpoints and stops it when the test ends.
func start(t *testing.T, nc *nats.Conn, cfg endpoint.Config, endpoints ...endpoint.Endpoint) *endpoint.Server {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "test"
	}
	srv, err := endpoint.Start(nc, cfg, endpoints...)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return srv
}

// waitFor polls cond until it holds or 10 seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type view struct {
	OrderID    string `json:"order_id"`
	CustomerID string `json:"customer_id"`
	Status     string `json:"status"`
}

func place(_ context.Context, r *placeOrder) (any, error) {
	switch r.CustomerID {
	case "missing":
		return nil, endpoint.NotFound("customer %s not found", r.CustomerID)
	case "taken":
		return nil, fmt.Errorf("place %s: %w", r.OrderID, endpoint.Conflict("order %s exists with other content", r.OrderID))
	case "broken":
		return nil, errors.New("bbolt: disk on fire")
	case "panic":
		panic("handler bug")
	case "nil":
		return nil, nil
	case "unmarshalable":
		return badJSON{fail: true}, nil
	case "marshal-panic":
		return badJSON{}, nil
	case "huge":
		return view{OrderID: r.OrderID, CustomerID: strings.Repeat("x", 2<<20)}, nil // over the 1 MiB max payload
	}
	return view{OrderID: r.OrderID, CustomerID: r.CustomerID, Status: "pending"}, nil
}

// badJSON fails to marshal, with an error or a panic.
type badJSON struct{ fail bool }

func (b badJSON) MarshalJSON() ([]byte, error) {
	if b.fail {
		return nil, errors.New("cannot marshal")
	}
	panic("marshal bug")
}

func orderBody(orderID, customerID string) []byte {
	return []byte(`{"order_id":"` + orderID + `","customer_id":"` + customerID + `","items":[{"sku":"a","quantity":1}],"shipping_address":{"name":"Ann","country":"US"}}`)
}

func request(t *testing.T, nc *nats.Conn, subject string, body []byte) *nats.Msg {
	t.Helper()
	msg, err := nc.Request(subject, body, 10*time.Second)
	if err != nil {
		t.Fatalf("request %s: %v", subject, err)
	}
	return msg
}

func TestServerReplies(t *testing.T) {
	t.Parallel()
	nc := connect(t)
	logs := &syncbuf.Buffer{}
	start(t, nc, endpoint.Config{Logger: zerolog.New(logs).Level(zerolog.DebugLevel)}, endpoint.New("test.place", place))

	msg := request(t, nc, "test.place", orderBody("o1", "c1"))
	if msg.Header.Get(micro.ErrorCodeHeader) != "" {
		t.Fatalf("success reply has error headers %v", msg.Header)
	}
	var v view
	if err := json.Unmarshal(msg.Data, &v); err != nil || v != (view{OrderID: "o1", CustomerID: "c1", Status: "pending"}) {
		t.Fatalf("reply %s (%v)", msg.Data, err)
	}

	if msg := request(t, nc, "test.place", orderBody("o1", "nil")); string(msg.Data) != "{}" {
		t.Fatalf("nil reply is %q, want {}", msg.Data)
	}

	big := append(orderBody("o1", "c1"), bytes.Repeat([]byte(" "), 70000)...)
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
		code   string
		msg    string
	}{
		{"malformed", []byte(`{"customer_id":`), 400, "invalid_argument", "malformed JSON at byte 15: unexpected end of JSON input"},
		{"unknown field", []byte(`{"customer_id":"c1","foo":1}`), 400, "invalid_argument", "foo: unknown field"},
		{"wrong type", []byte(`{"items":[{"quantity":"1"}]}`), 400, "invalid_argument", "items[0].quantity must be an integer"},
		{"missing field", []byte(`{"customer_id":"c1","items":[{"sku":"a","quantity":1}]}`), 400, "invalid_argument", "shipping_address is required"},
		{"invalid UTF-8", []byte("{\"shipping_address\":{\"name\":\"\xff\"}}"), 400, "invalid_argument", "shipping_address.name must be valid UTF-8"},
		{"too large", append(orderBody("o1", "c1"), bytes.Repeat([]byte(" "), endpoint.MaxBodySize+1-len(orderBody("o1", "c1")))...), 413, "too_large", "request body is 65537 bytes, limit is 65536"},
		{"much too large", big, 413, "too_large", fmt.Sprintf("request body is %d bytes, limit is 65536", len(big))},
		{"huge number", []byte(`{"items":[{"quantity":1e99999}]}`), 400, "invalid_argument", "items[0].quantity is out of range"},
		{"huge integer", []byte(`{"items":[{"quantity":123456789012345678901234567890}]}`), 400, "invalid_argument", "items[0].quantity is out of range"},
		{"not an object", []byte(`["o1"]`), 400, "invalid_argument", "request body must be a JSON object"},
		{"not found", orderBody("o6", "missing"), 404, "not_found", "customer missing not found"},
		{"conflict", orderBody("o2", "taken"), 409, "conflict", "order o2 exists with other content"},
		{"internal", orderBody("o3", "broken"), 500, "internal", "internal error"},
		{"panic", orderBody("o4", "panic"), 500, "internal", "internal error"},
		{"reply not marshalable", orderBody("o7", "unmarshalable"), 500, "internal", "internal error"},
		{"reply marshal panics", orderBody("o8", "marshal-panic"), 500, "internal", "internal error"},
		{"reply too large to send", orderBody("o9", "huge"), 500, "internal", "internal error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := request(t, nc, "test.place", tc.body)
			if got := msg.Header.Get(micro.ErrorCodeHeader); got != fmt.Sprint(tc.status) {
				t.Errorf("%s = %q, want %d", micro.ErrorCodeHeader, got, tc.status)
			}
			if got := msg.Header.Get(micro.ErrorHeader); got != tc.msg {
				t.Errorf("%s = %q, want %q", micro.ErrorHeader, got, tc.msg)
			}
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(msg.Data, &body); err != nil || body.Error.Code != tc.code || body.Error.Message != tc.msg {
				t.Errorf("body %s, want code %q message %q", msg.Data, tc.code, tc.msg)
			}
		})
	}

	// Still serving after the panic.
	request(t, nc, "test.place", orderBody("o5", "c1"))

	logged := logs.String()
	for _, want := range []string{
		`"error":"bbolt: disk on fire"`, `"order_id":"o3"`, `"subject":"test.place"`, `"code":"internal"`,
		`"panic":"handler bug"`, `"stack":"goroutine`, `"order_id":"o4"`,
		`"order_id":"o7","correlation_id":"o7","trace_id":"`, `"error":"marshal reply: json: error calling MarshalJSON for type endpoint_test.badJSON: cannot marshal"`,
		`"order_id":"o8","correlation_id":"o8","trace_id":"`, `"error":"panic: marshal bug"`,
		`"order_id":"o9","correlation_id":"o9","trace_id":"`, `"error":"reply of 2097198 bytes is larger than the server's max payload: NATS error when sending response: nats: maximum payload exceeded"`,
		`"level":"debug","subject":"test.place","order_id":"o2","correlation_id":"o2","trace_id":"`, `"code":"conflict","status":409`,
	} {
		if !strings.Contains(logged, want) {
			t.Errorf("log lacks %s:\n%s", want, logged)
		}
	}
	if n := strings.Count(logged, `"order_id":"o3"`); n != 1 {
		t.Errorf("the internal error is logged %d times, want once", n)
	}
	if strings.Contains(logged, `"order_id":"o1"`) || strings.Contains(logged, `"order_id":"o5"`) {
		t.Errorf("a success was logged:\n%s", logged)
	}
}

func TestServerRunsHandlersConcurrently(t *testing.T) {
	t.Parallel()
	nc := connect(t)
	var inFlight, peak atomic.Int64
	release := make(chan struct{})
	slow := func(ctx context.Context, _ *struct{}) (any, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		select {
		case <-release:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	start(t, nc, endpoint.Config{Concurrency: 5}, endpoint.New("test.slow", slow))

	const requests = 20
	var wg sync.WaitGroup
	errs := make(chan error, requests)
	for range requests {
		wg.Go(func() {
			_, err := nc.Request("test.slow", nil, 10*time.Second)
			errs <- err
		})
	}
	// A serial server would never have two handlers running, and the
	// requests would time out: the handlers only return once five run.
	waitFor(t, "5 handlers in flight", func() bool { return inFlight.Load() == 5 })
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("request: %v", err)
		}
	}
	if p := peak.Load(); p != 5 {
		t.Fatalf("peak concurrency %d, want Config.Concurrency = 5", p)
	}
}

func TestServerStopWaitsForInFlight(t *testing.T) {
	t.Parallel()
	nc := connect(t)
	started := make(chan struct{})
	release := make(chan struct{})
	var finished atomic.Bool
	slow := func(context.Context, *struct{}) (any, error) {
		close(started)
		<-release
		finished.Store(true)
		return map[string]string{"status": "done"}, nil
	}
	srv, err := endpoint.Start(nc, endpoint.Config{Name: "test"}, endpoint.New("test.slow", slow))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}

	replies := make(chan *nats.Msg, 1)
	go func() {
		msg, err := nc.Request("test.slow", nil, 10*time.Second)
		if err != nil {
			t.Errorf("request: %v", err)
		}
		replies <- msg
	}()
	<-started

	stopped := make(chan bool)
	go func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
		stopped <- finished.Load()
	}()
	waitFor(t, "the service to stop accepting", srv.Stopped)
	close(release)
	if !<-stopped {
		t.Fatal("Stop returned before the in-flight handler finished")
	}
	if msg := <-replies; msg == nil || string(msg.Data) != `{"status":"done"}` {
		t.Fatalf("in-flight request got %v", msg)
	}
	if _, err := nc.Request("test.slow", nil, time.Second); !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("request after Stop: %v, want no responders", err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestServerMicroDiscovery(t *testing.T) {
	t.Parallel()
	nc := connect(t)
	start(t, nc, endpoint.Config{Name: "test", Version: "2.1.0", Description: "test service"},
		endpoint.New("test.place", place),
		endpoint.New("test.get", place, endpoint.WithName("fetch")),
	)
	request(t, nc, "test.place", []byte(`{}`))

	var info micro.Info
	if err := json.Unmarshal(request(t, nc, "$SRV.INFO.test", nil).Data, &info); err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, e := range info.Endpoints {
		names[e.Name] = e.Subject
	}
	if info.Version != "2.1.0" || info.Description != "test service" || names["place"] != "test.place" || names["fetch"] != "test.get" {
		t.Fatalf("info %+v", info)
	}

	var stats micro.Stats
	if err := json.Unmarshal(request(t, nc, "$SRV.STATS.test", nil).Data, &stats); err != nil {
		t.Fatal(err)
	}
	for _, e := range stats.Endpoints {
		if e.Name != "place" {
			continue
		}
		// The error reply (400) counts as an error, as `nats micro stats` shows it.
		if e.NumRequests != 1 || e.NumErrors != 1 || !strings.HasPrefix(e.LastError, "400:") || e.QueueGroup != "q" {
			t.Fatalf("stats %+v", e)
		}
		return
	}
	t.Fatalf("no stats for place: %+v", stats)
}

func TestServerRawHandler(t *testing.T) {
	t.Parallel()
	nc := connect(t)
	start(t, nc, endpoint.Config{},
		endpoint.Endpoint{Name: "echo", Subject: "test.echo", Handler: micro.HandlerFunc(func(r micro.Request) {
			if string(r.Data()) == "panic" {
				panic("raw bug")
			}
			_ = r.Respond(r.Data())
		})},
	)
	if msg := request(t, nc, "test.echo", []byte("hi")); string(msg.Data) != "hi" {
		t.Fatalf("echo %q", msg.Data)
	}
	if msg := request(t, nc, "test.echo", []byte("panic")); msg.Header.Get(micro.ErrorCodeHeader) != "500" {
		t.Fatalf("panic reply %v %q, want a 500", msg.Header, msg.Data)
	}
	if msg := request(t, nc, "test.echo", []byte("again")); string(msg.Data) != "again" {
		t.Fatalf("echo %q", msg.Data)
	}
}

func TestEndpointHandlerStandalone(t *testing.T) {
	t.Parallel()
	nc := connect(t)
	e := endpoint.New("test.place", place)
	svc, err := micro.AddService(nc, micro.Config{Name: "standalone", Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop() })
	if err := svc.AddEndpoint(e.Name, e.Handler, micro.WithEndpointSubject(e.Subject)); err != nil {
		t.Fatal(err)
	}
	if msg := request(t, nc, "test.place", []byte(`{"bad":1}`)); msg.Header.Get(micro.ErrorHeader) != "bad: unknown field" {
		t.Fatalf("reply %v %q", msg.Header, msg.Data)
	}
}

func TestStartRejectsBadConfig(t *testing.T) {
	t.Parallel()
	nc := connect(t)
	e := endpoint.New("test.place", place)
	for name, tc := range map[string]struct {
		cfg       endpoint.Config
		endpoints []endpoint.Endpoint
	}{
		"bad name":       {endpoint.Config{Name: "a b"}, []endpoint.Endpoint{e}},
		"negative":       {endpoint.Config{Name: "x", Concurrency: -1}, []endpoint.Endpoint{e}},
		"bad version":    {endpoint.Config{Name: "x", Version: "one"}, []endpoint.Endpoint{e}},
		"duplicate":      {endpoint.Config{Name: "x"}, []endpoint.Endpoint{e, e}},
		"no handler":     {endpoint.Config{Name: "x"}, []endpoint.Endpoint{{Name: "a", Subject: "a"}}},
		"bad name token": {endpoint.Config{Name: "x"}, []endpoint.Endpoint{endpoint.New("test.*", place)}},
	} {
		if srv, err := endpoint.Start(nc, tc.cfg, tc.endpoints...); err == nil {
			_ = srv.Stop()
			t.Errorf("%s: Start accepted it", name)
		}
	}
}
