package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/choreo-dev/choreo/stack"
	bolt "go.etcd.io/bbolt"
)

// boltMagic marks a bbolt meta page.
const boltMagic = 0xED0CDAED

// BoltTxID reads the last committed transaction id of a bbolt file straight
// from its two meta pages, without taking the file lock, so it works while
// the owning service runs. A meta page that is being rewritten fails its
// checksum and the other one counts, as when bbolt opens the file.
//
// The layout (bbolt 1.x, native byte order): a 16-byte page header, then
// magic, version, page size, flags (4 bytes each), the root bucket (16),
// freelist and high-water page ids (8 each), txid (8) and an FNV-64a
// checksum (8) of the meta fields before it.
func BoltTxID(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("bbolt meta: %w", err)
	}
	defer f.Close()
	const header, metaLen = 16, 64
	buf := make([]byte, header+metaLen)
	read := func(off int64) (pageSize uint32, txid uint64, ok bool) {
		if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
			return 0, 0, false
		}
		m := buf[header:]
		ne := binary.NativeEndian
		if ne.Uint32(m[0:]) != boltMagic {
			return 0, 0, false
		}
		h := fnv.New64a()
		h.Write(m[:56])
		if h.Sum64() != ne.Uint64(m[56:]) {
			return 0, 0, false
		}
		return ne.Uint32(m[8:]), ne.Uint64(m[48:]), true
	}
	ps, tx0, ok0 := read(0)
	if !ok0 {
		ps = uint32(os.Getpagesize())
	}
	_, tx1, ok1 := read(int64(ps))
	switch {
	case ok0 && ok1:
		return int64(max(tx0, tx1)), nil
	case ok0:
		return int64(tx0), nil
	case ok1:
		return int64(tx1), nil
	}
	return 0, fmt.Errorf("bbolt meta: %s: no valid meta page", path)
}

// dbPath is a service's bbolt file in the run's data directory.
func dbPath(st *stack.Stack, service string) string {
	return filepath.Join(st.DataDir(), service+".db")
}

// boltTxIDs reads BoltTxID of each service's file while the services run;
// a file that cannot be read is left out.
func boltTxIDs(st *stack.Stack) map[string]int64 {
	out := map[string]int64{}
	for _, name := range st.Services() {
		if tx, err := BoltTxID(dbPath(st, name)); err == nil {
			out[name] = tx
		}
	}
	return out
}

// boltCommits opens each service's bbolt file read-only and returns the
// number of write transactions ever committed to it: the last transaction id
// minus the one a new file starts with. Call it after the services stopped.
func boltCommits(st *stack.Stack) (map[string]int64, error) {
	out := map[string]int64{}
	var errs []error
	for _, name := range st.Services() {
		path := dbPath(st, name)
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
		if err != nil {
			errs = append(errs, fmt.Errorf("open %s: %w", path, err))
			continue
		}
		_ = db.View(func(tx *bolt.Tx) error {
			// A new file's two meta pages hold transaction ids 0 and 1.
			out[name] = int64(tx.ID()) - 1
			return nil
		})
		db.Close()
	}
	return out, errors.Join(errs...)
}
