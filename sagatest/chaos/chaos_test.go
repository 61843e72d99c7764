package chaos_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/sagatest/chaos"
)

// envInt reads a positive size from the environment (make chaos passes
// CHOREO_CHAOS_SAGAS and CHOREO_CHAOS_KILLS).
func envInt(t *testing.T, key string, def int) int {
	t.Helper()
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a non-negative integer", key, v)
	}
	return n
}

// TestChaos places a mixed load of orders while a killer SIGKILLs the
// services and nats-server at random moments and restarts them, then checks
// that every order ended, nobody was charged twice, the contract's
// invariants hold, every consumer caught up, every outbox is empty, every
// service stops cleanly and every bbolt file is consistent.
//
// Size: CHOREO_CHAOS_SAGAS (default 300, 60 with -short) and
// CHOREO_CHAOS_KILLS (default 12, 3 with -short), as `make chaos SAGAS=…
// KILLS=…` sets them; CHOREO_CHAOS_NODES runs a NATS cluster and
// CHOREO_CHAOS_PARTITIONS every service as partitions (make chaos NODES=3
// PARTITIONS=2). CHOREO_CHAOS_SEED replays a
// run's choices (not its timing); CHOREO_CHAOS_TARGETS (say "nats,order")
// narrows what the killer picks from.
func TestChaos(t *testing.T) {
	defSagas, defKills := 300, 12
	if testing.Short() {
		defSagas, defKills = 60, 3
	}
	sagas := envInt(t, "CHOREO_CHAOS_SAGAS", defSagas)
	kills := envInt(t, "CHOREO_CHAOS_KILLS", defKills)
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("CHOREO_CHAOS_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("CHOREO_CHAOS_SEED=%q: %v", v, err)
		}
	}
	t.Logf("CHOREO_CHAOS_SEED=%d", seed)

	begin := time.Now()
	w := newWorld(t, chaos.Options{SagaTimeout: 20 * time.Second,
		Nodes: envInt(t, "CHOREO_CHAOS_NODES", 1), Partitions: envInt(t, "CHOREO_CHAOS_PARTITIONS", 1)}, 20, 8)
	t.Logf("stack up and seeded in %v", time.Since(begin).Round(time.Millisecond))

	// The killer: each kill waits a moment, SIGKILLs a random process,
	// waits 100–500ms and starts it again. The load is paced to last about
	// as long, so every kill lands in the middle of traffic.
	const meanCycle = 900 * time.Millisecond
	var every time.Duration
	if kills > 0 && sagas > 0 {
		every = time.Duration(kills) * meanCycle / time.Duration(sagas)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	targets := append(w.cl.NATSNodes(), w.cl.Services()...)
	if v := os.Getenv("CHOREO_CHAOS_TARGETS"); v != "" {
		targets = strings.Split(v, ",")
	}
	var (
		killed    = map[string]int{}
		killErrs  []error
		killerEnd = make(chan struct{})
		loadStart = time.Now()
		mu        sync.Mutex
	)
	go func() {
		defer close(killerEnd)
		for range kills {
			time.Sleep(300*time.Millisecond + time.Duration(rng.Int64N(int64(600*time.Millisecond))))
			name := targets[rng.IntN(len(targets))]
			if err := w.cl.Kill(name); err != nil {
				mu.Lock()
				killErrs = append(killErrs, err)
				mu.Unlock()
				continue
			}
			mu.Lock()
			killed[name]++
			mu.Unlock()
			time.Sleep(100*time.Millisecond + time.Duration(rng.Int64N(int64(400*time.Millisecond))))
			if _, err := w.cl.Launch(name); err != nil {
				mu.Lock()
				killErrs = append(killErrs, err)
				mu.Unlock()
			}
		}
	}()
	l := w.runLoad("chaos", sagas, 8, every, seed, mixedKind)
	<-killerEnd
	loadTime := time.Since(loadStart)
	for _, err := range killErrs {
		t.Errorf("killer: %v", err)
	}
	if err := w.cl.EnsureRunning(t.Context()); err != nil {
		t.Fatal(err)
	}
	nKills := 0
	for _, n := range killed {
		nKills += n
	}
	t.Logf("load: %d orders, %d order.place requests, %d answered, %d unanswered, in %v; kills %v",
		len(l.kinds), l.attempts, len(l.replied), len(l.failed), loadTime.Round(time.Millisecond), killed)
	for id, err := range l.failed {
		t.Errorf("order %s: order.place never answered: %v", id, err)
	}

	w.verify(l, fmt.Sprintf("kills=%d", nKills))
	checked := time.Now()
	w.shutdown()
	t.Logf("shut down and checked the stores in %v", time.Since(checked).Round(time.Millisecond))
}

