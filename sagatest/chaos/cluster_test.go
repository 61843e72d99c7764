package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/sagatest/chaos"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go/jetstream"
)

// TestClusterLeaderKills: a three-node JetStream cluster, streams of three
// replicas, every service as partitions, under a steady load; each round
// takes down the node that leads the most streams, so every round forces
// leader elections in the middle of traffic, and starts it again once the
// others have taken over. Rounds alternate a crash (SIGKILL) and an
// operator's stop in lame duck mode (SIGUSR2: nats-server hands its
// leaderships over before it goes; cluster/nats-*.conf). Nothing may be lost or done twice, and every invariant must
// hold; how long the saga outcomes paused after each stop is measured from
// the times ORDER_EVENTS stored them, and logged (a number to watch, not a
// pass mark).
//
// Size: CHOREO_CHAOS_CLUSTER_SAGAS (default 120), CHOREO_CHAOS_CLUSTER_KILLS
// (default 2: a crash and a lame duck), CHOREO_CHAOS_PARTITIONS (default 2);
// make chaos runs it bigger (CLUSTER_SAGAS, CLUSTER_KILLS).
func TestClusterLeaderKills(t *testing.T) {
	sagas, kills := envInt(t, "CHOREO_CHAOS_CLUSTER_SAGAS", 120), envInt(t, "CHOREO_CHAOS_CLUSTER_KILLS", 2)
	partitions := envInt(t, "CHOREO_CHAOS_PARTITIONS", 2)
	begin := time.Now()
	w := newWorld(t, chaos.Options{SagaTimeout: 30 * time.Second, Nodes: 3, Partitions: partitions}, 20, 8)
	t.Logf("3 nodes, services in %d partitions, up and seeded in %v", partitions, time.Since(begin).Round(time.Millisecond))

	// A round: a stop, ~2s down, a restart, the cluster whole again, a
	// breath; a lame duck takes lame_duck_duration (30s) to go. The load is
	// paced to span a calm start and every round.
	const crashRound, duckRound, calm = 8 * time.Second, 40 * time.Second, 5 * time.Second
	span := calm + time.Duration((kills+1)/2)*crashRound + time.Duration(kills/2)*duckRound
	every := span / time.Duration(max(1, sagas))
	type kill struct {
		node, how string
		leading   []string
		at        time.Time
	}
	loadStart := time.Now()
	var (
		done    = make(chan struct{})
		history []kill
		errs    []error
	)
	go func() {
		defer close(done)
		time.Sleep(calm)
		for i := range kills {
			node, leading, err := busiestLeader(w.js, w.cl.NATSNodes())
			if err != nil {
				errs = append(errs, err)
				return
			}
			at, how := time.Now(), "SIGKILL"
			if i%2 == 0 {
				err = w.cl.Kill(node)
			} else {
				how = "lame-duck"
				if err = w.cl.Signal(node, syscall.SIGUSR2); err == nil && !w.cl.Proc(node).Wait(time.Minute) {
					err = fmt.Errorf("%s still running a minute into lame duck mode", node)
				}
			}
			if err != nil {
				errs = append(errs, err)
				return
			}
			history = append(history, kill{node, how, leading, at})
			time.Sleep(2 * time.Second)
			if err := w.cl.Stack.Start(t.Context(), node); err != nil {
				errs = append(errs, err)
				return
			}
			if err := waitFor(time.Minute, 250*time.Millisecond, func() error { return replicasCurrent(w.js) }); err != nil {
				errs = append(errs, fmt.Errorf("after restarting %s: %w", node, err))
				return
			}
			time.Sleep(time.Second)
		}
	}()
	l := w.runLoad("cluster", sagas, 8, every, 7, mixedKind)
	<-done
	for _, err := range errs {
		t.Fatalf("killer: %v", err)
	}
	for id, err := range l.failed {
		t.Errorf("order %s: order.place never answered: %v", id, err)
	}
	w.verify(l, fmt.Sprintf("nodes=3 partitions=%d leader_kills=%d", partitions, len(history)))

	// The pause each stop caused: the longest gap between saga outcomes
	// from the stop until 10s later, beside the longest gap in the calm
	// before the first.
	times := outcomeTimes(t, w.js)
	if len(times) != len(l.kinds) {
		t.Errorf("ORDER_EVENTS holds %d outcomes for %d sagas", len(times), len(l.kinds))
	}
	if len(history) > 0 && len(times) > 0 {
		line := fmt.Sprintf("cluster_calm first_outcome_ms=%d outcome_pause_ms=%d", times[0].Sub(loadStart).Milliseconds(),
			longestGap(times, times[0], history[0].at).Milliseconds())
		t.Log(line)
		fmt.Println(line)
	}
	for i, k := range history {
		line := fmt.Sprintf("cluster_stop=%d how=%s node=%s led=%s outcome_pause_ms=%d",
			i+1, k.how, k.node, strings.Join(k.leading, ","), longestGap(times, k.at, k.at.Add(10*time.Second)).Milliseconds())
		t.Log(line)
		fmt.Println(line)
	}
	w.shutdown()
}

