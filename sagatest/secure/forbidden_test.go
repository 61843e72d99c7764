package secure_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/natsauth"
	"github.com/choreo-dev/choreo/shared/natscreds"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// attempt is one forbidden action: as an identity, a publish (sent as a
// request: if the server let it through, a stream would answer it with a
// PubAck, a service or the JetStream API with a reply) or a subscription;
// or a connection that must be refused.
type attempt struct {
	as, what string
	pub, sub string
	body     string
	// connect, for a connection attempt, returns the refusal it expects and
	// the error it met (nil: accepted).
	connect func(p *profile, dir string) (want string, err error)
}

// forgedEvent is a well-formed event envelope, as a rogue would send it.
func forgedEvent(typ, orderID string) string {
	return fmt.Sprintf(`{"id":"0190b5d2-0000-7000-8000-%012d","type":%q,"schema_version":1,"aggregate_type":"order","aggregate_id":%q,`+
		`"version":9,"occurred_at":"2025-01-01T00:00:00Z","correlation_id":%q,"causation_id":"x","data":{"order_id":%q,"reason":"timeout"}}`,
		len(typ), typ, orderID, orderID, orderID)
}

// attempts is the table: every event type forged by the wrong service;
// stream and consumer create, update, delete and purge as a service, as
// the client, as the observer and, where it has no need, as the admin;
// dead letters purged and deleted by the client; another identity's inbox
// and durable; events read by the client; endpoints served or called by
// the wrong identity; and connections without credentials, with unknown
// ones, and without TLS.
func attempts() []attempt {
	decls := sagatest.Declarations()
	var out []attempt
	for i, d := range decls {
		wrong := decls[(i+1)%len(decls)].Service
		for _, e := range d.Publishes {
			out = append(out, attempt{as: wrong, what: "forge " + d.Service + "'s " + e.Type,
				pub: streams.Subject(d.Service, e.Type, "forged"), body: forgedEvent(e.Type, "forged")})
		}
	}
	streamCfg := `{"name":"EVIL","subjects":["evil.>"],"storage":"file"}`
	spy := `{"stream_name":"ORDER_EVENTS","config":{"name":"spy","deliver_subject":"_INBOX_%s.spy","ack_policy":"none","deliver_policy":"all"}}`
	widen := `{"stream_name":"ORDER_EVENTS","config":{"durable_name":"payment","filter_subject":"order.events.>","ack_policy":"explicit","deliver_policy":"all","max_deliver":-1}}`
	out = append(out,
		attempt{as: natsauth.Client, what: "publish an event", pub: "order.events.OrderCancelled.happy", body: forgedEvent("OrderCancelled", "happy")},
		attempt{as: natsauth.Observer, what: "publish an event", pub: "payment.events.FundsDeposited.alice", body: `{}`},
		attempt{as: "payment", what: "publish another service's dead letter", pub: "dlq.order.payment.events.PaymentCompleted.happy", body: `{}`},

		attempt{as: "order", what: "create a stream", pub: "$JS.API.STREAM.CREATE.EVIL", body: streamCfg},
		attempt{as: "order", what: "update its own stream", pub: "$JS.API.STREAM.UPDATE.ORDER_EVENTS", body: `{"name":"ORDER_EVENTS","subjects":["order.events.>"],"max_age":1000000000}`},
		attempt{as: "order", what: "delete its own stream", pub: "$JS.API.STREAM.DELETE.ORDER_EVENTS"},
		attempt{as: "order", what: "purge its own stream", pub: "$JS.API.STREAM.PURGE.ORDER_EVENTS", body: `{}`},
		attempt{as: "order", what: "delete a message of its stream", pub: "$JS.API.STREAM.MSG.DELETE.ORDER_EVENTS", body: `{"seq":1}`},
		attempt{as: "payment", what: "purge the DLQ", pub: "$JS.API.STREAM.PURGE.DLQ", body: `{}`},
		attempt{as: "payment", what: "create a push consumer delivering to its inbox (issue 3295)", pub: "$JS.API.CONSUMER.CREATE.ORDER_EVENTS.spy", body: fmt.Sprintf(spy, "payment")},
		attempt{as: "payment", what: "create a durable (legacy API)", pub: "$JS.API.CONSUMER.DURABLE.CREATE.ORDER_EVENTS.spy", body: fmt.Sprintf(spy, "payment")},
		attempt{as: "payment", what: "widen its own durable's filter", pub: "$JS.API.CONSUMER.CREATE.ORDER_EVENTS.payment", body: widen},
		attempt{as: "payment", what: "delete its own durable", pub: "$JS.API.CONSUMER.DELETE.ORDER_EVENTS.payment"},
		attempt{as: "payment", what: "delete another service's durable", pub: "$JS.API.CONSUMER.DELETE.ORDER_EVENTS.inventory"},
		attempt{as: "payment", what: "pull from another service's durable", pub: "$JS.API.CONSUMER.MSG.NEXT.ORDER_EVENTS.inventory", body: `{"batch":1}`},
		attempt{as: "payment", what: "ack for another service's durable", pub: "$JS.ACK.ORDER_EVENTS.inventory.1.1.1.1700000000000000000.0", body: "+ACK"},
		attempt{as: "payment", what: "read a stream it does not hear", pub: "$JS.API.STREAM.MSG.GET.SHIPPING_EVENTS", body: `{"seq":1}`},
		attempt{as: "payment", what: "make a client's request (a deposit)", pub: "payment.deposit", body: `{"customer_id":"alice","amount_cents":1000000}`},
		attempt{as: "inventory", what: "call an operator endpoint", pub: "order.parked_drop", body: `{"seq":1}`},
		attempt{as: "payment", what: "serve another service's endpoint", sub: "order.place"},
		attempt{as: "payment", what: "subscribe to another service's events", sub: "order.events.>"},
		attempt{as: "payment", what: "read another service's inbox", sub: "_INBOX_order.>"},

		attempt{as: natsauth.Client, what: "create a stream", pub: "$JS.API.STREAM.CREATE.EVIL", body: streamCfg},
		attempt{as: natsauth.Client, what: "delete a stream", pub: "$JS.API.STREAM.DELETE.PAYMENT_EVENTS"},
		attempt{as: natsauth.Client, what: "purge a stream", pub: "$JS.API.STREAM.PURGE.INVENTORY_EVENTS", body: `{}`},
		attempt{as: natsauth.Client, what: "create a consumer to read events", pub: "$JS.API.CONSUMER.CREATE.ORDER_EVENTS.spy", body: fmt.Sprintf(spy, "client")},
		attempt{as: natsauth.Client, what: "delete a durable", pub: "$JS.API.CONSUMER.DELETE.PAYMENT_EVENTS.order"},
		attempt{as: natsauth.Client, what: "purge the DLQ", pub: "$JS.API.STREAM.PURGE.DLQ", body: `{}`},
		attempt{as: natsauth.Client, what: "delete a dead letter", pub: "$JS.API.STREAM.MSG.DELETE.DLQ", body: `{"seq":1}`},
		attempt{as: natsauth.Client, what: "read events (message get)", pub: "$JS.API.STREAM.MSG.GET.ORDER_EVENTS", body: `{"seq":1}`},
		attempt{as: natsauth.Client, what: "read events (direct get)", pub: "$JS.API.DIRECT.GET.PAYMENT_EVENTS", body: `{"seq":1}`},
		attempt{as: natsauth.Client, what: "read stream state", pub: "$JS.API.STREAM.INFO.ORDER_EVENTS"},
		attempt{as: natsauth.Client, what: "ack for a service's durable", pub: "$JS.ACK.ORDER_EVENTS.payment.1.1.1.1700000000000000000.0", body: "+ACK"},
		attempt{as: natsauth.Client, what: "call an operator endpoint", pub: "payment.parked", body: `{}`},
		attempt{as: natsauth.Client, what: "watch events", sub: "*.events.>"},
		attempt{as: natsauth.Client, what: "read a service's inbox", sub: "_INBOX_payment.>"},
		attempt{as: natsauth.Client, what: "read the default inbox", sub: "_INBOX.>"},
		attempt{as: natsauth.Client, what: "serve an endpoint", sub: "payment.deposit"},

		attempt{as: natsauth.Observer, what: "purge a stream", pub: "$JS.API.STREAM.PURGE.ORDER_EVENTS", body: `{}`},
		attempt{as: natsauth.Observer, what: "delete a durable", pub: "$JS.API.CONSUMER.DELETE.ORDER_EVENTS.payment"},
		attempt{as: natsauth.Observer, what: "create a consumer", pub: "$JS.API.CONSUMER.CREATE.ORDER_EVENTS.spy", body: fmt.Sprintf(spy, "observer")},
		attempt{as: natsauth.Observer, what: "place an order", pub: "order.place", body: `{"customer_id":"alice","items":[{"sku":"widget","quantity":1,"unit_price_cents":1}],"shipping_address":{"name":"A","line1":"L","city":"C","postal_code":"P","country":"GB"}}`},
		attempt{as: natsauth.Observer, what: "read the admin's inbox", sub: "_INBOX_admin.>"},

		attempt{as: natsauth.Console, what: "place an order", pub: "order.place", body: `{"customer_id":"alice","items":[{"sku":"widget","quantity":1,"unit_price_cents":1}],"shipping_address":{"name":"A","line1":"L","city":"C","postal_code":"P","country":"GB"}}`},
		attempt{as: natsauth.Console, what: "make a deposit", pub: "payment.deposit", body: `{"customer_id":"alice","amount_cents":1000000}`},
		attempt{as: natsauth.Console, what: "cancel an order", pub: "order.cancel", body: `{"order_id":"happy"}`},
		attempt{as: natsauth.Console, what: "delete an event", pub: "$JS.API.STREAM.MSG.DELETE.ORDER_EVENTS", body: `{"seq":1}`},
		attempt{as: natsauth.Console, what: "purge the DLQ", pub: "$JS.API.STREAM.PURGE.DLQ", body: `{}`},
		attempt{as: natsauth.Console, what: "create a consumer", pub: "$JS.API.CONSUMER.CREATE.ORDER_EVENTS.spy", body: fmt.Sprintf(spy, "console")},
		attempt{as: natsauth.Console, what: "delete a durable", pub: "$JS.API.CONSUMER.DELETE.ORDER_EVENTS.payment"},
		attempt{as: natsauth.Console, what: "read events by sequence", pub: "$JS.API.STREAM.MSG.GET.ORDER_EVENTS", body: `{"seq":1}`},
		attempt{as: natsauth.Console, what: "call an operator endpoint", pub: "order.parked_drop", body: `{"seq":1}`},
		attempt{as: natsauth.Console, what: "read the admin's inbox", sub: "_INBOX_admin.>"},

		attempt{as: natsauth.Admin, what: "delete a stream", pub: "$JS.API.STREAM.DELETE.ORDER_EVENTS"},
		attempt{as: natsauth.Admin, what: "purge an event stream", pub: "$JS.API.STREAM.PURGE.PAYMENT_EVENTS", body: `{}`},
		attempt{as: natsauth.Admin, what: "delete a durable", pub: "$JS.API.CONSUMER.DELETE.ORDER_EVENTS.payment"},
		attempt{as: natsauth.Admin, what: "create a stream outside the platform", pub: "$JS.API.STREAM.CREATE.EVIL", body: streamCfg},
		attempt{as: natsauth.Admin, what: "make a client's request (a deposit)", pub: "payment.deposit", body: `{"customer_id":"alice","amount_cents":1000000}`},

		attempt{as: "(none)", what: "connect with TLS but without credentials", connect: func(p *profile, _ string) (string, error) {
			nc, err := nats.Connect(p.st.URL(), nats.RootCAs(p.st.SecureFiles().CA()))
			if err == nil {
				nc.Close()
			}
			return "Authorization Violation", err
		}},
		attempt{as: "(unknown key)", what: "connect with TLS and a key the server does not know", connect: func(p *profile, dir string) (string, error) {
			path := filepath.Join(dir, "stranger.nk")
			if _, err := natscreds.WriteSeed(path, "stranger"); err != nil {
				return "", err
			}
			opts, _, err := natscreds.Options(path, p.st.SecureFiles().CA())
			if err != nil {
				return "", err
			}
			nc, err := nats.Connect(p.st.URL(), opts...)
			if err == nil {
				nc.Close()
			}
			return "Authorization Violation", err
		}},
		attempt{as: "(plain text)", what: "connect without TLS", connect: plainConnect},
	)
	return out
}

