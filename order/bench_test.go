package order

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/order/domain"
	"github.com/choreo-dev/choreo/shared/endpoint"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shipping/shippingevents"
)

// benchPlaceBody is an order.place request as a client sends it.
const benchPlaceBody = `{"order_id":"o-1","customer_id":"c1","items":[{"sku":"widget","quantity":2,"unit_price_cents":1500},` +
	`{"sku":"gadget","quantity":1,"unit_price_cents":2500}],"currency":"EUR","shipping_address":{"name":"Ada Lovelace",` +
	`"line1":"1 Analytical Way","city":"London","postal_code":"N1 9GU","country":"GB"}}`

// BenchmarkDecodePlace measures decoding and validating an order.place body:
//
//	go test -run '^$' -bench DecodePlace -benchmem -count 6 ./order
func BenchmarkDecodePlace(b *testing.B) {
	body := []byte(benchPlaceBody)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := endpoint.Decode[placeRequest](body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlaceAmid409s measures order.place throughput through the real
// handlers and store (a bbolt file, fsync'd group commits), alone and while
// 64 clients cancel a completed order about 275 times a second in all: each
// cancel is a 409 the store refuses inside a shared write transaction.
// Compare the places/s of the two sub-benchmarks:
//
//	go test -run '^$' -bench PlaceAmid409s -benchtime 5s -count 3 ./order
func BenchmarkPlaceAmid409s(b *testing.B) {
	for _, cancellers := range []int{0, 64} {
		b.Run(fmt.Sprintf("cancellers=%d", cancellers), func(b *testing.B) {
			benchPlaceAmid409s(b, cancellers, 275)
		})
	}
}

func benchPlaceAmid409s(b *testing.B, cancellers int, perSecond float64) {
	st, err := eventstore.Open(filepath.Join(b.TempDir(), "order.db"), eventstore.Options{
		Service: "order", Registry: Registry(), Projections: []eventstore.Projection{views{}},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	h := handlers{store: st, settings: Settings{SagaTimeout: time.Hour, Now: time.Now}}
	ctx := context.Background()
	req := func(id string) *placeRequest {
		q, p := int64(2), int64(1500)
		return &placeRequest{OrderID: id, CustomerID: "c1",
			Items:           []itemRequest{{SKU: "widget", Quantity: &q, UnitPriceCents: &p}},
			ShippingAddress: &addressRequest{Name: "Ada", Line1: "1 Way", City: "London", PostalCode: "N1", Country: "GB"}}
	}
	// The completed order the cancellers keep trying to cancel.
	if _, err := h.place(ctx, req("done")); err != nil {
		b.Fatal(err)
	}
	if err := st.Update(ctx, func(tx *eventstore.Tx) error {
		_, err := eventstore.Update(tx, orderAgg, "done", eventstore.Meta{CorrelationID: "done"}, func(o domain.Order) ([]envelope.Event, error) {
			return domain.OnShipmentScheduled(o, shippingevents.ShipmentScheduled{OrderID: "done", ShipmentID: "s-1"})
		})
		return err
	}); err != nil {
		b.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var refused atomic.Int64
	every := time.Duration(float64(cancellers) / perSecond * float64(time.Second))
	for range cancellers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				_, err := h.cancel(ctx, &cancelRequest{OrderID: "done"})
				if !errors.Is(err, endpoint.ErrConflict) {
					b.Errorf("cancel of a completed order: %v, want a conflict", err)
					return
				}
				refused.Add(1)
			}
		}()
	}
	var n atomic.Int64
	b.SetParallelism(32) // 64 placing clients on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.place(ctx, req(fmt.Sprintf("o%d", n.Add(1)))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	close(stop)
	wg.Wait()
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/secs, "places/s")
	b.ReportMetric(float64(refused.Load())/secs, "409s/s")
}
