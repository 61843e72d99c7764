package chaos_test

// The faults operators actually hit, each as real processes and each ending
// with the contract's invariants exact: a full disk under a service, a full
// disk under nats-server, a broker that lost its store, an event too large
// to publish or to dead-letter, a burst of events for one order, and a storm
// of 409s. Sizes default to what `make test` can afford; `make chaos` runs
// them larger (CHOREO_CHAOS_FAULT_ORDERS, CHOREO_CHAOS_HOT_EVENTS).

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/sagatest/chaos"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/choreo-dev/choreo/shipping/shippingevents"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// tmpfs is a small tmpfs mounted in a private mount namespace, kept alive by
// a holder process: a service or nats-server runs in that namespace (its
// Prefix before the command) and sees the tmpfs as its data directory; the
// test fills and frees it through /proc/<holder>/root. The mount outlives
// restarts of the process in it.
type tmpfs struct {
	dir    string
	holder *exec.Cmd
}

// newTmpfs mounts a tmpfs of size (e.g. "8m") on dir, privately. It skips the
// test, saying why, where the machine does not allow it.
func newTmpfs(t *testing.T, dir, size string) *tmpfs {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: mounting a tmpfs in a private mount namespace needs root (CI runs as root)")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("skipped: no unshare(1) here")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs -o size="$1" tmpfs "$2" && echo mounted && exec sleep 1000000`, "sh", size, dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Skipf("skipped: cannot start unshare: %v", err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "mounted" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Skipf("skipped: cannot mount a tmpfs in a private mount namespace here: %s", strings.TrimSpace(stderr.String()))
	}
	f := &tmpfs{dir: dir, holder: cmd}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return f
}

// Prefix runs a command in the tmpfs's mount namespace, in the directory wd
// (entered from inside the namespace: a working directory carried in from
// outside would not see the mount beneath it).
func (f *tmpfs) Prefix(wd string) string {
	return fmt.Sprintf(`nsenter -t %d -m -- sh -c 'cd "$0" && exec "$@"' %s`, f.holder.Process.Pid, wd)
}

// Path is where a file of the tmpfs is seen from outside its namespace.
func (f *tmpfs) Path(name string) string {
	return fmt.Sprintf("/proc/%d/root%s", f.holder.Process.Pid, filepath.Join(f.dir, name))
}

// Fill writes a file until the tmpfs is full.
func (f *tmpfs) Fill(t *testing.T) {
	t.Helper()
	file, err := os.OpenFile(f.Path(".filler"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := file.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", f.dir, err)
			}
			break
		}
	}
	// The last bytes a partial page left.
	for _, n := range []int{4096, 512, 1} {
		for {
			if _, err := file.Write(buf[:n]); err != nil {
				break
			}
		}
	}
}

// Free removes what Fill wrote.
func (f *tmpfs) Free(t *testing.T) {
	t.Helper()
	if err := os.Remove(f.Path(".filler")); err != nil {
		t.Fatal(err)
	}
}

// countLines counts the lines of a process's log that contain every one of
// the words.
func countLines(t *testing.T, path string, words ...string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		all := true
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		if all {
			n++
		}
	}
	return n
}

// loadInBackground runs runLoad in a goroutine; wait returns its result.
func (w *world) loadInBackground(prefix string, n, workers int, every time.Duration, seed uint64) (wait func() *load) {
	done := make(chan *load, 1)
	go func() { done <- w.runLoad(prefix, n, workers, every, seed, mixedKind) }()
	return func() *load {
		l := <-done
		if len(l.failed) > 0 {
			w.t.Errorf("%d orders were never answered, e.g. %v", len(l.failed), firstErr(l.failed))
		}
		return l
	}
}

func firstErr(m map[string]error) error {
	for id, err := range m {
		return fmt.Errorf("%s: %w", id, err)
	}
	return nil
}

