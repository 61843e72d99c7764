package bench

import (
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/stages"
	"github.com/choreo-dev/choreo/shared/streams"
)

// A saga whose every stage was recorded splits into stages that add up to
// its latency, each at the hop it belongs to; one with a stage missing is
// left out and counted.
func TestBreakdownAddsUpToTheSaga(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	idx := stageIndex{}
	at := t0
	step := func(d time.Duration) time.Time { at = at.Add(d); return at }
	put := func(service, stage, subject string, when time.Time) {
		idx[recordKey{service, stage, subject}] = when
	}
	record := func(id string) span {
		start := at
		for h, hp := range sagaPath {
			out := streams.Subject(hp.service, hp.out, id)
			if h > 0 {
				in := streams.Subject(hp.from, hp.in, id)
				put(hp.service, stages.ConsumerStored, in, step(0))
				put(hp.service, stages.ConsumerReceived, in, step(time.Millisecond))
				put(hp.service, stages.ConsumerStart, in, step(time.Millisecond))
			}
			for _, st := range []string{stages.StoreSubmit, stages.StoreRun, stages.StoreRan, stages.StoreCommit,
				stages.StoreCommitted, stages.OutboxRead, stages.OutboxPublish} {
				put(hp.service, st, out, step(time.Millisecond))
			}
			put(hp.service, stages.OutboxAcked, out, at.Add(3*time.Millisecond))
		}
		return span{start, step(time.Millisecond)}
	}
	spans := map[string]span{"a": record("a"), "b": record("b")}
	spans["c"] = record("c")
	delete(idx, recordKey{"inventory", stages.StoreRun, streams.Subject("inventory", "StockReserved", "c")})

	b := idx.breakdown(PhaseResult{Name: "open 100/s", OfferedPerSec: 100}, spans)
	if b.Sagas != 2 || b.Missing != 1 {
		t.Fatalf("sagas %d, missing %d; want 2 and 1", b.Sagas, b.Missing)
	}
	// 1 ms a stage: the first hop's 7, the 9 of each other hop, and the
	// delivery to the load generator.
	if b.Total.Mean != 44 {
		t.Errorf("total mean %v ms, want 44", b.Total.Mean)
	}
	var sum float64
	for _, st := range b.Stages {
		if st.Critical {
			sum += st.Saga.Mean
		}
		switch st.Stage {
		case "publish → consumer received":
			if st.Hops[0].Count != 0 || st.Hops[1].Mean != 1 || st.Saga.Mean != 4 {
				t.Errorf("%s: %+v", st.Stage, st)
			}
		case "(beside) publish → PubAck":
			if st.Saga.Mean != 15 {
				t.Errorf("%s: saga mean %v, want 15", st.Stage, st.Saga.Mean)
			}
		}
	}
	if sum != b.Total.Mean {
		t.Errorf("critical stages add up to %v ms, sagas take %v", sum, b.Total.Mean)
	}
	if md := b.Markdown(); len(md) == 0 {
		t.Error("no markdown")
	}
}
