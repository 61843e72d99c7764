package bench_test

import (
	"path/filepath"
	"testing"

	"github.com/choreo-dev/choreo/bench"
	bolt "go.etcd.io/bbolt"
)

// BoltTxID reads the same transaction id bbolt reports, while the file is
// open for writing by someone else.
func TestBoltTxID(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range 37 {
		if err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("b"))
			if err != nil {
				return err
			}
			return b.Put([]byte{byte(i)}, make([]byte, 100))
		}); err != nil {
			t.Fatal(err)
		}
		if i%9 != 0 {
			continue
		}
		var want int
		_ = db.View(func(tx *bolt.Tx) error { want = tx.ID(); return nil })
		got, err := bench.BoltTxID(path)
		if err != nil {
			t.Fatal(err)
		}
		if got != int64(want) {
			t.Fatalf("after %d commits: BoltTxID = %d, bbolt says %d", i+1, got, want)
		}
		if got-1 != int64(i+1) {
			t.Fatalf("after %d commits: txid %d, want commits+1", i+1, got)
		}
	}
	if _, err := bench.BoltTxID(filepath.Join(t.TempDir(), "missing.db")); err == nil {
		t.Error("BoltTxID(missing) = nil error")
	}
}
