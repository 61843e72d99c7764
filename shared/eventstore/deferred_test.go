package eventstore_test

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/eventstore"
)

// Messages set aside come back per queue and key, in stream order, survive
// a reopen, and storing one again is a no-op that says so.
func TestDeferredMessages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "d.db")
	st := openStore(t, path, 0)
	msg := func(queue, key string, seq uint64) eventstore.DeferredMsg {
		return eventstore.DeferredMsg{Queue: queue, Key: key, Seq: seq, Subject: "order.events.Pinged." + key,
			Header: map[string][]string{"Nats-Msg-Id": {key}}, Data: []byte(`{"id":"x"}`), Stream: "ORDER_EVENTS",
			Delivered: 1, Timestamp: time.Unix(1, 0).UTC()}
	}
	// Stored out of order, and one key a prefix of another.
	added, err := st.Defer(ctx, []eventstore.DeferredMsg{msg("s/d", "o1", 9), msg("s/d", "o1", 3), msg("s/d", "o12", 4), msg("s/e", "o1", 5)})
	if err != nil || !reflect.DeepEqual(added, []bool{true, true, true, true}) {
		t.Fatalf("Defer = %v, %v", added, err)
	}
	if added, err := st.Defer(ctx, []eventstore.DeferredMsg{msg("s/d", "o1", 3), msg("s/d", "o1", 10)}); err != nil || !reflect.DeepEqual(added, []bool{false, true}) {
		t.Fatalf("Defer again = %v, %v", added, err)
	}
	if _, err := st.Defer(ctx, []eventstore.DeferredMsg{msg("s/d", "o\x001", 1)}); err == nil {
		t.Fatal("a key with a NUL byte was stored")
	}
	st.Close()
	st = openStore(t, path, 0)
	defer st.Close()
	keys, err := st.DeferredKeys(ctx, "s/d")
	if err != nil || !reflect.DeepEqual(keys, map[string]int{"o1": 3, "o12": 1}) {
		t.Fatalf("DeferredKeys = %v, %v", keys, err)
	}
	rows, err := st.NextDeferred(ctx, "s/d", "o1", 2)
	if err != nil || len(rows) != 2 || rows[0].Seq != 3 || rows[1].Seq != 9 {
		t.Fatalf("NextDeferred = %+v, %v", rows, err)
	}
	if want := msg("s/d", "o1", 3); !reflect.DeepEqual(rows[0], want) {
		t.Fatalf("row %+v, want %+v", rows[0], want)
	}
	if err := st.Undefer(ctx, "s/d", "o1", 3); err != nil {
		t.Fatal(err)
	}
	rows, _ = st.NextDeferred(ctx, "s/d", "o1", 10)
	if len(rows) != 2 || rows[0].Seq != 9 || rows[1].Seq != 10 {
		t.Fatalf("after Undefer: %+v", rows)
	}
}
