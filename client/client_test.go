package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/natstest"
)

// echo answers every request on subject with reply, and hands the
// request's body to got, until the returned function is called.
func echo(t *testing.T, nc *nats.Conn, subject, reply string, got chan<- string) (stop func()) {
	t.Helper()
	sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
		got <- string(m.Data)
		_ = m.Respond([]byte(reply))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return func() { _ = sub.Unsubscribe() }
}

// TestRequests checks what each method sends and what it makes of the reply.
func TestRequests(t *testing.T) {
	t.Parallel()
	nc := natstest.RunJetStream(t).Connect(t)
	c := client.New(nc)
	ctx := t.Context()
	order := `{"order_id":"o1","customer_id":"ada","items":[{"sku":"w","quantity":2,"unit_price_cents":150}],"total_cents":300,` +
		`"currency":"USD","shipping_address":{"name":"A","line1":"L","city":"C","postal_code":"P","country":"GB"},"status":"cancelled",` +
		`"cancel_reason":"customer_request","steps":{"payment":"refunded","inventory":"pending","shipping":"pending"},"version":3,` +
		`"created_at":"2025-01-02T03:04:05.5Z","updated_at":"2025-01-02T03:04:06Z"}`
	for _, tc := range []struct {
		subject, want, reply string
		call                 func() (any, error)
	}{
		{"order.place", `{"order_id":"o1","customer_id":"ada","items":[{"sku":"w","quantity":2,"unit_price_cents":150}],"shipping_address":{"name":"A","line1":"L","city":"C","postal_code":"P","country":"GB"}}`, order,
			func() (any, error) {
				return c.Place(ctx, client.PlaceRequest{OrderID: "o1", CustomerID: "ada", Items: []client.Item{{SKU: "w", Quantity: 2, UnitPriceCents: 150}},
					ShippingAddress: client.Address{Name: "A", Line1: "L", City: "C", PostalCode: "P", Country: "GB"}})
			}},
		{"order.place", `{"customer_id":"ada","items":null,"currency":"EUR","shipping_address":{"name":"","line1":"","city":"","postal_code":"","country":""}}`, order,
			func() (any, error) { return c.Place(ctx, client.PlaceRequest{CustomerID: "ada", Currency: "EUR"}) }},
		{"order.cancel", `{"order_id":"o1"}`, order, func() (any, error) { return c.Cancel(ctx, "o1", "") }},
		{"order.cancel", `{"order_id":"o1","reason":"late"}`, order, func() (any, error) { return c.Cancel(ctx, "o1", "late") }},
		{"order.get", `{"order_id":"o1"}`, order, func() (any, error) { return c.Get(ctx, "o1") }},
		{"order.list", `{}`, `{"orders":[` + order + `]}`, func() (any, error) { return c.List(ctx, client.ListRequest{}) }},
		{"order.list", `{"customer_id":"ada","status":"paid","limit":7}`, `{"orders":[]}`,
			func() (any, error) {
				return c.List(ctx, client.ListRequest{CustomerID: "ada", Status: "paid", Limit: 7})
			}},
		{"order.history", `{"order_id":"o1"}`, `{"events":[{"id":"e1","type":"OrderPlaced","schema_version":1,"aggregate_type":"order","aggregate_id":"o1","version":1,` +
			`"occurred_at":"2025-01-02T03:04:05Z","correlation_id":"o1","causation_id":"c1","data":{"order_id":"o1"}}]}`,
			func() (any, error) { return c.History(ctx, "o1") }},
		{"payment.deposit", `{"customer_id":"ada","amount_cents":-5}`, `{"customer_id":"ada","balance_cents":10}`,
			func() (any, error) { return c.Deposit(ctx, "ada", -5) }},
		{"payment.balance", `{"customer_id":"ada"}`, `{"customer_id":"ada","balance_cents":10}`, func() (any, error) { return c.Balance(ctx, "ada") }},
		{"payment.get", `{"order_id":"o1"}`, `{"order_id":"o1","payment_id":"p1","customer_id":"ada","amount_cents":300,"status":"charged"}`,
			func() (any, error) { return c.Payment(ctx, "o1") }},
		{"inventory.restock", `{"sku":"w","quantity":3}`, `{"sku":"w","available":3,"reserved":0}`, func() (any, error) { return c.Restock(ctx, "w", 3) }},
		{"inventory.get", `{"sku":"w"}`, `{"sku":"w","available":3,"reserved":0}`, func() (any, error) { return c.Stock(ctx, "w") }},
		{"shipping.get", `{"order_id":"o1"}`, `{"order_id":"o1","shipment_id":"s1","status":"scheduled","carrier":"ACME","tracking_number":"T1"}`,
			func() (any, error) { return c.Shipment(ctx, "o1") }},
	} {
		got := make(chan string, 1)
		stop := echo(t, nc, tc.subject, tc.reply, got)
		v, err := tc.call()
		stop()
		if err != nil {
			t.Fatalf("%s: %v", tc.subject, err)
		}
		if body := <-got; body != tc.want {
			t.Errorf("%s sent\n%s\nwant\n%s", tc.subject, body, tc.want)
		}
		// The reply decodes into the view, which encodes back to the same
		// JSON: the views have the contract's fields in the contract's
		// order.
		back, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		want := tc.reply
		switch tc.subject {
		case "order.list":
			want = strings.TrimSuffix(strings.TrimPrefix(want, `{"orders":`), "}")
		case "order.history":
			want = strings.TrimSuffix(strings.TrimPrefix(want, `{"events":`), "}")
		}
		if string(back) != want {
			t.Errorf("%s: reply\n%s\nre-encoded as\n%s", tc.subject, want, back)
		}
	}
}

