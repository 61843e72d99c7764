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
// handlers and store (a bbolt file, fsync'd group commits) from 64 placing
// goroutines, alone and while 64 clients cancel a completed order about 275
// times a second in all: each cancel is a 409 refused inside a shared write
// transaction. The two conditions alternate every half second within one
// run, so that both see the same machine (others' load comes and goes), and
// the run reports the places/s of each and their ratio:
//
//	go test -run '^$' -bench PlaceAmid409s -benchtime 20s -count 3 ./order
func BenchmarkPlaceAmid409s(b *testing.B) {
	const (
		cancellers = 64
		perSecond  = 275 // cancels a second, in all
		phase      = 500 * time.Millisecond
	)
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

	// amid is the condition: true while the cancellers cancel. The
	// switcher flips it and adds up the time spent in each.
	var amid atomic.Bool
	var spent [2]time.Duration // alone, amid
	stop := make(chan struct{})
	var switcher, clients sync.WaitGroup
	switcher.Add(1)
	go func() {
		defer switcher.Done()
		tick := time.NewTicker(phase)
		defer tick.Stop()
		last := time.Now()
		for {
			var now time.Time
			select {
			case <-stop:
				now = time.Now()
			case now = <-tick.C:
			}
			spent[b2i(amid.Load())] += now.Sub(last)
			last = now
			select {
			case <-stop:
				return
			default:
				amid.Store(!amid.Load())
			}
		}
	}()
	var refused atomic.Int64
	every := time.Second * cancellers / perSecond
	for i := range cancellers {
		clients.Add(1)
		go func() {
			defer clients.Done()
			// Spread the clients over the period, not all at once.
			select {
			case <-stop:
				return
			case <-time.After(every * time.Duration(i) / cancellers):
			}
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if !amid.Load() {
					continue
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
	var placed [2]atomic.Int64 // alone, amid: places that began and ended in it
	b.SetParallelism(32)       // 64 placing clients on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			cond := amid.Load()
			if _, err := h.place(ctx, req(fmt.Sprintf("o%d", n.Add(1)))); err != nil {
				b.Error(err)
				return
			}
			if amid.Load() == cond {
				placed[b2i(cond)].Add(1)
			}
		}
	})
	b.StopTimer()
	close(stop)
	switcher.Wait()
	clients.Wait()
	alone := float64(placed[0].Load()) / spent[0].Seconds()
	withRefusals := float64(placed[1].Load()) / spent[1].Seconds()
	b.ReportMetric(alone, "places/s-alone")
	b.ReportMetric(withRefusals, "places/s-amid-409s")
	b.ReportMetric(withRefusals/alone, "ratio")
	b.ReportMetric(float64(refused.Load())/spent[1].Seconds(), "409s/s")
}

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}
