package consumer

import (
	"context"
	"sync"
	"time"

	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/failpoint"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// overflow sets a hot order's surplus aside in the store (see
// eventstore.Defer) instead of handing it back to JetStream.
//
// A message handed back stays unacknowledged, and a durable has a bounded
// window of those (MaxAckPending): an order with thousands of events
// waiting would fill it, and the server would deliver nothing else until
// the hot order was worked off. Set aside, the message is acknowledged and
// the window stays open for the other orders.
//
// Once an order has messages set aside, every later message of it is set
// aside too, so that they are handled in stream order; its rows are fed to
// the scheduler a queue-full at a time once its in-memory queue is empty,
// and deleted as each is handled. When the last is, the order goes back to
// the direct path. Set aside, a message is handled exactly as a delivery
// (the same checks, inbox, retries and dead letter), through a storedMsg.
type overflow struct {
	st      *eventstore.Store
	sched   *scheduler
	service string // for its failpoint
	queue   string // the stream and durable: the rows' namespace
	perKey  int
	limit   int // rows, over all keys: beyond it messages are handed back
	log     zerolog.Logger
	report  func(total int) // told every change of total (the metric), under mu

	in   chan jetstream.Msg // to the writer
	kick chan struct{}      // the feeder has something to look at

	mu    sync.Mutex
	keys  map[string]*heldKey
	total int // rows stored and messages on their way
}

// heldKey is an order with messages set aside.
type heldKey struct {
	count     int       // rows stored, and messages on their way to the store
	loaded    int       // rows in the scheduler, not yet settled
	notBefore time.Time // a row was handed back: not reloaded before then
	// gen counts the rows handed back: rows loaded before one was are
	// stale, handed back unhandled, so that none overtakes it.
	gen   uint64
	extra map[uint64]uint64 // deliveries beyond the stored count, by row
	told  bool              // the log said it is hot
}

func newOverflow(st *eventstore.Store, sched *scheduler, service, queue string, perKey, limit int, log zerolog.Logger, report func(int)) *overflow {
	return &overflow{st: st, sched: sched, service: service, queue: queue, perKey: perKey, limit: limit, log: log, report: report,
		in: make(chan jetstream.Msg, 1024), kick: make(chan struct{}, 1), keys: map[string]*heldKey{}}
}

// load counts what an earlier run set aside. The runner calls it before it
// consumes anything: an order with rows must be known as held before its
// next message arrives, or that message would overtake them.
func (o *overflow) load(ctx context.Context) error {
	held, err := o.st.DeferredKeys(ctx, o.queue)
	if err != nil {
		return err
	}
	o.mu.Lock()
	for k, n := range held {
		o.keys[k] = &heldKey{count: n}
		o.total += n
	}
	o.report(o.total)
	o.mu.Unlock()
	if len(held) > 0 {
		o.log.Info().Int("orders", len(held)).Msg("handling the events set aside for hot orders by an earlier run")
	}
	return nil
}

// run stores and feeds until ctx ends.
func (o *overflow) run(ctx context.Context) {
	o.poke()
	var wg sync.WaitGroup
	wg.Go(func() { o.write(ctx) })
	o.feed(ctx)
	wg.Wait()
}

// holds reports whether key's messages are being set aside.
func (o *overflow) holds(key string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.keys[key] != nil
}

// take sets msg aside for key; false if it cannot (too much is set aside
// already, or the writer is behind): the caller hands it back.
func (o *overflow) take(key string, msg jetstream.Msg) bool {
	o.mu.Lock()
	if o.total >= o.limit {
		o.mu.Unlock()
		return false
	}
	k := o.keys[key]
	if k == nil {
		k = &heldKey{}
		o.keys[key] = k
	}
	select {
	case o.in <- msg:
		k.count++
		o.total++
		o.report(o.total)
		o.mu.Unlock()
		return true
	default:
		o.forget(key, k)
		o.mu.Unlock()
		return false
	}
}

// forget drops k if nothing of it is left; o.mu is held.
func (o *overflow) forget(key string, k *heldKey) {
	if k.count == 0 && k.loaded == 0 {
		delete(o.keys, key)
	}
}

// write stores what take queued, in batches, and acknowledges each message
// once it is stored; one that cannot be stored is handed back.
func (o *overflow) write(ctx context.Context) {
	batch := make([]jetstream.Msg, 0, 256)
	failing := false // said once per spell of failures, not per batch
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-o.in:
			batch = append(batch[:0], m)
		}
		for len(batch) < cap(batch) && len(o.in) > 0 {
			batch = append(batch, <-o.in)
		}
		rows := make([]eventstore.DeferredMsg, 0, len(batch))
		msgs := make([]jetstream.Msg, 0, len(batch))
		for _, m := range batch {
			meta, err := m.Metadata()
			if err != nil { // not a JetStream message: cannot be; keep the count right
				o.settle(orderKey(m.Subject()))
				continue
			}
			rows = append(rows, eventstore.DeferredMsg{Queue: o.queue, Key: orderKey(m.Subject()), Seq: meta.Sequence.Stream,
				Subject: m.Subject(), Header: m.Headers(), Data: m.Data(), Stream: meta.Stream,
				ConsumerSeq: meta.Sequence.Consumer, Delivered: meta.NumDelivered, Timestamp: meta.Timestamp})
			msgs = append(msgs, m)
		}
		added, err := o.st.Defer(ctx, rows)
		if err == nil {
			failpoint.Crash(o.service, failpoint.ConsumerAfterSetAside)
		}
		for i, m := range msgs {
			switch {
			case err != nil:
				// The store cannot take it (a full disk, say): back to
				// JetStream, as before there was an overflow.
				_ = m.NakWithDelay(time.Second)
				o.settle(rows[i].Key)
			case !added[i]:
				// A redelivery of a message already set aside.
				_ = m.Ack()
				o.settle(rows[i].Key)
			default:
				_ = m.Ack() // if lost, the redelivery is stored again: a no-op
				o.with(rows[i].Key, func(k *heldKey) {
					if !k.told {
						// Once as the order becomes hot, once it really is
						// set aside: not per message, nor per batch a full
						// disk hands back.
						k.told = true
						o.log.Info().Str("order_id", rows[i].Key).Msg("hot order: its further events are set aside in the store, so that other orders are not held up")
					}
				})
			}
		}
		switch {
		case err != nil && !failing:
			o.log.Warn().Err(err).Int("messages", len(msgs)).Msg("could not set hot-order events aside; handing them back until it can")
		case err == nil && failing:
			o.log.Info().Msg("setting hot-order events aside again")
		}
		failing = err != nil
		o.poke()
	}
}

