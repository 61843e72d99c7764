package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/inventory"
	"github.com/choreo-dev/choreo/order"
	"github.com/choreo-dev/choreo/payment"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/sagatest/chaos"
	"github.com/choreo-dev/choreo/shared/consumer"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/natsauth"
	"github.com/choreo-dev/choreo/shared/partition"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/choreo-dev/choreo/shipping"
	"github.com/choreo-dev/choreo/stack/stacktest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	bolt "go.etcd.io/bbolt"
)

func TestMain(m *testing.M) { stacktest.Main(m) }

// binaries builds the Procfile's programs once per test binary (the
// Go build cache makes it quick after the first time) and returns their
// directory.
func binaries(t testing.TB) string {
	t.Helper()
	return stacktest.Bin(t)
}

// durables are the services' durable consumers, by the stream they
// consume, as their declarations derive them.
var durables = durablesFor(partition.Whole)

// durablesFor are the durables of services run as partitions like p.
func durablesFor(p partition.Partition) map[string][]string {
	out := map[string][]string{}
	for _, d := range sagatest.Declarations() {
		for _, cc := range consumer.For(d, p) {
			for i := range max(1, p.Count) {
				name := cc.Service + partition.Partition{Index: i, Count: p.Count}.Suffix()
				if !contains(out[cc.Stream], name) {
					out[cc.Stream] = append(out[cc.Stream], name)
				}
			}
		}
	}
	return out
}

// The test world: customers with money, customers without, SKUs with stock
// and one SKU that never has enough.
const (
	scarceSKU   = "sku-scarce" // restocked with 1 unit; its orders ask for more
	unserved    = "BR"         // not among the served countries
	fundedCents = 1_000_000_000
	skuStock    = 1_000_000
)

// world is a running cluster and a client that knows what it did.
type world struct {
	t      *testing.T
	cl     *chaos.Cluster
	nc     *nats.Conn
	js     jetstream.JetStream
	c      *sagatest.Client
	funded []string
	broke  []string
	skus   []string
	// durables are the durable consumers the services run.
	durables map[string][]string
	// dbPaths overrides where a service's bbolt file is (one in a tmpfs of
	// its own mount namespace, say).
	dbPaths map[string]string
}

// dbPath is where a service's bbolt file is.
func (w *world) dbPath(name string) string {
	if p, ok := w.dbPaths[name]; ok {
		return p
	}
	return w.cl.DBPath(name)
}

// newWorld starts nats-server and the four services as processes, and
// deposits to customers and restocks SKUs (before anything is killed: a
// deposit is not idempotent, so it is only retried while its outcome can be
// read back unambiguously).
func newWorld(t *testing.T, opts chaos.Options, customers, skus int) *world {
	t.Helper()
	return newWorldWith(t, opts, customers, skus, nil)
}

// newWorldWith is newWorld with setup run on the cluster before anything
// starts (a process's environment or command prefix, say).
func newWorldWith(t *testing.T, opts chaos.Options, customers, skus int, setup func(*chaos.Cluster)) *world {
	t.Helper()
	cl := chaos.New(t, binaries(t), opts)
	if setup != nil {
		setup(cl)
	}
	cl.StartAll()
	nc := cl.Connect(t)
	// Streams and durables are inspected, and in some scenarios changed, as
	// the admin (the same anonymous user outside the secure profile).
	js, err := jetstream.New(cl.ConnectAs(t, natsauth.Admin))
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, cl: cl, nc: nc, js: js, c: sagatest.NewClient(nc), dbPaths: map[string]string{},
		durables: durablesFor(partition.Partition{Index: 0, Count: max(1, opts.Partitions)})}
	for i := range customers {
		w.funded = append(w.funded, fmt.Sprintf("cust-%02d", i))
		w.broke = append(w.broke, fmt.Sprintf("broke-%02d", i%5))
	}
	for i := range skus {
		w.skus = append(w.skus, fmt.Sprintf("sku-%02d", i))
	}
	for _, cust := range w.funded {
		w.deposit(cust, fundedCents)
	}
	for _, sku := range w.skus {
		w.restock(sku, skuStock)
	}
	w.restock(scarceSKU, 1)
	// Verify what the ledger says against the services.
	for _, cust := range w.funded {
		if b, err := w.c.Balance(w.t.Context(), cust); err != nil || b.BalanceCents != fundedCents {
			t.Fatalf("after seeding, %s has %+v (%v), want %d", cust, b, err, fundedCents)
		}
	}
	return w
}