// plainConnect speaks the NATS protocol without TLS: CONNECT, then PING.
// A server that accepted it would answer PONG.
func plainConnect(p *profile, _ string) (string, error) {
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(p.st.URL(), "nats://"), 5*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	info, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.Contains(info, `"tls_required":true`) {
		return "", fmt.Errorf("the server does not say TLS is required: %s", info)
	}
	if _, err := conn.Write([]byte("CONNECT {\"verbose\":false,\"pedantic\":false,\"tls_required\":false,\"name\":\"plain\"}\r\nPING\r\n")); err != nil {
		return "", err
	}
	var got []string
	for {
		line, err := r.ReadString('\n')
		if line != "" {
			got = append(got, strings.TrimSpace(line))
		}
		if err != nil {
			break
		}
	}
	if slices.Contains(got, "PONG") {
		return "", nil
	}
	if len(got) == 0 {
		return "", errors.New("the server closed the connection without a word")
	}
	return "", fmt.Errorf("the server closed the connection, saying %q", got)
}

// refusal waits for the server to refuse on nc's error stream.
func refusal(errs <-chan error, want string) (string, bool) {
	timeout := time.After(10 * time.Second)
	for {
		select {
		case err := <-errs:
			if strings.Contains(err.Error(), want) {
				return want, true
			}
		case <-timeout:
			return "", false
		}
	}
}