// TestDiskFullOnAService: payment's data directory fills up while orders
// flow. Its failures are the service's own (ENOSPC), not the messages':
// they are retried for as long as the disk stays full, nothing is
// dead-lettered, the operator is told once per check with the reason, and
// once there is space again every saga completes or is compensated — the
// invariants exact, payment's file consistent.
func TestDiskFullOnAService(t *testing.T) {
	orders := envInt(t, "CHOREO_CHAOS_FAULT_ORDERS", 300)
	var fs *tmpfs
	w := newWorldWith(t, chaos.Options{SagaTimeout: time.Minute}, 4, 4, func(cl *chaos.Cluster) {
		dir := filepath.Join(cl.Dir(), "payment-data")
		fs = newTmpfs(t, dir, "16m")
		if err := cl.Setenv("payment", "CHOREO_DATA_DIR="+dir); err != nil {
			t.Fatal(err)
		}
		if err := cl.Wrap("payment", fs.Prefix(cl.Dir())); err != nil {
			t.Fatal(err)
		}
	})
	w.dbPaths["payment"] = fs.Path("payment.db")
	every := 12 * time.Second / time.Duration(orders) // the load spans ~the time the disk is full
	wait := w.loadInBackground("full", orders, 16, every, 7)
	time.Sleep(time.Second)
	fs.Fill(t)
	t.Logf("payment's disk is full")
	time.Sleep(12 * time.Second)
	fs.Free(t)
	t.Logf("payment's disk has space again")
	wait()
	w.mustSettle(2 * time.Minute) // also: the DLQ is empty
	plog := w.cl.Proc("payment").Log
	told := countLines(t, plog, "not ready", "disk full")
	t.Logf("payment logged %d line(s) saying it is not ready because the disk is full:\n%s", told, grepLines(plog, "ready"))
	if told == 0 || told > 6 {
		t.Errorf("payment logged %d 'not ready … disk full' lines; want one per check that met it, not one per retry", told)
	}
	if n := countLines(t, plog, "dead-letter"); n != 0 {
		t.Errorf("payment logged %d dead-letter lines for a full disk", n)
	}
	w.shutdown()
}