// outcomeTimes are the times ORDER_EVENTS stored each saga outcome
// (OrderCompleted, OrderCancelled), in order: the stream's own clock, not an
// observer's, which would miss what was published while it reconnected.
func outcomeTimes(t *testing.T, js jetstream.JetStream) []time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, streams.Name("order"), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{streams.Filter("order", "OrderCompleted"), streams.Filter("order", "OrderCancelled")},
	})
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var times []time.Time
	for left := int(info.NumPending); left > 0; {
		batch, err := cons.Fetch(min(left, 500), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			if md, err := m.Metadata(); err == nil {
				times = append(times, md.Timestamp)
			}
			n++
		}
		if n == 0 {
			break
		}
		left -= n
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	return times
}

// longestGap is the longest time in [from, to] without an outcome.
func longestGap(times []time.Time, from, to time.Time) time.Duration {
	var gap time.Duration
	prev := from
	for _, at := range times {
		if at.Before(from) {
			continue
		}
		if at.After(to) {
			break
		}
		gap = max(gap, at.Sub(prev))
		prev = at
	}
	return max(gap, to.Sub(prev))
}

// busiestLeader is the node entry (nats1, …) leading the most streams,
// with the streams it leads. A node's server_name is n<i> for entry nats<i>.
func busiestLeader(js jetstream.JetStream, nodes []string) (string, []string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	leads := map[string][]string{}
	names := js.StreamNames(ctx)
	for name := range names.Name() {
		st, err := js.Stream(ctx, name)
		if err != nil {
			return "", nil, err
		}
		if c := st.CachedInfo().Cluster; c != nil && c.Leader != "" {
			leads[c.Leader] = append(leads[c.Leader], name)
		}
	}
	if err := names.Err(); err != nil {
		return "", nil, err
	}
	best := ""
	for server, ss := range leads {
		if best == "" || len(ss) > len(leads[best]) || len(ss) == len(leads[best]) && server < best {
			best = server
		}
	}
	if best == "" {
		return "", nil, errors.New("no stream has a leader")
	}
	entry := "nats" + strings.TrimPrefix(best, "n")
	if !slices.Contains(nodes, entry) {
		return "", nil, fmt.Errorf("leader %s is none of the nodes %v", best, nodes)
	}
	slices.Sort(leads[best])
	return entry, leads[best], nil
}

// replicasCurrent returns nil once every stream has a leader and every
// replica is current.
func replicasCurrent(js jetstream.JetStream) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	names := js.StreamNames(ctx)
	for name := range names.Name() {
		st, err := js.Stream(ctx, name)
		if err != nil {
			return err
		}
		c := st.CachedInfo().Cluster
		if c == nil || c.Leader == "" {
			return fmt.Errorf("stream %s has no leader", name)
		}
		for _, r := range c.Replicas {
			if !r.Current || r.Offline {
				return fmt.Errorf("stream %s: replica %s not current", name, r.Name)
			}
		}
	}
	return names.Err()
}
