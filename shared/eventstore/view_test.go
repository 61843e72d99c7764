package eventstore_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/choreo-dev/choreo/shared/eventstore"
)

// scan collects the keys Scan yields.
func scan(t *testing.T, s *eventstore.Store, bucket string, r eventstore.Range) []string {
	t.Helper()
	var keys []string
	if err := s.View(t.Context(), func(tx *eventstore.Tx) error {
		for k := range tx.ViewBucket(bucket).Scan(r) {
			keys = append(keys, string(k))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestViewBucketScan(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	keys := []string{"a", "b\x00", "b\x001", "b\x002", "b\x009", "b\xff", "b\xff\xff", "c", "c\x00x", "\xff", "\xff\xff"}
	if err := s.Update(t.Context(), func(tx *eventstore.Tx) error {
		b := tx.ViewBucket("idx")
		for _, k := range keys {
			if err := b.Put([]byte(k), []byte("v"+k)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		r    eventstore.Range
		want []string
	}{
		{"all", eventstore.Range{}, keys},
		{"all backward", eventstore.Range{Reverse: true}, reversed(keys)},
		{"prefix", eventstore.Range{Prefix: []byte("b\x00")}, keys[1:5]},
		{"prefix backward", eventstore.Range{Prefix: []byte("b\x00"), Reverse: true}, reversed(keys[1:5])},
		{"prefix ending in 0xff", eventstore.Range{Prefix: []byte("b\xff")}, keys[5:7]},
		{"prefix ending in 0xff backward", eventstore.Range{Prefix: []byte("b\xff"), Reverse: true}, reversed(keys[5:7])},
		{"prefix of 0xff backward", eventstore.Range{Prefix: []byte("\xff"), Reverse: true}, reversed(keys[9:])},
		{"no such prefix", eventstore.Range{Prefix: []byte("bb")}, nil},
		{"no such prefix backward", eventstore.Range{Prefix: []byte("bb"), Reverse: true}, nil},
		{"from a key", eventstore.Range{From: []byte("b\x002")}, keys[3:]},
		{"from between keys", eventstore.Range{From: []byte("b\x0011")}, keys[3:]},
		{"from a key backward", eventstore.Range{From: []byte("b\x002"), Reverse: true}, reversed(keys[:4])},
		{"from between keys backward", eventstore.Range{From: []byte("b\x0011"), Reverse: true}, reversed(keys[:3])},
		{"from past the end backward", eventstore.Range{From: []byte("\xff\xff\xff"), Reverse: true}, reversed(keys)},
		{"from in a prefix", eventstore.Range{Prefix: []byte("b\x00"), From: []byte("b\x002")}, keys[3:5]},
		{"from in a prefix backward", eventstore.Range{Prefix: []byte("b\x00"), From: []byte("b\x002"), Reverse: true}, reversed(keys[1:4])},
		{"from before a prefix", eventstore.Range{Prefix: []byte("b\x00"), From: []byte("a")}, keys[1:5]},
		{"from before a prefix backward", eventstore.Range{Prefix: []byte("b\x00"), From: []byte("a"), Reverse: true}, nil},
		{"from after a prefix", eventstore.Range{Prefix: []byte("b\x00"), From: []byte("c")}, nil},
		{"from after a prefix backward", eventstore.Range{Prefix: []byte("b\x00"), From: []byte("c"), Reverse: true}, reversed(keys[1:5])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := scan(t, s, "idx", tc.r); !slices.Equal(got, tc.want) {
				t.Fatalf("keys %q, want %q", got, tc.want)
			}
		})
	}
	// Stopping early, and the values.
	_ = s.View(t.Context(), func(tx *eventstore.Tx) error {
		for k, v := range tx.ViewBucket("idx").Scan(eventstore.Range{Reverse: true}) {
			if string(k) != "\xff\xff" || string(v) != "v\xff\xff" {
				t.Fatalf("first entry backward %q=%q", k, v)
			}
			break
		}
		return nil
	})
}

func reversed(ks []string) []string {
	out := slices.Clone(ks)
	slices.Reverse(out)
	return out
}

func TestViewBucketGetPutDelete(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	// A bucket never written reads as empty, and reading does not create it.
	if err := s.Update(t.Context(), func(tx *eventstore.Tx) error {
		b := tx.ViewBucket("fresh")
		if v := b.Get([]byte("k")); v != nil {
			return fmt.Errorf("get from a missing bucket: %q", v)
		}
		for range b.Scan(eventstore.Range{}) {
			return errors.New("scan of a missing bucket yielded")
		}
		return b.Delete([]byte("k"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(t.Context(), func(tx *eventstore.Tx) error {
		b := tx.ViewBucket("fresh")
		if err := b.Put([]byte("k"), nil); err != nil {
			return err
		}
		if err := b.Put([]byte("j"), []byte("x")); err != nil {
			return err
		}
		return b.Delete([]byte("j"))
	}); err != nil {
		t.Fatal(err)
	}
	if got := scan(t, s, "fresh", eventstore.Range{}); !slices.Equal(got, []string{"k"}) {
		t.Fatalf("keys %q, want [k]", got)
	}
	if err := s.Update(t.Context(), func(tx *eventstore.Tx) error {
		return tx.ViewBucket("fresh").Delete([]byte("k")) // an empty value is still there
	}); err != nil {
		t.Fatal(err)
	}
	if got := scan(t, s, "fresh", eventstore.Range{}); len(got) != 0 {
		t.Fatalf("keys %q after delete, want none", got)
	}
	err := s.View(t.Context(), func(tx *eventstore.Tx) error {
		return errors.Join(tx.ViewBucket("fresh").Put([]byte("k"), nil), tx.ViewBucket("fresh").Delete([]byte("k")))
	})
	if !errors.Is(err, eventstore.ErrReadOnly) {
		t.Fatalf("write in View: %v, want ErrReadOnly", err)
	}
}