// TestDiskFullOnNATS: nats-server's store fills up while orders flow.
// JetStream refuses writes (and may disable itself until restarted); the
// services keep their events in their outboxes, say why they are not ready,
// and, once the operator has made space and restarted nats-server, publish
// them: every saga ends, the invariants exact.
func TestDiskFullOnNATS(t *testing.T) {
	orders := envInt(t, "CHOREO_CHAOS_FAULT_ORDERS", 300)
	var fs *tmpfs
	w := newWorldWith(t, chaos.Options{SagaTimeout: time.Minute}, 4, 4, func(cl *chaos.Cluster) {
		fs = newTmpfs(t, filepath.Join(cl.Dir(), "data", "nats"), "64m")
		if err := cl.Wrap(cl.NATS(), fs.Prefix(cl.Dir())); err != nil {
			t.Fatal(err)
		}
	})
	wait := w.loadInBackground("natsfull", orders, 16, 12*time.Second/time.Duration(orders), 11)
	time.Sleep(time.Second)
	fs.Fill(t)
	t.Logf("nats-server's disk is full")
	// The services notice: the order service, which publishes every saga's
	// first event, says its outbox cannot publish and why.
	olog := w.cl.Proc("order").Log
	if err := waitFor(30*time.Second, 200*time.Millisecond, func() error {
		if countLines(t, olog, "not ready: outbox") == 0 {
			return errors.New("the order service has not said its outbox is stuck")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	time.Sleep(5 * time.Second)
	fs.Free(t)
	// JetStream may have disabled itself; the operator restarts nats-server.
	if err := w.cl.Kill(w.cl.NATS()); err != nil {
		t.Fatal(err)
	}
	w.cl.Start(w.cl.NATS())
	t.Logf("nats-server restarted with space again")
	wait()
	w.mustSettle(3 * time.Minute)
	t.Logf("order's log: %d 'not ready' lines:\n%s", countLines(t, olog, "not ready"), grepLines(olog, "ready"))
	t.Logf("nats-server's errors:\n%s", grepLines(w.cl.Proc(w.cl.NATS()).Log, "[ERR]"))
	w.shutdown()
}

// grepLines returns the lines of a log containing s.
func grepLines(path, s string) string {
	b, _ := os.ReadFile(path)
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// firstLine is the first line of a log containing s.
func firstLine(t *testing.T, path, s string) string {
	b, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}

// TestBrokerWipedUnderLoad: while orders flow, nats-server is stopped, its
// store deleted and started again (and, later, a stream is removed by hand).
// Nobody restarts a service: they re-create the streams and their durables,
// publish again what the broker lost from their own stores, and every saga
// ends with the invariants exact.
func TestBrokerWipedUnderLoad(t *testing.T) {
	orders := envInt(t, "CHOREO_CHAOS_FAULT_ORDERS", 300)
	w := newWorld(t, chaos.Options{SagaTimeout: time.Minute}, 4, 4)
	pids := map[string]int{}
	for _, name := range w.cl.Services() {
		pids[name] = w.cl.Proc(name).Pid()
	}
	wait := w.loadInBackground("wiped", orders, 16, 12*time.Second/time.Duration(orders), 13)
	time.Sleep(3 * time.Second)
	if err := w.cl.Kill(w.cl.NATS()); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(w.cl.Dir(), "data", "nats")); err != nil {
		t.Fatal(err)
	}
	w.cl.Start(w.cl.NATS())
	t.Logf("nats-server restarted on a wiped store")
	time.Sleep(4 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.js.DeleteStream(ctx, streams.Name("shipping")); err != nil {
		t.Fatalf("nats stream rm SHIPPING_EVENTS: %v", err)
	}
	t.Logf("SHIPPING_EVENTS removed by hand")
	wait()
	w.mustSettle(3 * time.Minute)
	for name, pid := range pids {
		if got := w.cl.Proc(name).Pid(); got != pid {
			t.Errorf("%s was restarted (pid %d, then %d): it must heal by itself", name, pid, got)
		}
	}
	w.shutdown()
}

// TestTooLargeEvents: an OrderPlaced of about 1 MiB (forged: order.place
// bodies stop at 64 KiB) is refused by payment for what it carries and
// dead-lettered with its body cut to fit and a pointer to the original —
// not retried for ever. And with a server whose max_payload is below a real
// order's event, the order service parks the event it cannot publish
// instead of holding up every event behind it; the saga is cancelled at its
// deadline, an operator drops the parked event, and the invariants hold.
func TestTooLargeEvents(t *testing.T) {
	w := newWorld(t, chaos.Options{SagaTimeout: 10 * time.Second, NATSConfExtra: "max_payload: 1MB"}, 2, 2)
	at := time.Now().UTC()
	big := orderevents.OrderPlaced{OrderID: "huge-1", CustomerID: w.funded[0],
		Items: []orderevents.Item{{SKU: w.skus[0], Quantity: 1, UnitPriceCents: 100}}, TotalCents: 100, Currency: "USD",
		ShippingAddress: sagatest.Addr("GB"), PlacedAt: at, Deadline: at.Add(time.Minute)}
	big.ShippingAddress.Name = strings.Repeat("x", 1_000_000)
	data, _ := json.Marshal(big)
	env := envelope.Envelope{ID: envelope.NewID(), Type: "OrderPlaced", SchemaVersion: 1, AggregateType: "order",
		AggregateID: "huge-1", Version: 1, OccurredAt: at, CorrelationID: "huge-1", CausationID: envelope.NewID(), Data: data}
	body, _ := json.Marshal(env)
	msg := nats.NewMsg(streams.Subject("order", "OrderPlaced", "huge-1"))
	msg.Data = body
	msg.Header.Set(jetstream.MsgIDHeader, env.ID)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := w.js.PublishMsg(ctx, msg)
	if err != nil {
		t.Fatalf("publish a %d-byte OrderPlaced: %v", len(body), err)
	}
	dlqSubject := streams.DeadLetterSubject("payment", msg.Subject)
	var letter *jetstream.RawStreamMsg
	if err := waitFor(20*time.Second, 100*time.Millisecond, func() error {
		st, err := w.js.Stream(ctx, streams.DLQ)
		if err != nil {
			return err
		}
		letter, err = st.GetLastMsgForSubject(ctx, dlqSubject)
		return err
	}); err != nil {
		t.Fatalf("the 1 MiB event was not dead-lettered: %v", err)
	}
	if len(letter.Data) >= len(body) || letter.Header.Get("Choreo-Dlq-Truncated") == "" ||
		letter.Header.Get("Choreo-Dlq-Sequence") != strconv.FormatUint(ack.Sequence, 10) {
		t.Errorf("dead letter: %d bytes of %d, headers %v; want a truncated body and the original's sequence %d",
			len(letter.Data), len(body), letter.Header, ack.Sequence)
	}
	// A real order behind it goes through.
	w.placeAndWait(ctx, "after-huge", "completed", 30*time.Second)
	if err := purgeDLQ(w.js); err != nil {
		t.Fatal(err)
	}
	w.mustSettle(time.Minute)
	w.shutdown()
}

// placeAndWait places a good order id, waits until it has the status and
// returns its order id.
func (w *world) placeAndWait(ctx context.Context, id, status string, timeout time.Duration) string {
	w.t.Helper()
	v, err := w.c.Place(ctx, w.newOrder(nil2rng(), id, good))
	if err != nil {
		w.t.Fatal(err)
	}
	w.waitStatus(ctx, v.OrderID, status, timeout)
	return v.OrderID
}

// waitStatus waits until the order has the status.
func (w *world) waitStatus(ctx context.Context, id, status string, timeout time.Duration) {
	w.t.Helper()
	if err := waitFor(timeout, 20*time.Millisecond, func() error {
		o, err := w.c.Get(ctx, id)
		if err == nil && o.Status != status {
			err = fmt.Errorf("%s is %s, want %s", id, o.Status, status)
		}
		return err
	}); err != nil {
		w.t.Fatal(err)
	}
}

// nil2rng is a fixed random source for one-off orders.
func nil2rng() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

func purgeDLQ(js jetstream.JetStream) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, streams.DLQ)
	if err != nil {
		return err
	}
	return st.Purge(ctx)
}

// TestHotOrder: 20,000 events for one order (forged no-ops: a completed
// order hears ShipmentScheduled again and again) reach the order service;
// orders placed right after still complete while that order's backlog is
// being worked off — the hot order delays only itself.
func TestHotOrder(t *testing.T) {
	hot := envInt(t, "CHOREO_CHAOS_HOT_EVENTS", 3000)
	w, metricsAddr := newHotWorld(t)
	ctx := context.Background()
	hotID := w.placeAndWait(ctx, "hot-1", "completed", time.Minute)
	w.mustSettle(time.Minute)
	w.publishHotBurst(hotID, hot)
	// Two unrelated orders, placed right after.
	start := time.Now()
	var latencies []time.Duration
	for _, id := range []string{"cold-1", "cold-2"} {
		w.placeAndWait(ctx, id, "completed", 2*time.Minute)
		latencies = append(latencies, time.Since(start))
	}
	// They completed while the hot order's events were still being worked
	// off: its backlog — in the durable, or set aside in order's store —
	// did not hold them up.
	inDurable := backlog(t, w.js, streams.Name("shipping"), "order")
	setAside := gauge(t, metricsAddr, "choreo_consumer_set_aside", `stream="`+streams.Name("shipping")+`"`)
	left := inDurable + uint64(setAside)
	t.Logf("cold orders completed after %v; the hot order still had %d events to handle (%d in the durable, %.0f set aside)",
		latencies, left, inDurable, setAside)
	if left == 0 {
		t.Errorf("the hot order's backlog was already worked off when the cold orders completed: the test did not test anything (raise CHOREO_CHAOS_HOT_EVENTS)")
	}
	// Killed with events set aside, order works them off after a restart:
	// they were acknowledged, so they are nowhere else.
	if err := w.cl.Kill("order"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.cl.Launch("order"); err != nil {
		t.Fatal(err)
	}
	waitSetAsideDrained(t, metricsAddr, 5*time.Minute)
	t.Logf("the hot order's events were all handled %v after the burst", time.Since(start))
	w.mustSettle(5 * time.Minute)
	w.shutdown()
}

// newHotWorld is a world whose order service serves /metrics (what it has
// set aside) at the address returned, and env in every process.
func newHotWorld(t *testing.T, env ...string) (*world, string) {
	t.Helper()
	var metricsAddr string
	w := newWorldWith(t, chaos.Options{SagaTimeout: time.Minute, Env: env}, 2, 2, func(cl *chaos.Cluster) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		metricsAddr = l.Addr().String()
		l.Close()
		if err := cl.Setenv("order", "CHOREO_HTTP_ADDR="+metricsAddr); err != nil {
			t.Fatal(err)
		}
	})
	return w, metricsAddr
}

// publishHotBurst publishes n more ShipmentScheduled events (new ids) for
// the completed order orderID, as fast as JetStream takes them: order hears
// every one.
func (w *world) publishHotBurst(orderID string, n int) {
	t := w.t
	t.Helper()
	sh, err := w.c.Shipment(context.Background(), orderID)
	if err != nil {
		t.Fatal(err)
	}
	ev := shippingevents.ShipmentScheduled{OrderID: orderID, ShipmentID: sh.ShipmentID, Carrier: sh.Carrier,
		TrackingNumber: sh.TrackingNumber, Country: "GB"}
	data, _ := json.Marshal(ev)
	subject := streams.Subject("shipping", ev.EventType(), orderID)
	var futures []jetstream.PubAckFuture
	wait := func() {
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				t.Fatal(err)
			}
		}
		futures = futures[:0]
	}
	for i := range n {
		if len(futures) == 1000 {
			// Below the client's bound on publishes awaiting their PubAck
			// (4,000), or it stalls.
			wait()
		}
		env := envelope.Envelope{ID: envelope.NewID(), Type: ev.EventType(), SchemaVersion: 1, AggregateType: "shipment",
			AggregateID: orderID, Version: uint64(i + 2), OccurredAt: time.Now().UTC(), CorrelationID: orderID,
			CausationID: envelope.NewID(), Data: data}
		body, _ := json.Marshal(env)
		m := nats.NewMsg(subject)
		m.Data = body
		m.Header.Set(jetstream.MsgIDHeader, env.ID)
		f, err := w.js.PublishMsgAsync(m)
		if err != nil {
			t.Fatal(err)
		}
		futures = append(futures, f)
	}
	wait()
	t.Logf("%d events for order %s published", n, orderID)
}

