package secure_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/natsauth"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/choreo-dev/choreo/stack"
	"github.com/choreo-dev/choreo/stack/stacktest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestMain(m *testing.M) { stacktest.Main(m) }

// profile is the running secure stack and a connection per identity.
type profile struct {
	st       *stack.Stack
	client   *sagatest.Client
	observer jetstream.JetStream
}

// start runs the Procfile's real binaries in the secure profile.
func start(t *testing.T) *profile {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and starts real processes")
	}
	st, err := stack.New(stack.Config{Repo: stacktest.Repo(t), Bin: stacktest.Bin(t), WorkDir: t.TempDir(), Secure: true, Tools: true,
		Env: []string{"CHOREO_SAGA_TIMEOUT=30s", "CHOREO_SHIPPING_COUNTRIES=US,CA,GB,DE,FR,NL,JP,AU"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range st.Procs() {
				t.Logf("--- %s ---\n%s", p.Name, p.Tail(30))
			}
		}
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := st.StartAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	p := &profile{st: st}
	p.client = sagatest.NewClient(p.connect(t, natsauth.Client))
	p.observer, err = jetstream.New(p.connect(t, natsauth.Observer))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// connect connects as identity, closed in t.Cleanup.
func (p *profile) connect(t *testing.T, identity string, extra ...nats.Option) *nats.Conn {
	t.Helper()
	opts, err := p.st.ConnectOptions(identity)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(p.st.URL(), append(append(opts, nats.Name("secure test as "+identity)), extra...)...)
	if err != nil {
		t.Fatalf("connect as %s: %v", identity, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// The secure profile end to end: the permissions derived from the real
// binaries are the documented ones; the services created nothing
// themselves; the saga completes and compensates through the client
// identity while the observer watches; the console, under its own
// identity, reads every page and acts on dead letters; and every forbidden
// action is refused and changes nothing.
func TestSecureProfile(t *testing.T) {
	p := start(t)
	if got, want := natsauth.Markdown(p.st.Identities()), natsauth.Markdown(identities(t)); got != want {
		t.Errorf("the permissions derived from the binaries' -describe differ from the declarations':\n%s\nwant:\n%s", got, want)
	}
	for _, name := range p.st.Services() {
		if out := p.st.Proc(name).Output(); strings.Contains(out, "durable consumer created") {
			t.Errorf("%s created a durable itself in the secure profile", name)
		}
	}
	t.Run("sagas", p.sagas)
	t.Run("console", p.console)
	t.Run("forbidden", p.forbidden)
}

// sagas runs the happy path and the three failures with their
// compensations through the client identity, while the observer's
// subscription to *.events.> sees every event go by.
func (p *profile) sagas(t *testing.T) {
	ctx := t.Context()
	c := p.client
	var mu sync.Mutex
	seen := map[string][]string{} // order id -> event types
	watch := p.connect(t, natsauth.Observer)
	sub, err := watch.Subscribe("*.events.>", func(m *nats.Msg) {
		if env, err := envelope.Parse(m.Data); err == nil {
			mu.Lock()
			seen[env.CorrelationID] = append(seen[env.CorrelationID], env.Type)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := watch.Flush(); err != nil {
		t.Fatal(err)
	}

	for cust, cents := range map[string]int64{"alice": 1_000_000, "bob": 100} {
		if _, err := c.Deposit(ctx, cust, cents); err != nil {
			t.Fatalf("deposit as client: %v", err)
		}
	}
	for sku, qty := range map[string]int64{"widget": 100, "scarce": 1} {
		if _, err := c.Restock(ctx, sku, qty); err != nil {
			t.Fatalf("restock as client: %v", err)
		}
	}
	cases := []struct {
		id, customer, sku, country string
		qty                        int64
		status, reason             string
		steps                      client.Steps
	}{
		{"happy", "alice", "widget", "GB", 2, "completed", "", client.Steps{Payment: "completed", Inventory: "reserved", Shipping: "scheduled"}},
		{"no-funds", "bob", "widget", "GB", 1, "cancelled", "payment_failed", client.Steps{Payment: "failed", Inventory: "pending", Shipping: "pending"}},
		{"no-stock", "alice", "scarce", "GB", 5, "cancelled", "insufficient_stock", client.Steps{Payment: "refunded", Inventory: "failed", Shipping: "pending"}},
		{"no-shipping", "alice", "widget", "BR", 1, "cancelled", "shipping_failed", client.Steps{Payment: "refunded", Inventory: "released", Shipping: "failed"}},
	}
	for _, tc := range cases {
		if _, err := c.Place(ctx, client.PlaceRequest{OrderID: tc.id, CustomerID: tc.customer, ShippingAddress: sagatest.Addr(tc.country),
			Items: []client.Item{{SKU: tc.sku, Quantity: tc.qty, UnitPriceCents: 1500}}}); err != nil {
			t.Fatalf("place %s as client: %v", tc.id, err)
		}
	}
	for _, tc := range cases {
		natstest.Eventually(t, 60*time.Second, func() error {
			v, err := c.Get(ctx, tc.id)
			if err != nil {
				return err
			}
			if v.Status != tc.status || v.CancelReason != tc.reason || v.Steps != tc.steps {
				return fmt.Errorf("order %s: %s/%s %+v, want %s/%s %+v", tc.id, v.Status, v.CancelReason, v.Steps, tc.status, tc.reason, tc.steps)
			}
			return nil
		})
	}
	natstest.Eventually(t, 30*time.Second, func() error {
		_, err := c.CheckInvariants(ctx)
		return err
	})
	natstest.Eventually(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		for _, typ := range []string{"OrderPlaced", "PaymentCompleted", "StockReserved", "ShipmentScheduled", "OrderCompleted"} {
			if got := seen["happy"]; !contains(got, typ) {
				return fmt.Errorf("the observer saw %v of the happy order, no %s", got, typ)
			}
		}
		if got := seen["no-shipping"]; !contains(got, "PaymentRefunded") || !contains(got, "StockReleased") {
			return fmt.Errorf("the observer saw %v of the compensated order", got)
		}
		return nil
	})
	if n := streamMsgs(t, p.observer, streams.DLQ); n != 0 {
		t.Errorf("%d dead letters", n)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func streamMsgs(t *testing.T, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	return s.CachedInfo().State.Msgs
}