// forbidden tries every attempt, each on a connection of its own, checks
// that each is refused by the server, and that nothing changed: streams,
// durables, balances, stock and orders. A saga run after them completes, and
// still nothing of what was there before has changed.
func (p *profile) forbidden(t *testing.T) {
	before := p.quiet(t)
	table := attempts()
	// All at once, each on a connection of its own (a refused request
	// waits out its timeout); then one subtest per attempt reports it.
	results, problems := make([]string, len(table)), make([]error, len(table))
	var wg sync.WaitGroup
	dir := t.TempDir()
	for i, a := range table {
		wg.Go(func() { results[i], problems[i] = p.try(a, dir) })
	}
	wg.Wait()
	t.Run("attempts", func(t *testing.T) {
		for i, a := range table {
			t.Run(a.as+" "+a.what, func(t *testing.T) {
				if problems[i] != nil {
					t.Fatal(problems[i])
				}
			})
		}
	})
	if n := len(table); n < 30 {
		t.Errorf("only %d forbidden actions tried", n)
	}
	var b strings.Builder
	b.WriteString("| # | as | tries | refused with |\n| --: | --- | --- | --- |\n")
	for i, a := range table {
		fmt.Fprintf(&b, "| %d | %s | %s | %s |\n", i+1, a.as, a.what, results[i])
	}
	t.Logf("forbidden actions:\n%s", b.String())

	// Nothing changed: right after, and after a saga that must still work.
	if after := p.snapshot(t); !reflect.DeepEqual(before, after) {
		t.Errorf("the forbidden actions changed something:\n%s", diff(before, after))
	}
	ctx := t.Context()
	c := p.client
	if _, err := c.Deposit(ctx, "barrier", 10_000); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Restock(ctx, "barrier-sku", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Place(ctx, client.PlaceRequest{OrderID: "barrier", CustomerID: "barrier", ShippingAddress: sagatest.Addr("GB"),
		Items: []client.Item{{SKU: "barrier-sku", Quantity: 1, UnitPriceCents: 100}}}); err != nil {
		t.Fatal(err)
	}
	natstest.Eventually(t, 60*time.Second, func() error {
		v, err := c.Get(ctx, "barrier")
		if err == nil && v.Status != "completed" {
			err = fmt.Errorf("the saga after the attempts is %s", v.Status)
		}
		return err
	})
	after := p.quiet(t)
	delete(after.Balances, "barrier")
	delete(after.Stock, "barrier-sku")
	delete(after.Orders, "barrier")
	if !reflect.DeepEqual(before.business(), after.business()) {
		t.Errorf("after a saga, the state left by the forbidden actions differs:\n%s", diff(before.business(), after.business()))
	}
	if n := after.Streams[streams.DLQ].Msgs; n != 0 {
		t.Errorf("%d dead letters: a forged event got through to a consumer", n)
	}
	if _, err := c.CheckInvariants(ctx); err != nil {
		t.Errorf("invariants: %v", err)
	}
}

// try makes one attempt and returns the refusal it met, or what went
// wrong: the server let it through, or did not say it refused it.
func (p *profile) try(a attempt, dir string) (string, error) {
	if a.connect != nil {
		want, err := a.connect(p, dir)
		switch {
		case err == nil:
			return "", fmt.Errorf("%s: %s was accepted", a.as, a.what)
		case want != "" && !strings.Contains(err.Error(), want):
			return "", fmt.Errorf("%s: %s failed with %v, want %q", a.as, a.what, err, want)
		}
		return "connection refused: " + strings.TrimPrefix(err.Error(), "nats: "), nil
	}
	errs := make(chan error, 16)
	opts, err := p.st.ConnectOptions(a.as)
	if err != nil {
		return "", err
	}
	nc, err := nats.Connect(p.st.URL(), append(opts, nats.Name("forbidden: "+a.what),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case errs <- err:
			default:
			}
		}))...)
	if err != nil {
		return "", fmt.Errorf("connect as %s: %w", a.as, err)
	}
	defer nc.Close()
	var want string
	if a.sub != "" {
		if _, err := nc.ChanSubscribe(a.sub, make(chan *nats.Msg, 1)); err != nil {
			return "", err
		}
		if err := nc.Flush(); err != nil {
			return "", err
		}
		want = fmt.Sprintf("Permissions Violation for Subscription to %q", a.sub)
	} else {
		msg := nats.NewMsg(a.pub)
		msg.Data = []byte(a.body)
		if strings.Contains(a.pub, ".events.") {
			msg.Header.Set(jetstream.MsgIDHeader, "forged-"+a.as+"-"+a.pub)
		}
		if reply, err := nc.RequestMsg(msg, 2*time.Second); err == nil {
			return "", fmt.Errorf("%s: %s was answered: %v %s", a.as, a.what, reply.Header, reply.Data)
		}
		want = fmt.Sprintf("Permissions Violation for Publish to %q", a.pub)
	}
	got, ok := refusal(errs, want)
	if !ok {
		return "", fmt.Errorf("%s: %s: the server did not say %q", a.as, a.what, want)
	}
	return "`" + got + "`", nil
}