// waitSetAsideDrained waits until order has nothing set aside (settling
// looks at the durables only), through restarts.
func waitSetAsideDrained(t *testing.T, metricsAddr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for setAside := -1.0; setAside != 0; setAside = gaugeOr(metricsAddr, "choreo_consumer_set_aside", `stream="`+streams.Name("shipping")+`"`, -1) {
		if time.Now().After(deadline) {
			t.Fatalf("the events set aside were not all handled within %v", within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// gauge reads a gauge from a service's /metrics: the sum of its series
// whose labels include label.
func gauge(t *testing.T, addr, name, label string) float64 {
	t.Helper()
	v, err := readGauge(addr, name, label)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// gaugeOr is gauge, or def while the service does not answer (or has no
// such series yet: restarting).
func gaugeOr(addr, name, label string, def float64) float64 {
	v, err := readGauge(addr, name, label)
	if err != nil {
		return def
	}
	return v
}

func readGauge(addr, name, label string) (float64, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	var sum float64
	found := false
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, name+"{") || !strings.Contains(line, label) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", line, err)
		}
		sum, found = sum+v, true
	}
	if !found {
		return 0, fmt.Errorf("no %s{%s} series", name, label)
	}
	return sum, nil
}

// backlog is how many messages a durable has yet to handle.
func backlog(t *testing.T, js jetstream.JetStream, stream, durable string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := js.Consumer(ctx, stream, durable)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.NumPending + uint64(info.NumAckPending)
}

// TestConflictStorm: 64 clients cancel a completed order over and over —
// every request a 409 — while orders are placed. The refusals change
// nothing, the orders go through, and the invariants are exact.
func TestConflictStorm(t *testing.T) {
	orders := envInt(t, "CHOREO_CHAOS_FAULT_ORDERS", 300)
	w := newWorld(t, chaos.Options{}, 4, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done, err := w.c.Place(ctx, w.newOrder(nil2rng(), "done-1", good))
	if err != nil {
		t.Fatal(err)
	}
	w.mustSettle(time.Minute)
	var conflicts, others atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client.New(w.nc)
			for ctx.Err() == nil {
				_, err := c.Cancel(ctx, done.OrderID, "storm")
				switch {
				case errors.Is(err, client.ErrConflict):
					conflicts.Add(1)
				case ctx.Err() != nil:
				default:
					others.Add(1)
				}
			}
		}()
	}
	start := time.Now()
	l := w.runLoad("storm", orders, 16, 0, 17, mixedKind)
	took := time.Since(start)
	cancel()
	wg.Wait()
	t.Logf("%d orders placed in %v (%.0f/s) under %d 409s (%.0f/s); %d other replies",
		len(l.replied), took.Round(time.Millisecond), float64(len(l.replied))/took.Seconds(),
		conflicts.Load(), float64(conflicts.Load())/took.Seconds(), others.Load())
	if len(l.failed) > 0 {
		t.Errorf("%d orders were never answered, e.g. %v", len(l.failed), firstErr(l.failed))
	}
	if conflicts.Load() == 0 {
		t.Error("no 409 was answered: no storm")
	}
	if o, err := w.c.Get(context.Background(), done.OrderID); err != nil || o.Status != "completed" {
		t.Errorf("the completed order: %+v %v", o, err)
	}
	w.mustSettle(2 * time.Minute)
	w.shutdown()
}

// TestEventTooLargeToPublishIsParked: with a server whose max_payload is
// below a large (but valid) order's OrderPlaced, the order service cannot
// publish that event: it parks it instead of retrying it for ever, the
// events behind it (other orders, the cancellation at its deadline) go out,
// an operator sees it on order.parked and drops it, and the invariants
// hold.
func TestEventTooLargeToPublishIsParked(t *testing.T) {
	w := newWorld(t, chaos.Options{SagaTimeout: 10 * time.Second, NATSConfExtra: "max_payload: 8KB"}, 2, 2)
	ctx := context.Background()
	big := w.newOrder(nil2rng(), "big-1", good)
	// A request just under the server's max payload, whose OrderPlaced —
	// the same order plus the envelope, the total and the deadline — is over
	// it.
	big.Items = nil
	for i := 0; ; i++ {
		big.Items = append(big.Items, client.Item{SKU: fmt.Sprintf("bigsku-%030d", i), Quantity: 1, UnitPriceCents: 1})
		if b, _ := json.Marshal(big); len(b) > 7800 {
			break
		}
	}
	v, err := w.c.Place(ctx, big)
	if err != nil {
		t.Fatal(err)
	}
	normal, err := w.c.Place(ctx, w.newOrder(nil2rng(), "small-1", good))
	if err != nil {
		t.Fatal(err)
	}
	var parked struct {
		Parked []struct {
			Seq     uint64 `json:"seq"`
			Subject string `json:"subject"`
			Bytes   int    `json:"bytes"`
			Reason  string `json:"reason"`
		} `json:"parked"`
	}
	if err := waitFor(20*time.Second, 100*time.Millisecond, func() error {
		if err := w.c.Call(ctx, "order.parked", struct{}{}, &parked); err != nil {
			return err
		}
		if len(parked.Parked) != 1 {
			return fmt.Errorf("%d parked", len(parked.Parked))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	p := parked.Parked[0]
	if p.Subject != streams.Subject("order", "OrderPlaced", v.OrderID) || !strings.Contains(p.Reason, "too large") {
		t.Fatalf("parked %+v", p)
	}
	t.Logf("parked: %+v", p)
	// The entries behind it went out: the other order completes, and the big
	// one is cancelled at its deadline.
	for id, want := range map[string]string{normal.OrderID: "completed", v.OrderID: "cancelled"} {
		w.waitStatus(ctx, id, want, 40*time.Second)
	}
	if n := countLines(t, w.cl.Proc("order").Log, "not ready: outbox.parked"); n != 1 {
		t.Errorf("the order service said %d times that an entry is parked, want once", n)
	}
	var dropped map[string]any
	if err := w.c.Call(ctx, "order.parked_drop", map[string]uint64{"seq": p.Seq}, &dropped); err != nil {
		t.Fatal(err)
	}
	w.mustSettle(time.Minute)
	w.shutdown()
}
