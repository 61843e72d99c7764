package chaos_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/sagatest/chaos"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/choreo-dev/choreo/stack"
	"github.com/choreo-dev/choreo/stack/stacktest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func allGood(*rand.Rand) kind { return good }

// TestRepublishPastDuplicateWindow: the payment service is down for longer
// than ORDER_EVENTS' duplicate window while the order service publishes, and
// then every OrderPlaced is published again under its original Nats-Msg-Id —
// as a relay does after a crash between the PubAck and deleting its outbox
// entry. JetStream, past the window, stores the copies; the payment service's
// inbox must make them harmless: each order is charged exactly once.
func TestRepublishPastDuplicateWindow(t *testing.T) {
	w := newWorld(t, chaos.Options{}, 1, 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Test-only: shrink the window from 2 minutes to 1 second. The services
	// set it back when they (re)start, which is fine once the copies are in.
	st, err := w.js.Stream(ctx, streams.Name("order"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	cfg.Duplicates = time.Second
	if _, err := w.js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := w.cl.Kill("payment"); err != nil {
		t.Fatal(err)
	}

	l := w.runLoad("dup", 5, 1, 0, 1, allGood)
	if len(l.failed) > 0 {
		t.Fatalf("order.place failed: %v", l.failed)
	}
	msgs := map[string]*jetstream.RawStreamMsg{}
	for id := range l.kinds {
		subj := "order.events.OrderPlaced." + id
		natstest.Eventually(t, 10*time.Second, func() error {
			m, err := st.GetLastMsgForSubject(ctx, subj)
			msgs[id] = m
			return err
		})
	}
	// Past the window (the server purges expired ids on a timer, so a copy
	// may still be refused as a duplicate for a moment: retry until stored).
	time.Sleep(1500 * time.Millisecond)
	for id, m := range msgs {
		natstest.Eventually(t, 10*time.Second, func() error {
			// As the relay publishes it: the body and the event id. Not the
			// stored headers: if the original went in an atomic batch, its
			// Nats-Batch-* headers would make this a fragment of a batch
			// that never commits.
			out := nats.NewMsg(m.Subject)
			out.Data = m.Data
			out.Header.Set(jetstream.MsgIDHeader, m.Header.Get(jetstream.MsgIDHeader))
			ack, err := w.js.PublishMsg(ctx, out)
			if err != nil {
				return err
			}
			if ack.Duplicate {
				return fmt.Errorf("%s: Nats-Msg-Id %s still inside the duplicate window", id, m.Header.Get(jetstream.MsgIDHeader))
			}
			return nil
		})
	}
	counts := subjectCounts(t, w.js, streams.Name("order"), "order.events.OrderPlaced.>")
	for id := range l.kinds {
		if n := counts["order.events.OrderPlaced."+id]; n != 2 {
			t.Fatalf("ORDER_EVENTS holds %d copies of %s's OrderPlaced, want 2", n, id)
		}
	}

	w.cl.Start("payment")
	w.mustSettle(time.Minute)
	var total int64
	for id := range l.kinds {
		v, err := w.c.Get(w.t.Context(), id)
		if err != nil || v.Status != "completed" {
			t.Errorf("order %s: %+v (%v), want completed", id, v, err)
		}
		total += v.TotalCents
		if p, err := w.c.Payment(w.t.Context(), id); err != nil || p.Status != "charged" || p.AmountCents != v.TotalCents {
			t.Errorf("payment of %s: %+v (%v)", id, p, err)
		}
	}
	cust := w.funded[0]
	if b, err := w.c.Balance(w.t.Context(), cust); err != nil || b.BalanceCents != fundedCents-total {
		t.Errorf("%s: balance %+v (%v), want %d: each order charged exactly once", cust, b, err, fundedCents-total)
	}
	wantEachEventOnce(t, w.js, "order.events.OrderPlaced.")
	w.shutdown()
}

// TestSigtermDuringLoad: each service in turn gets SIGTERM in the middle of
// a load; it must drain and exit 0, and after it is started again nothing is
// left half-done.
func TestSigtermDuringLoad(t *testing.T) {
	w := newWorld(t, chaos.Options{}, 10, 4)
	var (
		mu   sync.Mutex
		errs []error
		done = make(chan struct{})
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		errs = append(errs, fmt.Errorf(format, args...))
		mu.Unlock()
	}
	go func() {
		defer close(done)
		for _, name := range w.cl.Services() {
			time.Sleep(700 * time.Millisecond)
			p := w.cl.Proc(name)
			start := time.Now()
			ex, err := w.cl.Stop(name, 30*time.Second)
			switch {
			case err != nil:
				fail("%v", err)
				continue
			case ex.Code != 0:
				fail("%s exited %d after SIGTERM, want 0", name, ex.Code)
			case !strings.Contains(p.Output(), `"message":"stopped"`):
				fail("%s exited without logging that it stopped cleanly", name)
			}
			t.Logf("%s drained and exited %d in %v; left for redelivery after AckWait: %s",
				name, ex.Code, time.Since(start).Round(time.Millisecond), ackPending(w.js, name))
			if _, err := w.cl.Launch(name); err != nil {
				fail("%v", err)
			} else if err := w.cl.WaitReady(t.Context(), name); err != nil {
				fail("%v", err)
			}
		}
	}()
	l := w.runLoad("term", 150, 4, 40*time.Millisecond, 2, mixedKind)
	<-done
	for _, err := range errs {
		t.Error(err)
	}
	for id, err := range l.failed {
		t.Errorf("order %s: %v", id, err)
	}
	if err := w.cl.EnsureRunning(t.Context()); err != nil {
		t.Fatal(err)
	}
	w.mustSettle(90 * time.Second)
	wantEachEventOnce(t, w.js)
	w.shutdown()
}

// ackPending describes the deliveries a service's durables wait on.
func ackPending(js jetstream.JetStream, service string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out []string
	for stream, names := range durables {
		if !contains(names, service) {
			continue
		}
		cons, err := js.Consumer(ctx, stream, service)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %v", stream, err))
			continue
		}
		info, err := cons.Info(ctx)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %v", stream, err))
			continue
		}
		out = append(out, fmt.Sprintf("%s %d", stream, info.NumAckPending))
	}
	return strings.Join(out, ", ")
}

// TestSecondInstanceFailsFast: a second process of a service on the same
// data directory fails within seconds, says why, and leaves the first alone.
func TestSecondInstanceFailsFast(t *testing.T) {
	w := newWorld(t, chaos.Options{}, 1, 1)
	type second struct {
		p     *stack.Proc
		start time.Time
	}
	seconds := map[string]second{}
	for _, name := range w.cl.Services() {
		p, err := w.cl.LaunchExtra(name+"-second", name)
		if err != nil {
			t.Fatal(err)
		}
		seconds[name] = second{p, time.Now()}
	}
	for name, s := range seconds {
		if !s.p.Wait(10 * time.Second) {
			t.Errorf("a second %s on the same data directory is still running after 10s", name)
			continue
		}
		took := time.Since(s.start)
		out := s.p.Output()
		if code := s.p.ExitCode(); code == 0 {
			t.Errorf("second %s exited 0, want a failure", name)
		}
		if took > 8*time.Second {
			t.Errorf("second %s took %v to fail", name, took)
		}
		if !strings.Contains(out, "another instance") || !strings.Contains(out, "locked") {
			t.Errorf("second %s's output does not say the store is locked by another instance:\n%s", name, out)
		}
		t.Logf("second %s failed in %v", name, took.Round(time.Millisecond))
	}
	for _, name := range w.cl.Services() {
		if !w.cl.Running(name) {
			t.Errorf("the first %s stopped", name)
		}
	}
	// The first instances still work: a saga runs through all four.
	l := w.runLoad("first", 3, 1, 0, 3, allGood)
	if len(l.failed) > 0 {
		t.Fatalf("order.place: %v", l.failed)
	}
	w.mustSettle(time.Minute)
	for id := range l.kinds {
		if v, err := w.c.Get(w.t.Context(), id); err != nil || v.Status != "completed" {
			t.Errorf("order %s: %+v (%v), want completed", id, v, err)
		}
	}
	w.shutdown()
}

// TestNATSKilledWithUnackedPublishes: nats-server is SIGKILLed right after a
// burst of order.place replies, while the relays have publishes in flight
// and the consumers deliveries unacknowledged; once it is back, every order
// completes, once.
func TestNATSKilledWithUnackedPublishes(t *testing.T) {
	w := newWorld(t, chaos.Options{}, 5, 4)
	// Deliveries whose acks die with the server come back after AckWait:
	// shorten it (test-only; the services do not restart here) so the test
	// does not wait 30s for them.
	setAckWait(t, w.js, 2*time.Second)
	l := w.runLoad("burst", 60, 12, 0, 4, allGood)
	if err := w.cl.Kill(w.cl.NATS()); err != nil {
		t.Fatal(err)
	}
	if len(l.failed) > 0 {
		t.Fatalf("order.place: %v", l.failed)
	}
	time.Sleep(300 * time.Millisecond) // down for a moment
	w.cl.Start(w.cl.NATS())
	w.mustSettle(time.Minute)
	for id := range l.kinds {
		if v, err := w.c.Get(w.t.Context(), id); err != nil || v.Status != "completed" {
			t.Errorf("order %s: %+v (%v), want completed", id, v, err)
		}
	}
	var failing []string
	for _, name := range w.cl.Services() {
		if strings.Contains(w.cl.Proc(name).Output(), "outbox publish failed") {
			failing = append(failing, name)
		}
	}
	t.Logf("relays that had publishes fail and retried them: %v", failing)
	wantEachEventOnce(t, w.js)
	w.shutdown()
}

// TestPausedPastAckWait: the payment and the order service are paused with
// SIGSTOP for longer than their consumers' AckWait while orders keep coming;
// JetStream redelivers what they hold, and when they resume they handle both
// the late originals and the redeliveries: no second effect. The pauses
// overlap so that each paused service has events waiting for it: OrderPlaced
// piles up for the paused payment service, and once it resumes its charges
// go to the paused order service (whose order.place requests meanwhile time
// out and are retried, so it also finds duplicates of them queued).
func TestPausedPastAckWait(t *testing.T) {
	w := newWorld(t, chaos.Options{}, 10, 4)
	// Test-only: AckWait 1s instead of 30s, so a 4s pause exceeds it.
	setAckWait(t, w.js, time.Second, "order", "payment")
	done := make(chan *load)
	go func() { done <- w.runLoad("pause", 200, 8, 50*time.Millisecond, 5, mixedKind) }()
	signal := func(after time.Duration, sig func(string) error, name string) {
		time.Sleep(after)
		if err := sig(name); err != nil {
			t.Error(err)
		}
	}
	signal(time.Second, w.cl.Pause, "payment")
	signal(3*time.Second, w.cl.Pause, "order")
	signal(time.Second, w.cl.Cont, "payment")         // paused 4s
	signal(3500*time.Millisecond, w.cl.Cont, "order") // paused 4.5s
	l := <-done
	for id, err := range l.failed {
		t.Errorf("order %s: %v", id, err)
	}
	w.mustSettle(time.Minute)

	// The pauses did cause redeliveries: more deliveries than messages.
	for _, name := range []string{"payment", "order"} {
		n := 0
		for stream, names := range durables {
			if contains(names, name) {
				n += redeliveries(t, w.js, stream, name)
			}
		}
		t.Logf("%d redeliveries to %s", n, name)
		if n == 0 {
			t.Errorf("pausing %s past AckWait caused no redelivery: the scenario did not happen", name)
		}
	}
	// CheckInvariants (in mustSettle) found every balance exact; the
	// streams agree: one event per type and order.
	wantEachEventOnce(t, w.js)
	w.shutdown()
}

// redeliveries is how many more deliveries a durable made than there are
// messages it is filtered to.
func redeliveries(t testing.TB, js jetstream.JetStream, stream, durable string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cons, err := js.Consumer(ctx, stream, durable)
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	filters := info.Config.FilterSubjects
	if info.Config.FilterSubject != "" {
		filters = append(filters, info.Config.FilterSubject)
	}
	msgs := 0
	for _, f := range filters {
		for _, n := range subjectCounts(t, js, stream, f) {
			msgs += int(n)
		}
	}
	return int(info.Delivered.Consumer) - msgs
}

// TestNATSSyncAlways: nats.conf makes JetStream fsync before every PubAck.
// The server runs with it, and no acknowledged message is lost when the
// server is SIGKILLed right after the acks and restarted.
func TestNATSSyncAlways(t *testing.T) {
	cl := chaos.New(t, binaries(t), chaos.Options{})
	cl.Start(cl.NATS())
	jsc := stacktest.Varz(t, cl.MonitorURL()).JetStream.Config
	if jsc == nil {
		t.Fatal("nats-server runs without JetStream")
	}
	if !jsc.SyncAlways {
		t.Errorf("nats-server runs nats.conf without sync_always: %+v", jsc)
	}
	if got := jsc.StoreDir; got != filepath.Join("data", "nats", "jetstream") {
		t.Errorf("store_dir %q: want nats.conf's data/nats, relative to the server's directory", got)
	}

	nc := cl.Connect(t)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "CHAOS_SYNC", Subjects: []string{"chaos.sync.>"}, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	// Pipelined in windows of 100 (an fsync per message is slow on a busy
	// disk), every PubAck checked.
	const n, window = 500, 100
	for from := 0; from < n; from += window {
		futures := make([]jetstream.PubAckFuture, 0, window)
		for i := from; i < from+window; i++ {
			f, err := js.PublishAsync(fmt.Sprintf("chaos.sync.%d", i%10), fmt.Appendf(nil, "msg-%d", i))
			if err != nil {
				t.Fatal(err)
			}
			futures = append(futures, f)
		}
		for j, f := range futures {
			select {
			case ack := <-f.Ok():
				if ack.Sequence != uint64(from+j+1) {
					t.Fatalf("message %d acknowledged at sequence %d", from+j, ack.Sequence)
				}
			case err := <-f.Err():
				t.Fatalf("message %d: %v", from+j, err)
			}
		}
	}
	if err := cl.Kill(cl.NATS()); err != nil { // at once, after the last PubAck
		t.Fatal(err)
	}
	cl.Start(cl.NATS())
	natstest.Eventually(t, 20*time.Second, func() error {
		info, err := st.Info(ctx)
		if err != nil {
			return err
		}
		if info.State.Msgs != n || info.State.LastSeq != n {
			return fmt.Errorf("after the restart CHAOS_SYNC holds %d messages up to sequence %d, want %d acknowledged", info.State.Msgs, info.State.LastSeq, n)
		}
		return nil
	})
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; {
		batch, err := cons.Fetch(n, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			if want := fmt.Sprintf("msg-%d", i); string(m.Data()) != want {
				t.Fatalf("message %d is %q, want %q", i, m.Data(), want)
			}
			i++
			got++
		}
		if batch.Error() != nil || got == 0 {
			t.Fatalf("read %d of %d messages: %v", i, n, batch.Error())
		}
	}
}

// subjectCounts is how many messages stream holds on each subject matching
// filter.
func subjectCounts(t testing.TB, js jetstream.JetStream, stream, filter string) map[string]uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects
}

