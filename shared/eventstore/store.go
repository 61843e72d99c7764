package eventstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/failpoint"
	"github.com/choreo-dev/choreo/shared/stages"
	"github.com/choreo-dev/choreo/shared/tracing"
	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Bucket names. Keys are documented where they are written.
var (
	bucketEvents    = []byte("events")     // aggKey 0x00 version(8) -> envelope JSON
	bucketLog       = []byte("log")        // position(8) -> aggKey 0x00 version(8): commit order, for rebuilds
	bucketSnapshots = []byte("snapshots")  // aggKey -> snapshot JSON
	bucketOutbox    = []byte("outbox")     // sequence(8) -> subject len(2) subject envelope JSON
	bucketInbox     = []byte("inbox")      // event id -> handled at, unix nanos (8)
	bucketInboxTime = []byte("inbox_time") // handled at(8) event id -> nil, for pruning oldest first
	bucketViews     = []byte("views")      // one nested bucket per projection bucket name
	bucketMeta      = []byte("meta")
	bucketTraces    = []byte("event_traces") // aggKey 0x00 version(8) -> trace context of a public event (trace.go)
)

// Projection keeps a read model up to date. Apply runs inside the transaction
// that appends the event, so a query never sees an event without its effect on
// the view. It must be deterministic: RebuildProjections replays the whole log
// through it.
type Projection interface {
	// Buckets names the view buckets the projection owns; a rebuild empties them.
	Buckets() []string
	// Apply updates the views for one appended event.
	Apply(tx *Tx, e envelope.Envelope, ev envelope.Event) error
}

// Options configure a Store. The zero value of each field means its default.
type Options struct {
	// Service is the stream owner's name: public events are published on
	// "<Service>.events.<Type>.<aggregate id>". Required.
	Service string
	// Registry decodes stored events. Required.
	Registry *envelope.Registry
	// Projections are applied to every appended event, in order.
	Projections []Projection
	// SnapshotEvery stores an aggregate's state every N events. Default 100.
	SnapshotEvery uint64
	// LockTimeout bounds the wait for another process's lock on the file.
	// Default 2s: a second process on the same data directory fails fast.
	LockTimeout time.Duration
	// MaxBatch bounds how many writes share one transaction and its fsync
	// (see groupcommit.go). Default 1000.
	MaxBatch int
	// Now is the clock for occurred_at. Default time.Now.
	Now func() time.Time
	// CacheEntries bounds the in-memory cache of aggregate states. Default
	// 4096 (the hot aggregates: wallets, SKUs, open orders); negative
	// disables it.
	CacheEntries int
	// TrimEvery is how often the store drops its mapping of the file's pages
	// so that RSS reflects the pages in use rather than every page ever read
	// (see trim.go). Default 250ms; negative disables it.
	TrimEvery time.Duration
	// Logger. Default zerolog.Nop().
	Logger *zerolog.Logger
	// ConsumedProjections are applied to every event of another service this
	// one handled (see RecordConsumed): a read model of what it heard.
	ConsumedProjections []Projection
	// Tracer, if set, gives each Update a span (store.commit) that shows
	// its wait for the group commit. Nil: no spans.
	Tracer *tracing.Tracer
	// CommitObserver, if set, is told of each write transaction committed:
	// how long it took, fsync included, and how many writes shared it. It
	// runs on the committer goroutine: keep it quick.
	CommitObserver func(took time.Duration, batch int)
}

