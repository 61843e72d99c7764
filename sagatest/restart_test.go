package sagatest_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/natstest"
)

// outcome is how an order is meant to end.
type outcome struct{ status, reason string }

var (
	completes      = outcome{"completed", ""}
	declined       = outcome{"cancelled", "payment_failed"}
	outOfStock     = outcome{"cancelled", "insufficient_stock"}
	undeliverable  = outcome{"cancelled", "shipping_failed"}
	outcomesInTurn = []outcome{completes, declined, outOfStock, undeliverable}
)

// The mixed orders' world: one plentiful SKU, one that is never restocked,
// and wallets that cover an order or fall a cent short.
const (
	plentifulSKU      = "staple"
	missingSKU        = "unobtainium"
	orderPriceCents   = 1_000
	plentifulStock    = 10_000
	comfortableWallet = 5_000
)

// mixedOrders places n orders whose outcomes do not depend on each other
// (each has its own customer) and returns what each is meant to become. name
// keeps customers apart between batches.
func mixedOrders(t testing.TB, c *sagatest.Client, name string, n int) map[string]outcome {
	t.Helper()
	return placeAll(t, c, prepareOrders(t, c, name, n))
}

// planned is an order to place and how it is meant to end.
type planned struct {
	req  client.PlaceRequest
	want outcome
}

// prepareOrders funds the customers of n mixed orders (see mixedOrders)
// without placing them.
func prepareOrders(t testing.TB, c *sagatest.Client, name string, n int) []planned {
	t.Helper()
	out := make([]planned, n)
	for i := range out {
		o := outcomesInTurn[i%len(outcomesInTurn)]
		cust := fmt.Sprintf("%s-%d", name, i)
		r := order(cust, plentifulSKU, 1, orderPriceCents, "US")
		if o == declined {
			deposit(t, c, cust, orderPriceCents-1)
		} else {
			deposit(t, c, cust, comfortableWallet)
		}
		switch o {
		case outOfStock:
			r.Items[0].SKU = missingSKU
		case undeliverable:
			r.ShippingAddress = sagatest.Addr("BR")
		}
		out[i] = planned{r, o}
	}
	return out
}

// placeAll places the planned orders and returns what each is meant to become.
func placeAll(t testing.TB, c *sagatest.Client, orders []planned) map[string]outcome {
	t.Helper()
	want := map[string]outcome{}
	for _, p := range orders {
		want[place(t, c, p.req).OrderID] = p.want
	}
	return want
}

// settle is how long sagas may take to end once every service is back. It
// is well below the consumers' default AckWait (30s), which is also the
// default saga deadline: a message a restart leaves unacknowledged shows up
// as a saga stuck past settle, not as one quietly cancelled by its deadline.
const settle = 15 * time.Second

// waitOutcomes waits until every order has ended as meant.
func waitOutcomes(t testing.TB, c *sagatest.Client, want map[string]outcome) {
	t.Helper()
	natstest.Eventually(t, settle, func() error {
		var wrong []string
		for id, o := range want {
			v, err := c.Get(t.Context(), id)
			if err != nil {
				return err
			}
			if v.Status != o.status || v.CancelReason != o.reason {
				wrong = append(wrong, fmt.Sprintf("%s is %s/%q with steps %+v, want %s/%q",
					id, v.Status, v.CancelReason, v.Steps, o.status, o.reason))
			}
		}
		if len(wrong) > 0 {
			return fmt.Errorf("%d of %d orders not as meant: %s", len(wrong), len(want), strings.Join(wrong, "; "))
		}
		return nil
	})
}

// TestServiceRestarts restarts each service in turn while sagas are in
// flight: every saga still ends as it should, exactly once.
func TestServiceRestarts(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	c := sagatest.NewClient(s.NC)
	restock(t, c, plentifulSKU, plentifulStock)
	want := map[string]outcome{}
	for _, svc := range sagatest.Services {
		for id, o := range mixedOrders(t, c, "before-"+svc, 8) {
			want[id] = o
		}
		s.RestartService(svc)
	}
	for id, o := range mixedOrders(t, c, "after", 8) {
		want[id] = o
	}
	waitOutcomes(t, c, want)
	natstest.Eventually(t, settle, s.Quiet)
	sum := checkInvariants(t, c)
	if sum.Completed != len(want)/4 || sum.Cancelled != len(want)-len(want)/4 {
		t.Errorf("summary %+v for %d orders", sum, len(want))
	}
}