// wantEachEventOnce checks that every event stream holds at most one message
// per subject — one event of each type per order (or customer, or SKU, each
// deposited and restocked once here). A second message on a subject is a
// second effect: a second charge, reservation or shipment, or a relay's
// republish that slipped past de-duplication. Subjects with one of the
// except prefixes are skipped.
func wantEachEventOnce(t testing.TB, js jetstream.JetStream, except ...string) {
	t.Helper()
	for stream := range durables {
		prefix := strings.ToLower(strings.TrimSuffix(stream, "_EVENTS"))
	subjects:
		for subj, n := range subjectCounts(t, js, stream, prefix+".events.>") {
			for _, e := range except {
				if strings.HasPrefix(subj, e) {
					continue subjects
				}
			}
			if n == 1 {
				continue
			}
			if _, typ, _, _ := streams.ParseSubject(subj); strings.HasPrefix(typ, "StockPart") {
				// A partitioned inventory's parts of one order share a
				// subject: one event per part, not per subject.
				wantOnePerPart(t, js, stream, subj, n)
				continue
			}
			t.Errorf("%s holds %d messages on %s, want 1", stream, n, subj)
		}
	}
}

// wantOnePerPart checks that the n messages on subj are n distinct parts.
func wantOnePerPart(t testing.TB, js jetstream.JetStream, stream, subj string, n uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subj}})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.FetchNoWait(int(n))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]int{}
	for m := range batch.Messages() {
		var env struct {
			Data struct {
				Part int `json:"part"`
			} `json:"data"`
		}
		if err := json.Unmarshal(m.Data(), &env); err != nil {
			t.Errorf("%s: %v", subj, err)
			continue
		}
		seen[env.Data.Part]++
	}
	for part, k := range seen {
		if k != 1 {
			t.Errorf("%s holds %d messages of part %d on %s, want 1", stream, k, part, subj)
		}
	}
}