// settle accounts for one message of key that is gone: one that never made
// it to the store, or a row deleted.
func (o *overflow) settle(key string) { o.with(key, func(k *heldKey) { o.settled(key, k) }) }

// settled is settle with o.mu held and k looked up.
func (o *overflow) settled(key string, k *heldKey) {
	k.count--
	o.total--
	o.report(o.total)
	o.forget(key, k)
}

// with calls f with key's heldKey, under o.mu; not at all if key is not
// held.
func (o *overflow) with(key string, f func(k *heldKey)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if k := o.keys[key]; k != nil {
		f(k)
	}
}

func (o *overflow) poke() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// feed puts the rows of each held order whose turn it is into the
// scheduler: an order none of whose rows are in the scheduler, whose
// in-memory queue is empty (messages that came before it was held go
// first) and that is not waiting out a retry.
func (o *overflow) feed(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-o.kick:
		case <-t.C:
		}
		now := time.Now()
		var due []string
		o.mu.Lock()
		for key, k := range o.keys {
			if k.loaded == 0 && k.count > 0 && !now.Before(k.notBefore) {
				due = append(due, key)
			}
		}
		o.mu.Unlock()
		for _, key := range due {
			if !o.sched.idle(key) {
				continue // its earlier messages first; done pokes again
			}
			rows, err := o.st.NextDeferred(ctx, o.queue, key, o.perKey)
			if err != nil || len(rows) == 0 {
				continue // not stored yet, or the store is away: the next tick
			}
			o.mu.Lock()
			k := o.keys[key]
			if k == nil || k.loaded > 0 {
				o.mu.Unlock()
				continue
			}
			k.loaded = len(rows)
			gen := k.gen
			delivered := make([]uint64, len(rows))
			for i, row := range rows {
				delivered[i] = row.Delivered + k.extra[row.Seq]
			}
			o.mu.Unlock()
			for i, row := range rows {
				m := &storedMsg{o: o, row: row, delivered: delivered[i], gen: gen}
				if !o.sched.push(key, queued{msg: m, at: now}) {
					o.unload(key, row.Seq, 0) // cannot be: the queue was empty
				}
			}
		}
	}
}

