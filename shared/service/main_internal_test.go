package service

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/choreo-dev/choreo/shared/config"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/partition"
	"github.com/choreo-dev/choreo/shared/saga"
)

type counted struct{}

func (counted) EventType() string { return "Counted" }

// countView counts the events of each aggregate.
type countView struct{}

func (countView) Buckets() []string { return []string{"counts"} }
func (countView) Apply(tx *eventstore.Tx, e envelope.Envelope, _ envelope.Event) error {
	return tx.ViewBucket("counts").Put([]byte(e.AggregateID), []byte{byte(e.Version)})
}

// The -rebuild-projections flag replays the log into emptied views and exits 0.
func TestRebuildProjectionsFlag(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CHOREO_DATA_DIR", dir)
	reg := envelope.NewRegistry()
	envelope.RegisterPublic[counted](reg, "shop")
	spec := Spec{Saga: saga.Service{Name: "shop", Publishes: []saga.Event{saga.Publishes[counted](saga.Outside, saga.Terminal())}},
		Registry: reg, Projections: []eventstore.Projection{countView{}}}
	st, err := eventstore.Open(filepath.Join(dir, "shop.db"), eventstore.Options{Service: "shop", Registry: reg, Projections: spec.Projections})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := st.Update(context.Background(), func(tx *eventstore.Tx) error {
			_, err := tx.Append("thing", "a", tx.Version("thing", "a"), eventstore.Meta{}, counted{})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Damage the view, as a buggy projection would have.
	_ = st.Update(context.Background(), func(tx *eventstore.Tx) error { return tx.ViewBucket("counts").Put([]byte("a"), []byte{99}) })
	st.Close()

	if code := main(func(*config.Env) Spec { return spec }, []string{"-rebuild-projections"}, os.Getenv, io.Discard, io.Discard); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	st, err = eventstore.Open(filepath.Join(dir, "shop.db"), eventstore.Options{Service: "shop", Registry: reg, Projections: spec.Projections})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_ = st.View(t.Context(), func(tx *eventstore.Tx) error {
		if got := tx.ViewBucket("counts").Get([]byte("a")); len(got) != 1 || got[0] != 3 {
			t.Fatalf("rebuilt view = %v, want [3]", got)
		}
		return nil
	})
}

func TestHTTPAddrComesFromTheEnvironmentThenTheSpec(t *testing.T) {
	p1 := partition.Partition{Index: 1, Count: 2}
	for _, tc := range []struct {
		env, spec string
		p         partition.Partition
		want      string
	}{
		{"", "127.0.0.1:9101", partition.Whole, "127.0.0.1:9101"},
		{"0.0.0.0:9999", "127.0.0.1:9101", partition.Whole, "0.0.0.0:9999"},
		{"off", "127.0.0.1:9101", partition.Whole, "off"},
		{"", "", partition.Whole, "off"},
		{"", "127.0.0.1:9101", p1, "127.0.0.1:9201"},
		{"", "127.0.0.1:65500", p1, "off"},
		{"0.0.0.0:9999", "127.0.0.1:9101", p1, "0.0.0.0:9999"},
	} {
		if got := httpAddr(tc.env, tc.spec, tc.p); got != tc.want {
			t.Errorf("httpAddr(%q, %q, %v) = %q, want %q", tc.env, tc.spec, tc.p, got, tc.want)
		}
	}
}