// TestRestartEveryServiceTwice stops each service in turn, twice over,
// while sagas are in flight and more are placed: the others carry on, and
// the stopped one catches up when it is back.
func TestRestartEveryServiceTwice(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	c := sagatest.NewClient(s.NC)
	restock(t, c, plentifulSKU, plentifulStock)
	want := map[string]outcome{}
	add := func(m map[string]outcome) {
		for id, o := range m {
			want[id] = o
		}
	}
	for round := range 2 {
		for _, svc := range []string{"shipping", "inventory", "payment", "order"} {
			add(mixedOrders(t, c, fmt.Sprintf("r%d-%s", round, svc), 4))
			// Funded before the stop: deposits go to payment.
			more := prepareOrders(t, c, fmt.Sprintf("r%d-%s-down", round, svc), 4)
			s.StopService(svc)
			if svc != "order" { // nobody takes orders while it is down
				add(placeAll(t, c, more))
			}
			s.StartService(svc)
			if svc == "order" {
				add(placeAll(t, c, more))
			}
		}
	}
	waitOutcomes(t, c, want)
	natstest.Eventually(t, settle, s.Quiet)
	checkInvariants(t, c)
}

// TestRestartUnderTraffic restarts each downstream service while a burst of
// sagas flows into it. A graceful stop must hand back what its consumers
// fetched but did not handle, so the new instance picks it up at once rather
// than after JetStream's AckWait.
func TestRestartUnderTraffic(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	c := sagatest.NewClient(s.NC)
	restock(t, c, plentifulSKU, plentifulStock)
	want := map[string]outcome{}
	for _, svc := range []string{"payment", "inventory", "shipping"} {
		burst := prepareOrders(t, c, "burst-"+svc, 24)
		ids := make([]string, len(burst))
		errs := make([]error, len(burst))
		var wg sync.WaitGroup
		for i, p := range burst {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := c.Place(t.Context(), p.req)
				ids[i], errs[i] = v.OrderID, err
			}()
		}
		s.RestartService(svc)
		wg.Wait()
		for i, p := range burst {
			if errs[i] != nil {
				t.Fatalf("place %+v: %v", p.req, errs[i])
			}
			want[ids[i]] = p.want
		}
	}
	waitOutcomes(t, c, want)
	natstest.Eventually(t, settle, s.Quiet)
	checkInvariants(t, c)
}

// TestNATSRestart restarts the NATS server itself while sagas are in flight:
// the services reconnect, their consumers resume, their outboxes publish
// what waited, and every saga ends as it should.
//
// A message the server counted as delivered just before it went down may
// never have reached its consumer; JetStream redelivers it only after the
// consumer's AckWait (30s by default), and until then a compensation can
// hang. The stack runs with a short AckWait so the test needs not wait that
// long.
func TestNATSRestart(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{AckWait: 2 * time.Second})
	c := sagatest.NewClient(s.NC)
	restock(t, c, plentifulSKU, plentifulStock)
	// Funded before the restart: deposits are not idempotent, so they are
	// not retried across it.
	after := prepareOrders(t, c, "after", 8)
	want := mixedOrders(t, c, "in-flight", 20)
	s.NATS.Restart(t)

	// Place more once the order service answers again. A place whose reply
	// was lost is retried with the same order id: idempotent.
	for i, p := range after {
		p.req.OrderID = fmt.Sprintf("after-nats-restart-%d", i)
		natstest.Eventually(t, wait, func() error {
			_, err := c.Place(t.Context(), p.req)
			return err
		})
		want[p.req.OrderID] = p.want
	}
	waitOutcomes(t, c, want)
	natstest.Eventually(t, settle, s.Quiet)
	checkInvariants(t, c)
}