// unload accounts for a loaded row that was settled: deleted (handled or
// dead-lettered) or handed back with a delay.
func (o *overflow) unload(key string, seq uint64, retryIn time.Duration) {
	o.with(key, func(k *heldKey) { o.unloaded(k, seq, retryIn) })
}

// unloaded is unload with o.mu held and k looked up.
func (o *overflow) unloaded(k *heldKey, seq uint64, retryIn time.Duration) {
	k.loaded--
	if retryIn > 0 {
		if k.extra == nil {
			k.extra = map[uint64]uint64{}
		}
		k.extra[seq]++
		k.gen++
		if at := time.Now().Add(retryIn); at.After(k.notBefore) {
			k.notBefore = at
		}
	}
	if k.loaded == 0 {
		o.poke()
	}
}

// deleted accounts for a row deleted from the store, at once: unloaded
// and settled.
func (o *overflow) deleted(key string, seq uint64) {
	o.with(key, func(k *heldKey) {
		delete(k.extra, seq)
		o.unloaded(k, seq, 0)
		o.settled(key, k)
	})
}

// stale reports whether a row of key loaded in generation gen must wait:
// a row loaded with it was handed back.
func (o *overflow) stale(key string, gen uint64) (stale bool) {
	o.with(key, func(k *heldKey) { stale = k.gen != gen })
	return stale
}

// storedMsg is a row set aside, delivered again: jetstream.Msg for the
// runner's handle. Acknowledging it deletes the row; handing it back leaves
// the row for a later turn.
type storedMsg struct {
	o         *overflow
	row       eventstore.DeferredMsg
	delivered uint64
	gen       uint64
	gone      bool // deleted by the transaction that handled it
	once      sync.Once
}

// stale: see overflow.stale.
func (m *storedMsg) stale() bool { return m.o.stale(m.row.Key, m.gen) }

// putBack leaves a stale row for its order's next turn, unhandled: not a
// delivery, so not counted as one.
func (m *storedMsg) putBack() { m.once.Do(func() { m.o.unload(m.row.Key, m.row.Seq, 0) }) }

func (m *storedMsg) Metadata() (*jetstream.MsgMetadata, error) {
	return &jetstream.MsgMetadata{Sequence: jetstream.SequencePair{Consumer: m.row.ConsumerSeq, Stream: m.row.Seq},
		NumDelivered: m.delivered, Timestamp: m.row.Timestamp, Stream: m.row.Stream}, nil
}
func (m *storedMsg) Data() []byte         { return m.row.Data }
func (m *storedMsg) Headers() nats.Header { return nats.Header(m.row.Header) }
func (m *storedMsg) Subject() string      { return m.row.Subject }
func (m *storedMsg) Reply() string        { return "" }
func (m *storedMsg) InProgress() error    { return nil }

// undefer deletes the row in tx, the transaction that handles it; Ack then
// has nothing left to write.
func (m *storedMsg) undefer(tx *eventstore.Tx) error {
	return tx.Undefer(m.row.Queue, m.row.Key, m.row.Seq)
}

// committed records that the transaction that ran undefer committed.
func (m *storedMsg) committed() { m.gone = true }

// Ack deletes the row, unless the transaction that handled it did. If the
// delete fails the row stays and is handled again later: the inbox
// recognises it.
func (m *storedMsg) Ack() error {
	var err error
	m.once.Do(func() {
		if !m.gone {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err = m.o.st.Undefer(ctx, m.row.Queue, m.row.Key, m.row.Seq); err != nil {
				m.o.unload(m.row.Key, m.row.Seq, time.Second)
				return
			}
		}
		m.o.deleted(m.row.Key, m.row.Seq)
	})
	return err
}
func (m *storedMsg) DoubleAck(context.Context) error { return m.Ack() }
func (m *storedMsg) Term() error                     { return m.Ack() }
func (m *storedMsg) TermWithReason(string) error     { return m.Ack() }
func (m *storedMsg) Nak() error                      { return m.NakWithDelay(0) }

// NakWithDelay leaves the row, to be handled again after delay; the rows
// of its order loaded with it wait too (see stale), so keep their order.
func (m *storedMsg) NakWithDelay(delay time.Duration) error {
	m.once.Do(func() { m.o.unload(m.row.Key, m.row.Seq, max(delay, time.Millisecond)) })
	return nil
}

var _ jetstream.Msg = (*storedMsg)(nil)
