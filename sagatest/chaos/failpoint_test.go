package chaos_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/sagatest/chaos"
	"github.com/choreo-dev/choreo/shared/failpoint"
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

	// The restarter: whatever died comes back, as a supervisor would.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if err := w.cl.EnsureRunning(); err != nil {
					t.Logf("restarter: %v", err)
				}
			}
		}
	}()
	l := w.runLoad("fp", 40, 8, 0, 11, allGood)
	for id, err := range l.failed {
		t.Errorf("order %s: order.place never answered: %v", id, err)
	}
	// A failpoint may fire late, in a restarted process, while the stack
	// settles: the restarter keeps going until then.
	w.mustSettle(2 * time.Minute)
	close(stop)
	wg.Wait()
	if err := w.cl.EnsureRunning(); err != nil {
		t.Fatal(err)
	}
	for _, p := range points {
		if !failpoint.Fired(w.cl.DataDir(), p.service, p.name) {
			t.Errorf("failpoint %s/%s@%d never fired: the test proved nothing about it", p.service, p.name, p.at)
		}
	}
	for id := range l.kinds {
		if v, err := w.c.Order(id); err != nil || v.Status != "completed" {
			t.Errorf("order %s: %+v (%v), want completed", id, v, err)
		}
	}
	wantEachEventOnce(t, w.js)
	w.shutdown()
}
