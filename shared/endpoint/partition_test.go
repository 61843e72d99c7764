package endpoint_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/endpoint"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/partition"
	"github.com/rs/zerolog"
)

type byID struct {
	ID string `json:"id"`
}

// Two partitions of one service: a request routed by its id is answered by
// the partition that owns the id, wherever it lands; a gathering request is
// answered by both, merged; a partition that holds nothing (404) is left out
// of the merge.
func TestPartitionedRequests(t *testing.T) {
	t.Parallel()
	srv := natstest.RunJetStream(t)
	for i := range 2 {
		p := partition.Partition{Index: i, Count: 2}
		nc := srv.Connect(t)
		s, err := endpoint.Start(nc, endpoint.Config{Name: "shop", Logger: zerolog.Nop(), Partition: p},
			endpoint.New("shop.get", func(ctx context.Context, r *byID) (any, error) {
				return map[string]any{"id": r.ID, "partition": partition.From(ctx).Index}, nil
			}, endpoint.RouteBy("id")),
			endpoint.New("shop.list", func(ctx context.Context, _ *struct{}) (any, error) {
				return []int{partition.From(ctx).Index}, nil
			}, endpoint.Gather(func(_ []byte, replies [][]byte) (any, error) {
				var all []int
				for _, r := range replies {
					var part []int
					if err := json.Unmarshal(r, &part); err != nil {
						return nil, err
					}
					all = append(all, part...)
				}
				slices.Sort(all)
				return all, nil
			})),
			endpoint.New("shop.find", func(ctx context.Context, r *byID) (any, error) {
				if partition.From(ctx).Owns(r.ID) {
					return map[string]any{"found": r.ID}, nil
				}
				return nil, endpoint.NotFound("id %s: not here", r.ID)
			}, endpoint.Gather(func(_ []byte, replies [][]byte) (any, error) {
				return json.RawMessage(replies[0]), nil
			})),
		)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Stop() })
	}
	nc := srv.Connect(t)
	ask := func(subject, body string) map[string]any {
		t.Helper()
		m, err := nc.Request(subject, []byte(body), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		_ = json.Unmarshal(m.Data, &v)
		if v == nil {
			v = map[string]any{"raw": string(m.Data), "status": m.Header.Get("Nats-Service-Error-Code")}
		}
		return v
	}
	for i := range 20 { // each request lands on either partition
		id := fmt.Sprintf("key-%d", i)
		got := ask("shop.get", `{"id":"`+id+`"}`)
		if want := float64(partition.Of(id, 2)); got["partition"] != want {
			t.Fatalf("%s answered by partition %v, owned by %v", id, got["partition"], want)
		}
	}
	for range 4 {
		m, err := nc.Request("shop.list", []byte(`{}`), 5*time.Second)
		if err != nil || string(m.Data) != "[0,1]" {
			t.Fatalf("gathered %s (%v), want [0,1]", m.Data, err)
		}
		if got := ask("shop.find", `{"id":"key-3"}`); got["found"] != "key-3" {
			t.Fatalf("find: %v", got)
		}
	}
}
