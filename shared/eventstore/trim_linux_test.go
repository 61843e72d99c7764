package eventstore_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/choreo-dev/choreo/shared/eventstore"
)

// rssFileKiB is this process's file-backed resident set (RssFile).
func rssFileKiB(t *testing.T) int64 {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// TestTrimMappedReleasesReadPages: reading 32 MiB of the file maps it into
// the process; TrimMapped unmaps it, and the data reads the same afterwards.
func TestTrimMappedReleasesReadPages(t *testing.T) {
	// Not parallel: it measures the whole process's RSS. Its own periodic
	// trim is off, so that only the calls below trim.
	s, err := eventstore.Open(filepath.Join(t.TempDir(), "trim.db"), eventstore.Options{
		Service: "test", Registry: registry(), TrimEvery: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n, size = 2048, 16 << 10
	val := func(i int) []byte { return []byte(strings.Repeat(strconv.Itoa(i%10), size)) }
	if err := s.Update(t.Context(), func(tx *eventstore.Tx) error {
		b := tx.ViewBucket("bulk")
		for i := range n {
			if err := b.Put([]byte(strconv.Itoa(i)), val(i)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	readAll := func() {
		t.Helper()
		if err := s.View(t.Context(), func(tx *eventstore.Tx) error {
			b := tx.ViewBucket("bulk")
			for i := range n {
				if got := b.Get([]byte(strconv.Itoa(i))); string(got) != string(val(i)) {
					t.Fatalf("value %d changed", i)
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.TrimMapped(); err != nil {
		t.Fatal(err)
	}
	base := rssFileKiB(t)
	readAll()
	read := rssFileKiB(t)
	if read-base < 16<<10 {
		t.Fatalf("reading 32 MiB mapped only %d KiB more (RssFile %d -> %d)", read-base, base, read)
	}
	if err := s.TrimMapped(); err != nil {
		t.Fatal(err)
	}
	trimmed := rssFileKiB(t)
	if trimmed-base > (read-base)/4 {
		t.Fatalf("RssFile %d KiB after reading, %d KiB after trimming (from %d): not released", read, trimmed, base)
	}
	readAll() // the same values, faulted in again
	t.Logf("RssFile: %d KiB, after reading 32 MiB %d KiB, after trimming %d KiB", base, read, trimmed)
}