// state is what the forbidden actions must not change.
type state struct {
	Streams   map[string]streamState
	Consumers map[string]consumerState // "STREAM/name"
	Balances  map[string]int64
	Stock     map[string]client.StockView
	Orders    map[string]string // id -> status and version
}

type streamState struct {
	Config             string
	Created            time.Time
	Msgs, First, Last  uint64
	Consumers          int
	NumDeleted, NumSub int
}

type consumerState struct {
	Config                              string
	Created                             time.Time
	Delivered, AckFloor                 uint64
	Pending, AckPending, NumRedelivered uint64
}

func (s state) business() state {
	return state{Balances: s.Balances, Stock: s.Stock, Orders: s.Orders}
}

// quiet waits until every durable has caught up (nothing pending, nothing
// unacknowledged: the services' acks are allowed and arrive) and two
// snapshots in a row agree, and returns the last.
func (p *profile) quiet(t *testing.T) state {
	t.Helper()
	var last state
	natstest.Eventually(t, 60*time.Second, func() error {
		cur := p.snapshot(t)
		for name, c := range cur.Consumers {
			if c.Pending > 0 || c.AckPending > 0 {
				last = cur
				return fmt.Errorf("durable %s: %d pending, %d unacknowledged", name, c.Pending, c.AckPending)
			}
		}
		if !reflect.DeepEqual(cur, last) {
			last = cur
			return errors.New("still changing")
		}
		return nil
	})
	return last
}

