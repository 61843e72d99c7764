package sagatest_test

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/consumer"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/nats-io/nats.go"
)

// BenchmarkSagas measures completed sagas per second with the four services
// in process against one embedded JetStream server: b.N orders from 64
// concurrent clients, timed until the last one completes.
func BenchmarkSagas(b *testing.B) {
	benchmarkSagas(b, sagatest.Options{SagaTimeout: 5 * time.Minute})
}

func benchmarkSagas(b *testing.B, opts sagatest.Options) {
	s := sagatest.Start(b, opts)
	c := sagatest.NewClient(s.NC)
	if _, err := c.Deposit(b.Context(), "bench", 1_000_000_000); err != nil {
		b.Fatal(err)
	}
	if _, err := c.Restock(b.Context(), "bench-sku", 1_000_000); err != nil {
		b.Fatal(err)
	}
	var completed atomic.Int64
	sub, err := s.NC.Subscribe("order.events.OrderCompleted.>", func(*nats.Msg) { completed.Add(1) })
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Unsubscribe()
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if _, err := c.Place(b.Context(), client.PlaceRequest{CustomerID: "bench", Items: []client.Item{{SKU: "bench-sku", Quantity: 1, UnitPriceCents: 1}},
					ShippingAddress: sagatest.Addr("US")}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	natstest.Eventually(b, 5*time.Minute, func() error {
		if n := completed.Load(); n < int64(b.N) {
			return fmt.Errorf("%d of %d completed", n, b.N)
		}
		return nil
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sagas/s")
}

// BenchmarkHotSKU places 1,000 concurrent orders on one SKU with stock for
// half of them, and reports the concurrency conflicts and handler retries it
// took: the all-or-nothing reservation must neither livelock nor storm.
func BenchmarkHotSKU(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		s := sagatest.Start(b, sagatest.Options{SagaTimeout: 5 * time.Minute})
		c := sagatest.NewClient(s.NC)
		if _, err := c.Deposit(b.Context(), "hot", 1_000_000); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Restock(b.Context(), "hot-sku", 500); err != nil {
			b.Fatal(err)
		}
		conflicts, retries := eventstore.Conflicts(), consumer.Retries()
		b.StartTimer()
		var wg sync.WaitGroup
		for range 1000 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.Place(b.Context(), client.PlaceRequest{CustomerID: "hot", Items: []client.Item{{SKU: "hot-sku", Quantity: 1, UnitPriceCents: 1}},
					ShippingAddress: sagatest.Addr("US")}); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
		natstest.Eventually(b, 5*time.Minute, func() error {
			st, err := c.Stock(b.Context(), "hot-sku")
			if err != nil {
				return err
			}
			if _, err := c.CheckInvariants(b.Context()); err != nil {
				return err
			}
			if st.Available != 0 || st.Reserved != 500 {
				return fmt.Errorf("stock %+v", st)
			}
			return nil
		})
		b.ReportMetric(float64(eventstore.Conflicts()-conflicts), "conflicts")
		b.ReportMetric(float64(consumer.Retries()-retries), "retries")
	}
}

// BenchmarkFileGrowth runs rounds of 10,000 completed sagas and reports the
// bbolt bytes per saga of the last round next to the first: the event log
// grows linearly (it is the source of truth), while the outbox empties and
// the inbox is bounded by its retention, so the growth per saga stays flat.
func BenchmarkFileGrowth(b *testing.B) {
	const rounds, perRound = 3, 10_000
	for b.Loop() {
		s := sagatest.Start(b, sagatest.Options{SagaTimeout: 5 * time.Minute})
		c := sagatest.NewClient(s.NC)
		if _, err := c.Deposit(b.Context(), "grow", 1_000_000_000); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Restock(b.Context(), "grow-sku", 1_000_000); err != nil {
			b.Fatal(err)
		}
		size := func() int64 {
			var total int64
			for _, name := range sagatest.Services {
				st, err := os.Stat(s.DBPath(name))
				if err != nil {
					b.Fatal(err)
				}
				total += st.Size()
			}
			return total
		}
		var perSaga []float64
		before := size()
		for r := range rounds {
			ids := make([]string, perRound)
			var wg sync.WaitGroup
			var next atomic.Int64
			for range 32 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := next.Add(1) - 1; i < perRound; i = next.Add(1) - 1 {
						v, err := c.Place(b.Context(), client.PlaceRequest{CustomerID: "grow", Items: []client.Item{{SKU: "grow-sku", Quantity: 1, UnitPriceCents: 1}},
							ShippingAddress: sagatest.Addr("US")})
						if err != nil {
							b.Error(err)
							return
						}
						ids[i] = v.OrderID
					}
				}()
			}
			wg.Wait()
			natstest.Eventually(b, 5*time.Minute, s.Quiet)
			after := size()
			perSaga = append(perSaga, float64(after-before)/perRound)
			b.Logf("round %d: %.0f bytes per saga (all four files)", r+1, perSaga[r])
			before = after
		}
		b.ReportMetric(perSaga[0], "B/saga-first")
		b.ReportMetric(perSaga[rounds-1], "B/saga-last")
	}
}
