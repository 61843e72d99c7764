package sagatest_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/nats-io/nats.go"
)

// BenchmarkSagas measures completed sagas per second with the four services
// in process against one embedded JetStream server: b.N orders from 64
// concurrent clients, timed until the last one completes.
func BenchmarkSagas(b *testing.B) {
	s := sagatest.Start(b, sagatest.Options{SagaTimeout: 5 * time.Minute})
	c := sagatest.NewClient(s.NC)
	if _, err := c.Deposit("bench", 1_000_000_000); err != nil {
		b.Fatal(err)
	}
	if _, err := c.Restock("bench-sku", 1_000_000); err != nil {
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
				if _, err := c.Place(sagatest.PlaceRequest{CustomerID: "bench", Items: []sagatest.Item{{SKU: "bench-sku", Quantity: 1, UnitPriceCents: 1}},
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
