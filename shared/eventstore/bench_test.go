package eventstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
)

// BenchmarkLoad measures a cold load (no state cache: snapshot + tail) of
// aggregates with 10 and 100,000 events. With snapshots every 100 events the
// two cost about the same: compare with
//
//	go test -run '^$' -bench Load -count 6 ./shared/eventstore | benchstat -
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{10, 100_000} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			s, err := eventstore.Open(filepath.Join(b.TempDir(), "b.db"), eventstore.Options{
				Service: "test", Registry: registry(), CacheEntries: -1,
			})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			// Write in chunks of 1,000 events a transaction: fast to set up.
			for done := 0; done < n; {
				chunk := min(1000, n-done)
				err := s.Update(context.Background(), func(tx *eventstore.Tx) error {
					c, v, err := eventstore.Load(tx, counterAgg, "hot")
					if err != nil {
						return err
					}
					for i := range chunk {
						if c, v, err = eventstore.Save(tx, counterAgg, "hot", c, v, eventstore.Meta{}, added{N: i}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				done += chunk
			}
			b.ResetTimer()
			for b.Loop() {
				err := s.View(context.Background(), func(tx *eventstore.Tx) error {
					c, v, err := eventstore.Load(tx, counterAgg, "hot")
					if err == nil && (v != uint64(n) || c.Count != n) {
						err = fmt.Errorf("loaded %+v at v%d", c, v)
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppend measures one committed (fsync'd) command: load, decide,
// append one event with its outbox entry and projection, from concurrent
// goroutines so that group commit shares the fsyncs.
func BenchmarkAppend(b *testing.B) {
	s, err := eventstore.Open(filepath.Join(b.TempDir(), "b.db"), eventstore.Options{
		Service: "test", Registry: registry(), Projections: []eventstore.Projection{totals{}},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetParallelism(32)
	var id atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			agg := fmt.Sprintf("c%d", id.Add(1)%64)
			err := s.Update(context.Background(), func(tx *eventstore.Tx) error {
				_, err := eventstore.Update(tx, counterAgg, agg, eventstore.Meta{}, func(counter) ([]envelope.Event, error) {
					return []envelope.Event{added{N: 1}}, nil
				})
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