// TestErrorReplies checks that an error reply is an *Error that matches its
// sentinel, with or without the contract's body.
func TestErrorReplies(t *testing.T) {
	t.Parallel()
	nc := natstest.RunJetStream(t).Connect(t)
	c := client.New(nc)
	sentinels := map[string]error{
		client.CodeInvalidArgument: client.ErrInvalidArgument, client.CodeNotFound: client.ErrNotFound,
		client.CodeConflict: client.ErrConflict, client.CodeTooLarge: client.ErrTooLarge, client.CodeInternal: client.ErrInternal,
	}
	for _, tc := range []struct {
		status int
		code   string
		body   bool
	}{
		{400, client.CodeInvalidArgument, true}, {404, client.CodeNotFound, true}, {409, client.CodeConflict, true},
		{413, client.CodeTooLarge, true}, {500, client.CodeInternal, true},
		{400, client.CodeInvalidArgument, false}, {404, client.CodeNotFound, false}, {409, client.CodeConflict, false},
		{413, client.CodeTooLarge, false}, {500, client.CodeInternal, false}, {503, client.CodeInternal, false},
	} {
		subject := fmt.Sprintf("test.%d.%v", tc.status, tc.body)
		msg := fmt.Sprintf("field x is wrong (%d)", tc.status)
		sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
			r := nats.NewMsg(m.Reply)
			r.Header.Set(micro.ErrorCodeHeader, fmt.Sprint(tc.status))
			r.Header.Set(micro.ErrorHeader, msg)
			if tc.body {
				r.Data = fmt.Appendf(nil, `{"error":{"code":%q,"message":%q}}`, tc.code, msg)
			}
			_ = m.RespondMsg(r)
		})
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
		var resp struct{ X int }
		err = c.Call(t.Context(), subject, map[string]int{"x": 1}, &resp)
		var e *client.Error
		if !errors.As(err, &e) || *e != (client.Error{Status: tc.status, Code: tc.code, Message: msg}) {
			t.Errorf("%s: %#v, want status %d code %s", subject, err, tc.status, tc.code)
			continue
		}
		if err.Error() != msg || client.Code(err) != tc.code || client.Code(fmt.Errorf("wrapped: %w", err)) != tc.code {
			t.Errorf("%s: Error() %q, Code %q", subject, err.Error(), client.Code(err))
		}
		for code, s := range sentinels {
			if errors.Is(err, s) != (code == tc.code) {
				t.Errorf("%s: errors.Is(%s) = %v", subject, code, !(code == tc.code))
			}
		}
		if errors.Is(err, client.ErrNoResponders) || errors.Is(err, client.ErrTimeout) {
			t.Errorf("%s: an error reply matches a transport error", subject)
		}
	}
	if client.Code(errors.New("other")) != "" || client.Code(nil) != "" {
		t.Error("Code of a non-reply error is not empty")
	}
}

