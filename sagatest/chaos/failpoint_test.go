package chaos_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/sagatest/chaos"
	"github.com/choreo-dev/choreo/shared/failpoint"
	"github.com/choreo-dev/choreo/shared/streams"
)

// TestCrashAtFailpoints kills services at the lines where a crash is most
// dangerous, every time rather than by luck: after a consumer committed an
// event's effects but before it acked (the event comes back: the inbox must
// stop a second charge or reservation), after JetStream acknowledged an
// outbox batch but before it was deleted (the batch is published again: the
// duplicate window must drop it), and after a transaction committed but
// before its caller heard (a lost order.place reply: the client's retry must
// find the same order). A restarter brings each killed process back; at the
// end every failpoint must have fired, every invariant must hold and every
// event must be in its stream exactly once.
func TestCrashAtFailpoints(t *testing.T) {
	points := []struct {
		service, name string
		at            int
	}{
		{"payment", failpoint.ConsumerAfterCommit, 5},
		{"inventory", failpoint.ConsumerAfterCommit, 7},
		{"order", failpoint.OutboxAfterPublish, 6},
		{"shipping", failpoint.OutboxAfterPublish, 4},
		{"order", failpoint.StoreAfterCommit, 40},
		{"shipping", failpoint.StoreAfterCommit, 9},
	}
	var spec []string
	for _, p := range points {
		spec = append(spec, fmt.Sprintf("%s/%s@%d", p.service, p.name, p.at))
	}
	w := newWorld(t, chaos.Options{
		// Long enough that no saga times out while a killed service waits
		// out the AckWait of the message it held: every order must complete.
		SagaTimeout: time.Minute,
		Env:         []string{"CHOREO_FAILPOINT=" + strings.Join(spec, ",")},
	}, 5, 4)

	stopRestarter := w.supervise()
	// A failpoint counts its hits in one process, so one that fires after
	// another killed its process needs enough traffic in the new one: a
	// relay that publishes in large batches reaches outbox.after-publish
	// only a few times per round. Load goes on, round after round, until
	// every failpoint has fired.
	unfired := func() []string {
		var out []string
		for _, p := range points {
			if !failpoint.Fired(w.cl.DataDir(), p.service, p.name) {
				out = append(out, fmt.Sprintf("%s/%s@%d", p.service, p.name, p.at))
			}
		}
		return out
	}
	orders := map[string]kind{}
	for round := range 5 {
		l := w.runLoad(fmt.Sprintf("fp%d", round), 40, 8, 0, uint64(11+round), allGood)
		for id, err := range l.failed {
			t.Errorf("order %s: order.place never answered: %v", id, err)
		}
		for id, k := range l.kinds {
			orders[id] = k
		}
		// A failpoint may fire late, in a restarted process, while the
		// stack settles: the restarter keeps going until then.
		w.mustSettle(2 * time.Minute)
		if len(unfired()) == 0 {
			t.Logf("every failpoint fired within %d round(s) of 40 orders", round+1)
			break
		}
	}
	stopRestarter()
	if err := w.cl.EnsureRunning(t.Context()); err != nil {
		t.Fatal(err)
	}
	if u := unfired(); len(u) > 0 {
		t.Errorf("failpoints %v never fired in five rounds of load: the test proved nothing about them", u)
	}
	for id := range orders {
		if v, err := w.c.Get(w.t.Context(), id); err != nil || v.Status != "completed" {
			t.Errorf("order %s: %+v (%v), want completed", id, v, err)
		}
	}
	wantEachEventOnce(t, w.js)
	w.shutdown()
}

// TestCrashWhileSettingAside: order dies right after it set a hot order's
// surplus aside in its store and before it acknowledged those messages, and
// again right after it handled one of them: restarted, it handles every one
// of the hot order's events — none is lost with the process (the saga's
// timeline holds them all) and the invariants are exact.
func TestCrashWhileSettingAside(t *testing.T) {
	const hot = 2000 // the timeline stays under the reply's max payload
	spec := []string{"order/" + failpoint.ConsumerAfterSetAside + "@2", "order/" + failpoint.ConsumerAfterCommit + "@1200"}
	w, metricsAddr := newHotWorld(t, "CHOREO_FAILPOINT="+strings.Join(spec, ","))
	ctx := context.Background()
	hotID := w.placeAndWait(ctx, "hot-1", "completed", time.Minute)
	w.mustSettle(time.Minute)

	stopRestarter := w.supervise()
	w.publishHotBurst(hotID, hot)
	deadline := time.Now().Add(5 * time.Minute)
	for !failpoint.Fired(w.cl.DataDir(), "order", failpoint.ConsumerAfterSetAside) ||
		!failpoint.Fired(w.cl.DataDir(), "order", failpoint.ConsumerAfterCommit) {
		if time.Now().After(deadline) {
			t.Fatal("the failpoints did not both fire")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Messages the crashes left unacknowledged come back after the
	// AckWait and may be set aside then: settled means nothing pending in
	// the durables and nothing set aside, both at once.
	for {
		waitSetAsideDrained(t, metricsAddr, 5*time.Minute)
		w.mustSettle(5 * time.Minute)
		if gaugeOr(metricsAddr, "choreo_consumer_set_aside", `stream="`+streams.Name("shipping")+`"`, -1) == 0 {
			break
		}
	}
	stopRestarter()

	tl, err := w.c.Timeline(ctx, hotID)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range tl.Events {
		if e.Type == "ShipmentScheduled" {
			seen[e.ID]++
		}
	}
	if len(seen) != hot+1 { // the saga's own, and the burst
		t.Errorf("the timeline has %d ShipmentScheduled events, want %d", len(seen), hot+1)
	}
	t.Logf("order crashed after setting events aside and after handling one; the timeline holds all %d", len(seen))
	w.shutdown()
}

// supervise is a supervisor: whatever process of the world dies is started
// again, until stop is called.
func (w *world) supervise() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if err := w.cl.EnsureRunning(w.t.Context()); err != nil {
					w.t.Logf("restarter: %v", err)
				}
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
