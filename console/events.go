package console

import (
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// What the console hears: every event as it is published (a core
// subscription to each event stream's subjects, which a JetStream publish
// reaches too), for the saga rates and to tell the pages which orders
// moved. Nothing is stored: the rates start when the console does.

// The order service's events that open and end a saga (contract, section 4).
const (
	orderService   = "order"
	typePlaced     = "OrderPlaced"
	typeCompleted  = "OrderCompleted"
	typeCancelled  = "OrderCancelled"
	bucketDuration = 10 * time.Second
)

// maxBatch bounds the order ids one "orders" message names; past it the
// message says there were more, and a saga page reads its saga anyway.
const maxBatch = 200

// watcher subscribes to the event streams' subjects and counts and batches
// what goes by.
type watcher struct {
	nc  *nats.Conn
	log zerolog.Logger

	mu      sync.Mutex
	subs    map[string]*nats.Subscription // by subject
	seen    dedupe
	rates   *rates
	batch   map[string]bool // order ids since the last flush
	more    bool            // ids past maxBatch were dropped
	ordered bool            // an order event went by: the lists changed
}

func newWatcher(nc *nats.Conn, r *rates, log zerolog.Logger) *watcher {
	return &watcher{nc: nc, log: log, subs: map[string]*nats.Subscription{}, rates: r, batch: map[string]bool{}, seen: newDedupe()}
}

// follow subscribes to the subjects of each event stream in infos that it
// does not follow yet (the streams appear as the services start).
func (w *watcher) follow(infos []*jetstream.StreamInfo) {
	for _, info := range infos {
		if info.Config.Name == streams.DLQ {
			continue
		}
		for _, subject := range info.Config.Subjects {
			w.mu.Lock()
			_, ok := w.subs[subject]
			w.mu.Unlock()
			if ok {
				continue
			}
			sub, err := w.nc.Subscribe(subject, w.handle)
			if err != nil {
				w.log.Warn().Err(err).Str("subject", subject).Msg("cannot follow the events")
				continue
			}
			_ = sub.SetPendingLimits(1<<16, 64<<20) // a burst is dropped rather than held
			w.mu.Lock()
			w.subs[subject] = sub
			w.mu.Unlock()
		}
	}
}

// countable is how old an event may be and still be counted: an older one
// is a republish (a redrive, a healed stream), already counted when it
// happened. Within it, dedupe drops a second copy.
const countable = 30 * time.Second

// handle counts one event and notes its order.
func (w *watcher) handle(m *nats.Msg) {
	svc, typ, id, ok := streams.ParseSubject(m.Subject)
	if !ok {
		return
	}
	var count func(*Bucket)
	if svc == orderService {
		switch typ {
		case typePlaced:
			count = func(b *Bucket) { b.Placed++ }
		case typeCompleted:
			count = func(b *Bucket) { b.Completed++ }
		case typeCancelled:
			count = func(b *Bucket) { b.Cancelled++ }
		}
	}
	if count != nil {
		var env struct {
			OccurredAt time.Time `json:"occurred_at"`
		}
		if json.Unmarshal(m.Data, &env) != nil || w.rates.now().Sub(env.OccurredAt) > countable {
			count = nil
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if count != nil && !w.seen.repeat(m.Header.Get(jetstream.MsgIDHeader)) {
		w.rates.add(count)
	}
	w.ordered = w.ordered || svc == orderService
	if len(w.batch) < maxBatch {
		w.batch[id] = true
	} else if !w.batch[id] {
		w.more = true
	}
}

// Moved is the "orders" message: the ids of the orders (or other
// aggregates) whose events went by since the last one.
type Moved struct {
	IDs []string `json:"ids"`
	// More: there were more ids than the message names.
	More bool `json:"more"`
	// Orders: an order's status may have changed (an order event went by).
	Orders bool `json:"orders"`
}

// flush returns what moved since the last flush, and whether anything did.
func (w *watcher) flush() (Moved, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.batch) == 0 {
		return Moved{}, false
	}
	m := Moved{More: w.more, Orders: w.ordered}
	for id := range w.batch {
		m.IDs = append(m.IDs, id)
	}
	slices.Sort(m.IDs)
	w.batch, w.more, w.ordered = map[string]bool{}, false, false
	return m, true
}

func (w *watcher) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.subs {
		_ = s.Unsubscribe()
	}
}

// dedupe remembers the message ids of the events counted lately, in two
// generations of countable each, so its memory is bounded by what a
// minute brings.
type dedupe struct {
	cur, prev map[string]bool
	since     time.Time
}

const dedupeGeneration = countable

func newDedupe() dedupe {
	return dedupe{cur: map[string]bool{}, prev: map[string]bool{}, since: time.Now()}
}

// repeat reports whether id was seen, and remembers it; an empty id is
// never a repeat.
func (d *dedupe) repeat(id string) bool {
	if id == "" {
		return false
	}
	if time.Since(d.since) > dedupeGeneration {
		d.prev, d.cur, d.since = d.cur, map[string]bool{}, time.Now()
	}
	if d.cur[id] || d.prev[id] {
		return true
	}
	d.cur[id] = true
	return false
}

// Bucket is what happened to sagas in one stretch of time.
type Bucket struct {
	At        time.Time `json:"at"`
	Placed    int       `json:"placed"`
	Completed int       `json:"completed"`
	Cancelled int       `json:"cancelled"`
}

// rates counts sagas opened and ended per bucketDuration over a window.
type rates struct {
	mu      sync.Mutex
	since   time.Time
	buckets []Bucket // oldest first, one per bucketDuration, the last the current
	keep    int
	now     func() time.Time
}

func newRates(window time.Duration, now func() time.Time) *rates {
	return &rates{since: now(), keep: int(window / bucketDuration), now: now}
}

// add applies f to the current bucket.
func (r *rates) add(f func(*Bucket)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.advance()
	f(&r.buckets[len(r.buckets)-1])
}

// advance adds the buckets up to now, empty, and drops those past the
// window; r.mu is held.
func (r *rates) advance() {
	cur := r.now().Truncate(bucketDuration)
	if n := len(r.buckets); n == 0 || r.buckets[n-1].At.Before(cur) {
		next := cur
		if n > 0 {
			next = r.buckets[n-1].At.Add(bucketDuration)
			if cur.Sub(next) > time.Duration(r.keep)*bucketDuration {
				next = cur.Add(-time.Duration(r.keep) * bucketDuration)
			}
		}
		for ; !next.After(cur); next = next.Add(bucketDuration) {
			r.buckets = append(r.buckets, Bucket{At: next})
		}
	}
	if extra := len(r.buckets) - r.keep; extra > 0 {
		r.buckets = slices.Delete(r.buckets, 0, extra)
	}
}

// SagaRates is the overview's chart: sagas placed, completed and cancelled
// per bucket since the console started (at most a window back), and the
// rates of the last complete bucket.
type SagaRates struct {
	Since         time.Time `json:"since"`
	BucketSeconds float64   `json:"bucket_seconds"`
	WindowSeconds float64   `json:"window_seconds"`
	Buckets       []Bucket  `json:"buckets"`
	// PlacedPerSecond and EndedPerSecond are the last complete bucket's.
	PlacedPerSecond float64 `json:"placed_per_second"`
	EndedPerSecond  float64 `json:"ended_per_second"`
}

func (r *rates) snapshot() SagaRates {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.advance()
	out := SagaRates{Since: r.since, BucketSeconds: bucketDuration.Seconds(),
		WindowSeconds: (time.Duration(r.keep) * bucketDuration).Seconds(), Buckets: slices.Clone(r.buckets)}
	if n := len(r.buckets); n >= 2 {
		b := r.buckets[n-2]
		out.PlacedPerSecond = float64(b.Placed) / bucketDuration.Seconds()
		out.EndedPerSecond = float64(b.Completed+b.Cancelled) / bucketDuration.Seconds()
	}
	return out
}

// hub hands server-sent events to every page that listens.
type hub struct {
	mu      sync.Mutex
	clients map[chan sseMsg]struct{}
}

type sseMsg struct {
	event string
	data  []byte
}

// maxListeners bounds the pages listening at once.
const maxListeners = 64

func newHub() *hub { return &hub{clients: map[chan sseMsg]struct{}{}} }

// listen adds a listener; false when there are too many.
func (h *hub) listen() (chan sseMsg, func(), bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.clients) >= maxListeners {
		return nil, nil, false
	}
	ch := make(chan sseMsg, 16)
	h.clients[ch] = struct{}{}
	return ch, func() {
		h.mu.Lock()
		delete(h.clients, ch)
		h.mu.Unlock()
	}, true
}

// publish sends v as event to every listener; one that is behind misses
// it (the next overview replaces it anyway).
func (h *hub) publish(event string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.clients {
		select {
		case ch <- sseMsg{event, data}:
		default:
		}
	}
}