func (o *Options) defaults() error {
	if o.Service == "" {
		return errors.New("eventstore: Options.Service is required")
	}
	if o.Registry == nil {
		return errors.New("eventstore: Options.Registry is required")
	}
	if o.SnapshotEvery == 0 {
		o.SnapshotEvery = 100
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = 2 * time.Second
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CacheEntries == 0 {
		o.CacheEntries = 4096
	}
	if o.TrimEvery == 0 {
		o.TrimEvery = 250 * time.Millisecond
	}
	if o.Logger == nil {
		nop := zerolog.Nop()
		o.Logger = &nop
	}
	return nil
}

// Store is a service's event store. It is safe for concurrent use.
type Store struct {
	db     *bolt.DB
	opts   Options
	notify chan struct{}
	cache  *stateCache

	// The states saved in the current write transaction, shared by every
	// closure that bbolt batches into it (they see each other's writes, so
	// they must see each other's states too). Only touched inside write
	// transactions, which bbolt runs one at a time.
	writeTx     *bolt.Tx
	writeStates map[string]cached

	writes chan *write
	// published holds the outbox entries JetStream acknowledged that are
	// not deleted yet (see groupcommit.go).
	published struct {
		mu    sync.Mutex
		set   map[uint64]struct{} // reported and not yet deleted: PendingOutbox skips them
		queue []uint64            // not yet handed to a commit
		kick  chan struct{}       // the committer hears of new ones
	}
	quit    chan struct{}
	stopped chan struct{}
	close   sync.Once
	trimmer sync.WaitGroup
}

// Open opens (creating if needed) the store at path. It never opens bbolt
// with NoSync: a commit returns only after fsync.
func Open(path string, opts Options) (*Store, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w (waited %s; is another instance running on this data directory?)", path, ErrLocked, opts.LockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(btx *bolt.Tx) error {
		for _, b := range [][]byte{bucketEvents, bucketLog, bucketSnapshots, bucketOutbox, bucketInbox, bucketInboxTime, bucketViews, bucketMeta, bucketTraces} {
			if _, err := btx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: create buckets: %w", path, err)
	}
	s := &Store{db: db, opts: opts, notify: make(chan struct{}, 1),
		writes: make(chan *write, opts.MaxBatch), quit: make(chan struct{}), stopped: make(chan struct{})}
	s.published.set, s.published.kick = map[uint64]struct{}{}, make(chan struct{}, 1)
	go s.commitLoop()
	if opts.TrimEvery > 0 {
		s.trimmer.Add(1)
		go s.trimLoop()
	}
	if opts.CacheEntries > 0 {
		s.cache = newStateCache(opts.CacheEntries)
	}
	return s, nil
}

// Close closes the file.
func (s *Store) Close() error {
	s.close.Do(func() {
		close(s.quit)
		<-s.stopped
		s.trimmer.Wait()
	})
	return s.db.Close()
}

// Path is the file's path.
func (s *Store) Path() string { return s.db.Path() }

// Registry is the registry the store decodes with.
func (s *Store) Registry() *envelope.Registry { return s.opts.Registry }

// Service is the owning service's name.
func (s *Store) Service() string { return s.opts.Service }

// Outboxed is signalled (without blocking, coalescing) as soon as a commit
// that queued outbox entries is durable; the relay waits on it.
func (s *Store) Outboxed() <-chan struct{} { return s.notify }

// Update runs fn in a write transaction and commits it (fsync) if fn returns
// nil. Concurrent Updates share commits (group commit, see groupcommit.go:
// fn may run more than once). A panic in fn becomes an error. When fn fails,
// what it wrote is rolled back; a fn that fails before writing anything (a
// refused command) leaves the others of its batch alone.
func (s *Store) Update(ctx context.Context, fn func(tx *Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tc := tracing.FromContext(ctx)
	span := s.startCommit(ctx)
	var done *Tx
	// Tracing (package stages): when this write was submitted, when its
	// closure ran, for the outbox entries it queued.
	var submitted, ran, returned time.Time
	if stages.Enabled() {
		submitted = time.Now()
	}
	w := &write{done: make(chan error, 1)}
	w.fn = func(btx *bolt.Tx) error {
		span.ran()
		// A fresh Tx on every run: a batch may run this closure again.
		tx := &Tx{b: btx, s: s, now: s.opts.Now().UTC(), states: s.statesFor(btx), trace: tc}
		done, w.outboxed = nil, false
		if !submitted.IsZero() {
			ran = time.Now()
			defer func() { returned = time.Now() }()
		}
		if err := run(fn, tx); err != nil {
			if tx.dirty {
				return err
			}
			// Nothing written: drop the closure, keep the batch. Its
			// loads go too, with any state it set aside for a write that
			// never happened.
			tx.restoreStates(0)
			tx.dropped = true
			return refusal{err}
		}
		done = tx
		w.outboxed = tx.outboxed
		return nil
	}
	err := s.submit(w)
	span.end(err)
	if err != nil {
		return err
	}
	if len(done.traced) > 0 {
		committed := w.committed
		if committed.IsZero() { // committed alone (see submit)
			committed = time.Now()
		}
		for _, subject := range done.traced {
			for _, m := range [...]struct {
				stage string
				at    time.Time
			}{{stages.StoreSubmit, submitted}, {stages.StoreRun, ran}, {stages.StoreRan, returned},
				{stages.StoreCommit, w.committing}, {stages.StoreCommitted, committed}} {
				stages.Mark(s.opts.Service, m.stage, subject, m.at)
			}
		}
	}
	failpoint.Crash(s.opts.Service, failpoint.StoreAfterCommit)
	return nil
}

// run calls fn, turning a panic into an error.
func run(fn func(tx *Tx) error, tx *Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("eventstore: panic in update: %v\n%s", r, debug.Stack())
		}
	}()
	return fn(tx)
}

// statesFor returns the state map of the write transaction btx, making one
// (whose states go to the cache when btx commits) for a new transaction.
func (s *Store) statesFor(btx *bolt.Tx) map[string]cached {
	if s.writeTx != btx {
		states := map[string]cached{}
		s.writeTx, s.writeStates = btx, states
		btx.OnCommit(func() {
			// Committed: the states this transaction saved are now facts.
			for key, e := range states {
				s.cache.put(key, e)
			}
		})
	}
	return s.writeStates
}

// View runs fn in a read-only transaction; it sees one consistent snapshot.
func (s *Store) View(ctx context.Context, fn func(tx *Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return closedIf(s.db.View(func(btx *bolt.Tx) error {
		return fn(&Tx{b: btx, s: s, now: s.opts.Now().UTC()})
	}))
}

// Check runs bbolt's consistency check on the whole file (every page
// reachable exactly once, the freelist in agreement) in a read transaction,
// and returns every problem it finds, joined.
func (s *Store) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return closedIf(s.db.View(func(btx *bolt.Tx) error {
		var errs []error
		for err := range btx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}))
}

// closedIf returns ErrClosed for bbolt's error about a closed file.
func closedIf(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}