// verify settles the world after load l and checks what the chaos runs
// promise: no order lost, none with the wrong outcome, no customer charged
// twice, every invariant, no dead letter, every event once. It prints the
// run's summary line, with what (the faults it met) in it.
func (w *world) verify(l *load, what string) {
	t := w.t
	t.Helper()
	// Settle: every consumer caught up and every invariant holds.
	settleTime, settleErr := w.settle(2 * time.Minute)
	sum, invErr := w.c.CheckInvariants(t.Context())
	violations := countViolations(invErr)

	// Lost: a success reply, then order.get cannot find it or it never
	// ended. Wrong outcome: an order meant to fail completed, or a good one
	// was cancelled for anything but its deadline.
	lost, wrong, timeouts := 0, 0, 0
	completedTotals := map[string]int64{}
	for id, k := range l.kinds {
		v, err := w.c.Get(t.Context(), id)
		if err != nil || (v.Status != "completed" && v.Status != "cancelled") {
			if l.replied[id] {
				lost++
				t.Errorf("lost order %s (%s): %+v (%v)", id, k, v, err)
			}
			continue
		}
		if v.Status == "completed" {
			completedTotals[v.CustomerID] += v.TotalCents
		}
		if v.CancelReason == "timeout" {
			timeouts++
		}
		switch {
		case k == good && v.Status == "cancelled" && v.CancelReason != "timeout",
			k != good && v.Status == "completed",
			k != good && v.CancelReason != k.String() && v.CancelReason != "timeout":
			wrong++
			t.Errorf("order %s (%s) ended %s/%s", id, k, v.Status, v.CancelReason)
		}
	}
	// Double charges: customers poorer than deposits − completed totals.
	doubleCharges := 0
	for cust, dep := range w.c.Ledger.Deposits {
		b, err := w.c.Balance(t.Context(), cust)
		if err != nil {
			t.Errorf("balance of %s: %v", cust, err)
			continue
		}
		if want := dep - completedTotals[cust]; b.BalanceCents < want {
			doubleCharges++
			t.Errorf("%s was charged %d more than its completed orders", cust, want-b.BalanceCents)
		}
	}

	line := fmt.Sprintf("sagas=%d completed=%d cancelled=%d timed_out=%d %s lost=%d double_charges=%d invariant_violations=%d settle_s=%.1f",
		sum.Sagas, sum.Completed, sum.Cancelled, timeouts, what, lost, doubleCharges, violations, settleTime.Seconds())
	t.Log(line)
	fmt.Println(line)

	if settleErr != nil {
		t.Errorf("not settled within 2m: %v", settleErr)
	}
	if invErr != nil {
		t.Errorf("invariants: %v", invErr)
	}
	if lost != 0 || doubleCharges != 0 || violations != 0 || wrong != 0 {
		t.Fatalf("lost=%d double_charges=%d invariant_violations=%d wrong_outcomes=%d", lost, doubleCharges, violations, wrong)
	}
	if n, desc, err := dlqLen(w.js); err != nil || n != 0 {
		t.Errorf("DLQ holds %d dead letters (%v): %s", n, err, desc)
	}
	wantEachEventOnce(t, w.js)
}
