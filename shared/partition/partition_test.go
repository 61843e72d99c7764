package partition_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/partition"
	"github.com/nats-io/nats.go/jetstream"
)

// Of agrees with nats-server's partition() on every key: a stream that
// partitions subjects by their id token and a service that partitions by
// the same key own the same keys.
func TestOfMatchesJetStream(t *testing.T) {
	t.Parallel()
	js := natstest.RunJetStream(t).JetStream(t)
	ctx := context.Background()
	const n = 3
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "P", Subjects: []string{"p.*"},
		SubjectTransform: &jetstream.SubjectTransformConfig{Source: "p.*", Destination: "p.{{wildcard(1)}}.{{partition(" + strconv.Itoa(n) + ",1)}}"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		key := fmt.Sprintf("key-%d-%x", i, i*7919)
		if _, err := js.Publish(ctx, "p."+key, nil); err != nil {
			t.Fatal(err)
		}
		m, err := st.GetMsg(ctx, uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if want := "p." + key + "." + strconv.Itoa(partition.Of(key, n)); m.Subject != want {
			t.Fatalf("JetStream stored %s, Of says %s", m.Subject, want)
		}
	}
}

func TestParseAndOwn(t *testing.T) {
	t.Parallel()
	p, err := partition.Parse("1/2")
	if err != nil || p != (partition.Partition{Index: 1, Count: 2}) || p.String() != "1/2" || p.Suffix() != "-p1" {
		t.Fatalf("Parse(1/2) = %+v %v", p, err)
	}
	for _, bad := range []string{"2/2", "-1/2", "1", "a/b", "0/0", "0/5000"} {
		if _, err := partition.Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	if partition.Whole.Suffix() != "" || !partition.Whole.Owns("anything") {
		t.Fatal("the whole owns everything, with no suffix")
	}
	n := 0
	k := p.NewKey(func() string { n++; return fmt.Sprintf("id-%d", n) })
	if !p.Owns(k) {
		t.Fatalf("NewKey returned %s, not owned by %v", k, p)
	}
	if got := partition.From(partition.With(context.Background(), p)); got != p {
		t.Fatalf("From(With(p)) = %v", got)
	}
	if got := partition.From(context.Background()); got != partition.Whole {
		t.Fatalf("From(empty) = %v", got)
	}
}