// snapshot reads the state: streams and durables as the observer, the rest
// through the contract as the client.
func (p *profile) snapshot(t *testing.T) state {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s := state{Streams: map[string]streamState{}, Consumers: map[string]consumerState{}, Balances: map[string]int64{},
		Stock: map[string]client.StockView{}, Orders: map[string]string{}}
	names := p.observer.StreamNames(ctx)
	for name := range names.Name() {
		st, err := p.observer.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		info := st.CachedInfo()
		cfg, _ := json.Marshal(info.Config)
		s.Streams[name] = streamState{Config: string(cfg), Created: info.Created, Msgs: info.State.Msgs, First: info.State.FirstSeq,
			Last: info.State.LastSeq, Consumers: info.State.Consumers, NumDeleted: info.State.NumDeleted, NumSub: int(info.State.NumSubjects)}
		cl := st.ListConsumers(ctx)
		for ci := range cl.Info() {
			cc, _ := json.Marshal(ci.Config)
			s.Consumers[name+"/"+ci.Name] = consumerState{Config: string(cc), Created: ci.Created, Delivered: ci.Delivered.Stream,
				AckFloor: ci.AckFloor.Stream, Pending: ci.NumPending, AckPending: uint64(ci.NumAckPending), NumRedelivered: uint64(ci.NumRedelivered)}
		}
		if err := cl.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := names.Err(); err != nil {
		t.Fatal(err)
	}
	l := p.client.Ledger
	for cust := range l.Deposits {
		b, err := p.client.Balance(ctx, cust)
		if err != nil {
			t.Fatal(err)
		}
		s.Balances[cust] = b.BalanceCents
	}
	for sku := range l.Restocked {
		v, err := p.client.Stock(ctx, sku)
		if err != nil {
			t.Fatal(err)
		}
		s.Stock[sku] = v
	}
	list, err := p.client.List(ctx, client.ListRequest{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range list {
		s.Orders[o.OrderID] = fmt.Sprintf("%s v%d", o.Status, o.Version)
	}
	return s
}

// diff describes how b differs from a.
func diff(a, b state) string {
	var out []string
	add := func(what string, x, y any) {
		if !reflect.DeepEqual(x, y) {
			out = append(out, fmt.Sprintf("%s: %+v → %+v", what, x, y))
		}
	}
	keys := map[string]bool{}
	for k := range a.Streams {
		keys["stream "+k] = true
	}
	for k := range b.Streams {
		keys["stream "+k] = true
	}
	for k := range keys {
		n := strings.TrimPrefix(k, "stream ")
		add(k, a.Streams[n], b.Streams[n])
	}
	for k := range a.Consumers {
		add("durable "+k, a.Consumers[k], b.Consumers[k])
	}
	for k := range b.Consumers {
		if _, ok := a.Consumers[k]; !ok {
			add("durable "+k, nil, b.Consumers[k])
		}
	}
	add("balances", a.Balances, b.Balances)
	add("stock", a.Stock, b.Stock)
	add("orders", a.Orders, b.Orders)
	return strings.Join(out, "\n")
}