// TestNoReply tells a subject nobody serves from a service that does not
// answer in time.
func TestNoReply(t *testing.T) {
	t.Parallel()
	nc := natstest.RunJetStream(t).Connect(t)
	c := client.New(nc, client.WithTimeout(200*time.Millisecond))

	_, err := c.Get(t.Context(), "o1")
	if !errors.Is(err, client.ErrNoResponders) || !errors.Is(err, nats.ErrNoResponders) || errors.Is(err, client.ErrTimeout) {
		t.Errorf("nobody serves order.get: %v", err)
	}
	if !strings.Contains(fmt.Sprint(err), "order.get") || client.Code(err) != "" {
		t.Errorf("nobody serves order.get: %q", err)
	}

	sub, err := nc.Subscribe("order.get", func(*nats.Msg) {}) // never answers
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(t.Context(), "o1") // the client's own timeout
	if !errors.Is(err, client.ErrTimeout) || errors.Is(err, client.ErrNoResponders) {
		t.Errorf("silent order.get: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err = client.New(nc).Get(ctx, "o1"); !errors.Is(err, client.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("silent order.get with a deadline: %v", err)
	}
	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	if _, err = c.Get(ctx, "o1"); !errors.Is(err, context.Canceled) || errors.Is(err, client.ErrTimeout) {
		t.Errorf("cancelled order.get: %v", err)
	}
}

// TestRawBody sends a body as is and reads a raw reply.
func TestRawBody(t *testing.T) {
	t.Parallel()
	nc := natstest.RunJetStream(t).Connect(t)
	c := client.New(nc)
	got := make(chan string, 2)
	defer echo(t, nc, "test.raw", `{"ok":true}`, got)()
	var raw json.RawMessage
	if err := c.Call(t.Context(), "test.raw", json.RawMessage(`{"a": 1}`), &raw); err != nil || string(raw) != `{"ok":true}` {
		t.Fatalf("Call = %s, %v", raw, err)
	}
	if err := c.Call(t.Context(), "test.raw", []byte("not json"), nil); err != nil {
		t.Fatal(err)
	}
	if a, b := <-got, <-got; a != `{"a": 1}` || b != "not json" {
		t.Errorf("sent %q and %q", a, b)
	}
	if err := c.Call(t.Context(), "test.raw", func() {}, nil); err == nil || !strings.Contains(err.Error(), "marshal request") {
		t.Errorf("unmarshalable request: %v", err)
	}
}

// TestServices runs every method against the four services.
func TestServices(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	c := client.New(s.NC, client.WithTimeout(10*time.Second))
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	b, err := c.Deposit(ctx, "ada", 1000)
	must(err)
	if b != (client.BalanceView{CustomerID: "ada", BalanceCents: 1000}) {
		t.Errorf("deposit = %+v", b)
	}
	st, err := c.Restock(ctx, "widget", 5)
	must(err)
	if st != (client.StockView{SKU: "widget", Available: 5}) {
		t.Errorf("restock = %+v", st)
	}
	v, err := c.Place(ctx, client.PlaceRequest{OrderID: "o1", CustomerID: "ada", ShippingAddress: sagatest.Addr("GB"),
		Items: []client.Item{{SKU: "widget", Quantity: 2, UnitPriceCents: 300}}})
	must(err)
	if v.OrderID != "o1" || v.Status != "pending" || v.TotalCents != 600 || v.Terminal() {
		t.Errorf("place = %+v", v)
	}
	natstest.Eventually(t, 30*time.Second, func() error {
		if v, err = c.Get(ctx, "o1"); err == nil && !v.Terminal() {
			err = fmt.Errorf("order o1 is %s", v.Status)
		}
		return err
	})
	if v.Status != "completed" || v.Steps != (client.Steps{Payment: "completed", Inventory: "reserved", Shipping: "scheduled"}) {
		t.Errorf("get = %+v", v)
	}
	l, err := c.List(ctx, client.ListRequest{CustomerID: "ada"})
	must(err)
	if len(l) != 1 || l[0].OrderID != "o1" {
		t.Errorf("list = %+v", l)
	}
	h, err := c.History(ctx, "o1")
	must(err)
	var types []string
	for _, e := range h {
		types = append(types, e.Type)
	}
	if strings.Join(types, " ") != "OrderPlaced OrderPaid OrderReserved OrderCompleted" {
		t.Errorf("history = %v", types)
	}
	if _, err := envelope.Parse(must2(json.Marshal(h[0]))); err != nil {
		t.Errorf("history event: %v", err)
	}
	p, err := c.Payment(ctx, "o1")
	must(err)
	if p.Status != "charged" || p.AmountCents != 600 {
		t.Errorf("payment = %+v", p)
	}
	sh, err := c.Shipment(ctx, "o1")
	must(err)
	if sh.Status != "scheduled" || sh.TrackingNumber == "" {
		t.Errorf("shipment = %+v", sh)
	}
	if b, err = c.Balance(ctx, "ada"); err != nil || b.BalanceCents != 400 {
		t.Errorf("balance = %+v, %v", b, err)
	}
	if st, err = c.Stock(ctx, "widget"); err != nil || st.Available != 3 || st.Reserved != 2 {
		t.Errorf("stock = %+v, %v", st, err)
	}
	if _, err := c.Cancel(ctx, "o1", "too late"); !errors.Is(err, client.ErrConflict) {
		t.Errorf("cancel of a completed order: %v", err)
	}
	if _, err := c.Get(ctx, "nope"); !errors.Is(err, client.ErrNotFound) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("get of an unknown order: %v", err)
	}
	if _, err := c.Restock(ctx, "widget", -3); !errors.Is(err, client.ErrInvalidArgument) || err.Error() != "quantity must be between 1 and 1000000" {
		t.Errorf("negative restock: %v", err)
	}
}

func must2(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
