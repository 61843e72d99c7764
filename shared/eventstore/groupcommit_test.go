package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/natstest"
)

var errRefused = errors.New("refused")

// batch runs fns as one group commit, in order: it holds the committer in a
// write of its own until every fn is queued behind it, then lets them all
// go. It returns each fn's error and how many times each ran.
func batch(t *testing.T, s *eventstore.Store, fns ...func(tx *eventstore.Tx) error) (errs []error, runs []int64) {
	t.Helper()
	entered, release := make(chan struct{}), make(chan struct{})
	blocker := make(chan error, 1)
	go func() {
		first := true
		blocker <- s.Update(context.Background(), func(*eventstore.Tx) error {
			if first {
				first = false
				close(entered)
			}
			<-release
			return nil
		})
	}()
	<-entered
	errs, counts := make([]error, len(fns)), make([]atomic.Int64, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Update(context.Background(), func(tx *eventstore.Tx) error {
				counts[i].Add(1)
				return fn(tx)
			})
		}()
		// One at a time, so that the batch runs them in this order.
		natstest.Eventually(t, 5*time.Second, func() error {
			if n := eventstore.QueuedWrites(s); n != i+1 {
				return fmt.Errorf("%d writes queued, want %d", n, i+1)
			}
			return nil
		})
	}
	close(release)
	wg.Wait()
	if err := <-blocker; err != nil {
		t.Fatal(err)
	}
	runs = make([]int64, len(fns))
	for i := range counts {
		runs[i] = counts[i].Load()
	}
	return errs, runs
}

// appendTo appends one event to counter id.
func appendTo(id string) func(tx *eventstore.Tx) error {
	return func(tx *eventstore.Tx) error {
		_, err := eventstore.Update(tx, counterAgg, id, eventstore.Meta{}, func(counter) ([]envelope.Event, error) {
			return []envelope.Event{added{N: 1}}, nil
		})
		return err
	}
}

// A write that refuses before writing (a 409) is left out of its batch: the
// others commit in the same transaction, each run exactly once.
func TestGroupCommitDropsACleanRefusal(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	add(t, s, "done", 1)
	refuse := func(tx *eventstore.Tx) error {
		_, err := eventstore.Update(tx, counterAgg, "done", eventstore.Meta{}, func(counter) ([]envelope.Event, error) {
			return nil, errRefused
		})
		return err
	}
	errs, runs := batch(t, s, appendTo("a"), refuse, appendTo("b"), refuse, appendTo("c"))
	for i, err := range errs {
		wantErr := error(nil)
		if i == 1 || i == 3 {
			wantErr = errRefused
		}
		if !errors.Is(err, wantErr) || err != nil && wantErr == nil {
			t.Errorf("write %d: %v, want %v", i, err, wantErr)
		}
		if runs[i] != 1 {
			t.Errorf("write %d ran %d times, want once", i, runs[i])
		}
	}
	for _, id := range []string{"a", "b", "c"} {
		if c, v := load(t, s, id); v != 1 || c.Total != 1 {
			t.Errorf("%s = %+v at v%d, want one event", id, c, v)
		}
	}
	if _, v := load(t, s, "done"); v != 1 {
		t.Errorf("done at v%d, want 1", v)
	}
}

// A write that fails after writing still rolls its batch back: it runs
// again alone and the others together (those before it run twice), and
// what it wrote is gone.
func TestGroupCommitRollsBackADirtyFailure(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	dirty := func(tx *eventstore.Tx) error {
		if err := appendTo("dirty")(tx); err != nil {
			return err
		}
		return errRefused
	}
	errs, runs := batch(t, s, appendTo("a"), dirty, appendTo("b"))
	for i, err := range errs {
		if (i == 1) != errors.Is(err, errRefused) || i != 1 && err != nil {
			t.Errorf("write %d: %v", i, err)
		}
		if want := []int64{2, 2, 1}[i]; runs[i] != want {
			t.Errorf("write %d ran %d times, want %d", i, runs[i], want)
		}
	}
	for id, want := range map[string]uint64{"a": 1, "b": 1, "dirty": 0} {
		if _, v := load(t, s, id); v != want {
			t.Errorf("%s at v%d, want v%d", id, v, want)
		}
	}
}

// boom is an event that cannot be encoded: its encoding panics, after Save
// has set the aggregate's next state aside and before anything is written.
type boom struct{}

func (boom) EventType() string            { return "Boom" }
func (boom) MarshalJSON() ([]byte, error) { panic("boom") }

// A dropped write takes back the states it set aside: they must not reach
// the state cache as the state of a version that was never written.
func TestGroupCommitDropsTheStatesOfARefusal(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	add(t, s, "p", 1)
	load(t, s, "p") // in the cache at v1
	explode := func(tx *eventstore.Tx) error {
		c, v, err := eventstore.Load(tx, counterAgg, "p")
		if err != nil {
			return err
		}
		_, _, err = eventstore.Save(tx, counterAgg, "p", c, v, eventstore.Meta{}, boom{})
		return err
	}
	errs, _ := batch(t, s, appendTo("a"), explode, appendTo("b"))
	if errs[0] != nil || errs[2] != nil || errs[1] == nil {
		t.Fatalf("errors %v, want only the panic's", errs)
	}
	add(t, s, "p", 5) // the real v2
	if c, v := load(t, s, "p"); c.Total != 6 || c.Count != 2 || v != 2 {
		t.Fatalf("p = %+v at v%d, want total 6, count 2 at v2", c, v)
	}
}