// deposit credits a fresh customer once. A request that times out may or
// may not have been applied: the balance tells which.
func (w *world) deposit(cust string, cents int64) {
	w.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := w.c.Deposit(w.t.Context(), cust, cents) // records it in the ledger on success
		if err == nil {
			return
		}
		var re *client.Error
		if errors.As(err, &re) && re.Status < 500 {
			w.t.Fatalf("deposit to %s: %v", cust, err)
		}
		if b, berr := w.c.Balance(w.t.Context(), cust); berr == nil && b.BalanceCents == cents {
			w.c.Ledger.Deposits[cust] += cents // nothing else runs yet
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("deposit to %s: %v", cust, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// restock adds stock to a fresh SKU once, like deposit.
func (w *world) restock(sku string, qty int64) {
	w.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := w.c.Restock(w.t.Context(), sku, qty)
		if err == nil {
			return
		}
		var re *client.Error
		if errors.As(err, &re) && re.Status < 500 {
			w.t.Fatalf("restock %s: %v", sku, err)
		}
		if s, serr := w.c.Stock(w.t.Context(), sku); serr == nil && s.Available == qty {
			w.c.Ledger.Restocked[sku] += qty
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("restock %s: %v", sku, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kind is what an order is meant to do.
type kind int

const (
	good       kind = iota // funded customer, stocked SKU, served country: completes
	noFunds                // a customer without money: payment fails
	noStock                // more than the scarce SKU has: inventory fails
	noShipping             // an unserved country: shipping fails
)

func (k kind) String() string {
	return [...]string{"good", "payment_failed", "insufficient_stock", "shipping_failed"}[k]
}

// newOrder makes order id of the given kind.
func (w *world) newOrder(rng *rand.Rand, id string, k kind) client.PlaceRequest {
	countries := []string{"US", "CA", "GB", "DE", "FR", "NL", "JP", "AU"}
	r := client.PlaceRequest{
		OrderID:         id,
		CustomerID:      w.funded[rng.IntN(len(w.funded))],
		ShippingAddress: sagatest.Addr(countries[rng.IntN(len(countries))]),
	}
	lines := 1 + rng.IntN(2)
	for range lines {
		r.Items = append(r.Items, client.Item{
			SKU:            w.skus[rng.IntN(len(w.skus))],
			Quantity:       1 + rng.Int64N(3),
			UnitPriceCents: 100 + rng.Int64N(5_000),
		})
	}
	if lines == 2 && r.Items[0].SKU == r.Items[1].SKU {
		r.Items = r.Items[:1]
	}
	switch k {
	case noFunds:
		r.CustomerID = w.broke[rng.IntN(len(w.broke))]
	case noStock:
		r.Items = append(r.Items, client.Item{SKU: scarceSKU, Quantity: 2 + rng.Int64N(3), UnitPriceCents: 500})
	case noShipping:
		r.ShippingAddress = sagatest.Addr(unserved)
	}
	return r
}

// mixedKind is ~80% good orders, the rest failing at one of the three steps.
func mixedKind(rng *rand.Rand) kind {
	if rng.IntN(100) < 80 {
		return good
	}
	return kind(1 + rng.IntN(3))
}

// placeUntilAnswered places r and, while no answer comes (a timeout, no
// responders, a 500 from a service going down), places it again with the
// same order_id and content — idempotent — until an answer or giveUp. It
// returns the view and how many attempts it took.
func placeUntilAnswered(nc *nats.Conn, r client.PlaceRequest, giveUp time.Time) (client.OrderView, int, error) {
	// A chaos client gives up on a lost request sooner than the suite's 10s.
	c := client.New(nc, client.WithTimeout(2*time.Second))
	for attempt := 1; ; attempt++ {
		v, err := c.Place(context.Background(), r)
		if err == nil {
			return v, attempt, nil
		}
		var re *client.Error
		if errors.As(err, &re) && re.Status < 500 {
			return v, attempt, err // a 4xx is an answer, and a wrong one
		}
		if errors.Is(err, nats.ErrConnectionClosed) || time.Now().After(giveUp) {
			return v, attempt, fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		if errors.Is(err, nats.ErrNoResponders) {
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// load is what a run of orders did.
type load struct {
	mu       sync.Mutex
	kinds    map[string]kind   // every order attempted
	replied  map[string]bool   // orders order.place answered with success
	failed   map[string]error  // orders without a success answer
	attempts int               // order.place requests sent
	views    map[string]string // order id -> status in the reply
}

// runLoad places n orders named prefix-i from workers goroutines, one
// every `every` (0: as fast as they go), each of kindOf's kind, tracking each
// in the ledger before its first attempt. It blocks until all are answered
// or given up on.
func (w *world) runLoad(prefix string, n, workers int, every time.Duration, seed uint64, kindOf func(*rand.Rand) kind) *load {
	l := &load{kinds: map[string]kind{}, replied: map[string]bool{}, failed: map[string]error{}, views: map[string]string{}}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	type job struct {
		r client.PlaceRequest
		k kind
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				v, attempts, err := placeUntilAnswered(w.nc, j.r, time.Now().Add(90*time.Second))
				l.mu.Lock()
				l.attempts += attempts
				if err != nil {
					l.failed[j.r.OrderID] = err
				} else {
					l.replied[j.r.OrderID] = true
					l.views[j.r.OrderID] = v.Status
				}
				l.mu.Unlock()
			}
		}()
	}
	start := time.Now()
	for i := range n {
		if every > 0 {
			if d := time.Until(start.Add(time.Duration(i) * every)); d > 0 {
				time.Sleep(d)
			}
		}
		k := kindOf(rng)
		r := w.newOrder(rng, fmt.Sprintf("%s-%04d", prefix, i), k)
		l.mu.Lock()
		l.kinds[r.OrderID] = k
		l.mu.Unlock()
		w.c.Ledger.Track(r)
		jobs <- job{r, k}
	}
	close(jobs)
	wg.Wait()
	return l
}

// quiet returns nil once every durable consumer exists and has neither
// messages left to deliver nor deliveries waiting for an ack.
func quiet(js jetstream.JetStream, durables map[string][]string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for stream, names := range durables {
		for _, name := range names {
			cons, err := js.Consumer(ctx, stream, name)
			if err != nil {
				return fmt.Errorf("consumer %s on %s: %w", name, stream, err)
			}
			info, err := cons.Info(ctx)
			if err != nil {
				return fmt.Errorf("consumer %s on %s: %w", name, stream, err)
			}
			if info.NumPending > 0 || info.NumAckPending > 0 {
				return fmt.Errorf("consumer %s on %s: %d pending, %d unacknowledged", name, stream, info.NumPending, info.NumAckPending)
			}
		}
	}
	return nil
}

// setAckWait changes the AckWait of the named services' durables, keeping
// the rest of their config. Test-only: a service re-applies its own config
// when it (re)starts, so call it again after a restart.
func setAckWait(t testing.TB, js jetstream.JetStream, d time.Duration, services ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for stream, names := range durables {
		for _, name := range names {
			if len(services) > 0 && !contains(services, name) {
				continue
			}
			cons, err := js.Consumer(ctx, stream, name)
			if err != nil {
				t.Fatalf("consumer %s on %s: %v", name, stream, err)
			}
			info, err := cons.Info(ctx)
			if err != nil {
				t.Fatalf("consumer %s on %s: %v", name, stream, err)
			}
			cfg := info.Config
			cfg.AckWait = d
			if _, err := js.CreateOrUpdateConsumer(ctx, stream, cfg); err != nil {
				t.Fatalf("set AckWait of %s on %s: %v", name, stream, err)
			}
		}
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

// dlqLen is the number of dead letters, with the first few described.
func dlqLen(js jetstream.JetStream) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, streams.DLQ)
	if err != nil {
		return 0, "", err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, "", err
	}
	n := int(info.State.Msgs)
	var desc []string
	for seq := info.State.FirstSeq; n > 0 && seq <= info.State.LastSeq && len(desc) < 5; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		desc = append(desc, fmt.Sprintf("%s (%s deliveries): %s", m.Subject,
			m.Header.Get("Choreo-Dlq-Deliveries"), m.Header.Get("Choreo-Dlq-Error")))
	}
	return n, strings.Join(desc, "; "), nil
}

// lastSeqs is each Choreo event stream's last sequence.
func lastSeqs(t testing.TB, js jetstream.JetStream) map[string]uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := map[string]uint64{}
	for stream := range durables {
		st, err := js.Stream(ctx, stream)
		if err != nil {
			t.Fatalf("stream %s: %v", stream, err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			t.Fatalf("stream %s: %v", stream, err)
		}
		out[stream] = info.State.LastSeq
	}
	return out
}

// registries are the services' event registries, to open their stores.
var registries = map[string]func() *envelope.Registry{
	"order": order.Registry, "payment": payment.Registry,
	"inventory": inventory.Registry, "shipping": shipping.Registry,
}

// shutdown stops the services with SIGTERM — each must exit 0 without
// publishing anything more (a quiet stack has empty outboxes) — and then
// checks every bbolt file: consistent (tx.Check, read-only) and with an
// empty outbox.
func (w *world) shutdown() {
	w.t.Helper()
	before := lastSeqs(w.t, w.js)
	for _, name := range w.cl.Services() {
		start := time.Now()
		ex, err := w.cl.Stop(name, 30*time.Second)
		if took := time.Since(start); took > 5*time.Second {
			w.t.Logf("%s took %v to exit after SIGTERM", name, took.Round(time.Millisecond))
		}
		if err != nil {
			w.t.Errorf("%v", err)
		} else if ex.Code != 0 {
			w.t.Errorf("%s exited %d after SIGTERM, want 0", name, ex.Code)
		}
	}
	after := lastSeqs(w.t, w.js)
	for stream, seq := range before {
		if after[stream] != seq {
			w.t.Errorf("%s grew from %d to %d during the shutdown: an outbox still held events when the stack was quiet", stream, seq, after[stream])
		}
	}
	for _, name := range w.cl.Services() {
		checkStore(w.t, w.dbPath(name), name)
	}
}

// checkStore runs bbolt's consistency check on a service's file, read-only,
// and checks its outbox is empty.
func checkStore(t testing.TB, path, service string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Errorf("open %s read-only: %v", path, err)
		return
	}
	err = db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
	db.Close()
	if err != nil {
		t.Errorf("%s: bbolt check: %v", path, err)
	}
	base, _, _ := strings.Cut(service, "-p") // a partition's file: order-p1
	st, err := eventstore.Open(path, eventstore.Options{Service: base, Registry: registries[base]()})
	if err != nil {
		t.Errorf("open %s: %v", path, err)
		return
	}
	defer st.Close()
	if n, err := st.OutboxLen(t.Context()); err != nil || n != 0 {
		t.Errorf("%s: outbox holds %d entries (%v), want 0", service, n, err)
	}
}

// countViolations counts the violations in a CheckInvariants error, which
// lists at most ten and then "… and N more".
func countViolations(err error) int {
	if err == nil {
		return 0
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return 1
	}
	errs := joined.Unwrap()
	n := len(errs)
	var more int
	if _, err := fmt.Sscanf(errs[n-1].Error(), "… and %d more", &more); err == nil {
		n += more - 1
	}
	return n
}

// waitFor calls f until it returns nil or timeout passes, and returns f's
// last error. Unlike natstest.Eventually it does not fail the test, so a
// test can report what it measured first.
func waitFor(timeout, every time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(every)
	}
}

// settle waits until the stack is quiet and the invariants hold, and
// returns how long that took and the last error.
func (w *world) settle(timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	var sum sagatest.Summary
	err := waitFor(timeout, 250*time.Millisecond, func() error {
		if err := quiet(w.js, w.durables); err != nil {
			return err
		}
		var err error
		sum, err = w.c.CheckInvariants(w.t.Context())
		return err
	})
	if err == nil {
		w.t.Logf("settled in %v: %d sagas (%d completed, %d cancelled), every invariant of section 4 exact",
			time.Since(start).Round(time.Millisecond), sum.Sagas, sum.Completed, sum.Cancelled)
	}
	return time.Since(start), err
}

// mustSettle is settle that fails the test.
func (w *world) mustSettle(timeout time.Duration) {
	w.t.Helper()
	if _, err := w.settle(timeout); err != nil {
		w.t.Fatalf("not settled within %v: %v", timeout, err)
	}
	if n, desc, err := dlqLen(w.js); err != nil || n != 0 {
		w.t.Errorf("DLQ holds %d dead letters (%v): %s", n, err, desc)
	}
}
