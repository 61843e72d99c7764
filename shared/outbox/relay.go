// Package outbox publishes what a service's event store queued in its
// transactional outbox to the service's JetStream stream.
//
// The relay is woken the moment a commit that queued entries is durable. It
// reads the new entries and publishes them at once, pipelined: it does not
// wait for the PubAcks of what it sent before (asynchronous publishes on one
// connection reach the server, and are stored, in the order they were sent).
// Only an aggregate's events are kept in order (what its consumers rely on):
// its next event is not sent while an earlier one waits for its PubAck, so a
// publish that fails and goes again never lands behind a later event of its
// aggregate. Another aggregate's events may overtake it meanwhile.
// As PubAcks arrive it reports the acknowledged entries to the store
// (Store.Published), which deletes them with its next commit; the relay never
// waits for that delete. Each message carries the event id as Nats-Msg-Id,
// so a publish that is repeated — after a crash before the delete, or after
// a timeout whose outcome is unknown — is de-duplicated by JetStream within
// the stream's duplicate window and by the consumers' inboxes after it.
//
// Nothing on a command's reply path waits for the relay: a command commits its
// events and outbox entries in one bbolt transaction, replies, and the relay
// is woken to publish. If NATS is down the entries wait on disk.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/failpoint"
	"github.com/choreo-dev/choreo/shared/fault"
	"github.com/choreo-dev/choreo/shared/health"
	"github.com/choreo-dev/choreo/shared/metrics"
	"github.com/choreo-dev/choreo/shared/stages"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/choreo-dev/choreo/shared/tracing"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
	"github.com/rs/zerolog"
)

// Relay moves outbox entries to JetStream. Run it once per store.
type Relay struct {
	Store *eventstore.Store
	// JS publishes; create it with a PublishAsyncTimeout so an unanswered
	// publish ends in an error (and a retry) rather than waiting forever.
	JS jetstream.JetStream
	// Stream, if set, is required of every PubAck (WithExpectStream): an
	// event never lands in a stream other than its owner's.
	Stream string
	// Batch is how many entries are read (and published together) at
	// once. Default 256.
	Batch int
	// Window bounds the entries published whose PubAck has not come yet.
	// Default 1024 (keep it below the JetStream context's
	// PublishAsyncMaxPending).
	Window int
	// Groups bounds the publishes waiting for their PubAcks: reads sent
	// as single publishes or as one atomic batch. While that many wait,
	// what commits meanwhile gathers into the next read, so the reads (and
	// the batches) grow with the load and the server's fsyncs stay few.
	// Default 1.
	Groups int
	// Poll is the safety net when no commit signals: default 1s. Each poll
	// also reads the outbox from its start, so an entry put back behind
	// the relay (an operator's retry of a parked one) goes out.
	Poll time.Duration
	// Atomic publishes a read of at least AtomicMin entries as one
	// JetStream atomic batch (the stream must allow atomic publish): one
	// request and, with sync_interval: always, one fsync for the whole
	// batch instead of one per event. A smaller read goes as single
	// pipelined publishes: the server stages every atomic batch in a
	// store of its own (a directory, metadata files written with fsync),
	// so a small one costs it several times what the same messages cost
	// singly. If a batch fails for any reason — a duplicate aborts a whole
	// atomic batch, say, or its commit timed out — its entries are
	// published again one by one, where duplicates are dropped singly.
	Atomic bool
	// AtomicMin is the smallest read published as an atomic batch.
	// Default 32: on the development machine (sync_interval: always) a
	// batch of 2 cost the server 6 times the CPU of 2 single publishes,
	// one of 16 1.6 times, one of 32 about the same and one of 64 less.
	AtomicMin int
	// AckTimeout bounds the wait for a PubAck, whatever the JetStream
	// context's own timeout: an entry still unanswered then is published
	// again. Default 10s.
	AckTimeout time.Duration
	// RetryMin and RetryMax bound the backoff after a failed publish.
	// Defaults 50ms and 5s.
	RetryMin, RetryMax time.Duration
	// Checks, if set, hears the relay's readiness: "outbox" fails while
	// publishing fails (with the reason: NATS away, JetStream out of
	// storage, …) and "outbox.parked" while entries wait in the parked area
	// for an operator.
	Checks *health.Checks
	// Tracer, if set, gives each publish a span (outbox.publish), a child
	// of the trace context the event was appended in; the consumers
	// continue the span. Without it the event's own trace context is sent.
	Tracer *tracing.Tracer
	// Metrics, if set, counts the events published.
	Metrics *metrics.Service
	Logger  zerolog.Logger
}

// The relay's checks.
const (
	CheckOutbox = "outbox"
	CheckParked = "outbox.parked"
)

func (r *Relay) defaults() {
	if r.Batch <= 0 {
		r.Batch = 256
	}
	if r.Window <= 0 {
		r.Window = 1024
	}
	if r.Groups <= 0 {
		r.Groups = 1
	}
	if r.AtomicMin <= 1 {
		r.AtomicMin = 32
	}
	if r.AckTimeout <= 0 {
		r.AckTimeout = 10 * time.Second
	}
	if r.Poll <= 0 {
		r.Poll = time.Second
	}
	if r.RetryMin <= 0 {
		r.RetryMin = 50 * time.Millisecond
	}
	if r.RetryMax <= 0 {
		r.RetryMax = 5 * time.Second
	}
}

// Run publishes until ctx is cancelled. It returns nil then: entries not yet
// acknowledged stay in the outbox for the next start. Run and Flush must not
// run at the same time.
func (r *Relay) Run(ctx context.Context) error {
	r.defaults()
	p := r.newPipeline()
	defer p.close()
	backoff := r.RetryMin
	failing := false
	var retry <-chan time.Time // set while a failure is backed off
	poll := time.NewTicker(r.Poll)
	defer poll.Stop()
	r.checkParked()
	rescan := true
	fail := func(err error) {
		// Told once per episode, with the reason: by the check if there is
		// one, by a log line otherwise.
		if r.Checks != nil {
			r.Checks.Fail(CheckOutbox, fault.Reason(err), err)
		} else if !failing {
			r.Logger.Warn().Err(err).Msg("outbox publish failed; retrying with the same Nats-Msg-Id")
		}
		failing = true
		retry = time.After(backoff)
		backoff = min(backoff*2, r.RetryMax)
	}
	for {
		if retry == nil {
			if err := p.fill(ctx, rescan); err != nil && ctx.Err() == nil {
				fail(err)
			}
			rescan = false
		}
		select {
		case <-ctx.Done():
			// What is acknowledged meanwhile is not published again (with
			// NATS away nothing will be: don't hold up the shutdown).
			if r.JS.Conn().IsConnected() {
				p.drain(time.Second)
			}
			return nil
		case <-r.Store.Outboxed():
		case g := <-p.done:
			if err := p.settle(ctx, g); err != nil {
				if ctx.Err() == nil {
					fail(err)
				}
			} else if retry == nil && g.clean() {
				if failing && r.Checks == nil {
					r.Logger.Info().Msg("outbox publishing again")
				}
				r.Checks.Pass(CheckOutbox)
				failing, backoff = false, r.RetryMin
			}
		case <-retry:
			retry, rescan = nil, true
		case <-poll.C:
			rescan = true
		}
	}
}

// Flush publishes one read of the oldest entries, waits for their
// outcomes, and reports the acknowledged ones to the store (which deletes
// them with its next commit, or when it closes). It returns how many were
// acknowledged or parked, and the first failure.
func (r *Relay) Flush(ctx context.Context) (int, error) {
	r.defaults()
	p := r.newPipeline()
	defer p.close()
	entries, err := r.Store.PendingOutbox(ctx, r.Batch)
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	r.mark(stages.OutboxRead, entries)
	p.send(ctx, entries)
	n := 0
	var errs []error
	for p.groups > 0 {
		select {
		case g := <-p.done:
			err := p.settle(ctx, g)
			errs = append(errs, err)
			n += g.settled
			if err == nil {
				// An aggregate's later events of the read go once the
				// earlier one is stored.
				if rest := g.notSent(); len(rest) > 0 {
					p.send(ctx, rest)
				}
			}
		case <-ctx.Done():
			// Unknown outcome: the entries stay and are published again.
			return n, errors.Join(errs...)
		}
	}
	return n, errors.Join(errs...)
}

// errNotSent is the outcome of an entry held back unsent: behind one the
// client refused to send, or behind an earlier event of its aggregate in
// the same group. It goes again at once.
var errNotSent = errors.New("not sent")

// group is entries published together, and the outcome of each.
type group struct {
	entries []eventstore.OutboxEntry
	errs    []error // nil where JetStream stored the entry
	settled int     // how many were acknowledged or parked
}

// notSent is the entries of g that were held back unsent.
func (g *group) notSent() []eventstore.OutboxEntry {
	var rest []eventstore.OutboxEntry
	for i, err := range g.errs {
		if errors.Is(err, errNotSent) {
			rest = append(rest, g.entries[i])
		}
	}
	return rest
}

// clean reports whether every entry of g was stored.
func (g *group) clean() bool {
	for _, err := range g.errs {
		if err != nil {
			return false
		}
	}
	return true
}

// pipeline is the relay's publishes in flight.
type pipeline struct {
	r        *Relay
	inflight map[uint64]struct{} // entries sent and not settled
	// busy counts the entries in flight of each aggregate (streams.
	// AggregateID of the subject): an aggregate's next entry waits until
	// the one before is settled, so a publish that fails and is sent again
	// can never land behind a later event of its aggregate.
	busy   map[string]int
	after  uint64 // the highest Seq read so far
	groups int    // groups sent and not settled
	done   chan *group
	quit   chan struct{}
}

func (r *Relay) newPipeline() *pipeline {
	return &pipeline{r: r, inflight: map[uint64]struct{}{}, busy: map[string]int{}, done: make(chan *group, 64), quit: make(chan struct{})}
}

// close releases the goroutines still waiting for PubAcks.
func (p *pipeline) close() { close(p.quit) }

// fill reads the entries committed since the last read (all of the outbox's
// if rescan) and publishes those not already in flight, until the window is
// full or nothing is left.
func (p *pipeline) fill(ctx context.Context, rescan bool) error {
	r := p.r
	if rescan {
		p.after = 0
	}
	for p.groups < r.Groups && len(p.inflight) < r.Window {
		entries, err := r.Store.PendingOutboxAfter(ctx, p.after, min(r.Batch, r.Window-len(p.inflight)))
		if err != nil || len(entries) == 0 {
			return err
		}
		p.after = entries[len(entries)-1].Seq
		fresh := make([]eventstore.OutboxEntry, 0, len(entries))
		for _, e := range entries {
			if _, ok := p.inflight[e.Seq]; ok {
				continue
			}
			if p.busy[streams.AggregateID(e.Subject)] > 0 {
				// An earlier event of its aggregate is in flight: read
				// this one again once that is settled.
				p.after = min(p.after, e.Seq-1)
				continue
			}
			fresh = append(fresh, e)
		}
		if len(fresh) == 0 {
			return nil
		}
		r.mark(stages.OutboxRead, fresh)
		p.send(ctx, fresh)
		if len(entries) < r.Batch {
			return nil
		}
	}
	return nil
}

// send publishes entries, oldest first; their group arrives on p.done once
// every outcome is known. A read of AtomicMin entries or more goes as one
// atomic batch, synchronously: nothing may be sent behind it before its
// PubAck, or that would be stored before it. Anything else goes as single
// asynchronous publishes, waited for in the background.
func (p *pipeline) send(ctx context.Context, entries []eventstore.OutboxEntry) {
	r := p.r
	g := &group{entries: entries, errs: make([]error, len(entries))}
	p.groups++
	for _, e := range entries {
		p.inflight[e.Seq] = struct{}{}
		p.busy[streams.AggregateID(e.Subject)]++
	}
	if r.Atomic && len(entries) >= r.AtomicMin {
		err := r.publishAtomic(ctx, entries)
		if err == nil {
			r.mark(stages.OutboxAcked, entries)
			p.deliver(g)
			return
		}
		if ctx.Err() != nil {
			for i := range g.errs {
				g.errs[i] = err
			}
			p.deliver(g)
			return
		}
		r.Logger.Debug().Err(err).Int("entries", len(entries)).Msg("atomic batch failed; publishing one by one")
	}
	var opts []jetstream.PublishOpt
	if r.Stream != "" {
		opts = append(opts, jetstream.WithExpectStream(r.Stream))
	}
	futures := make([]jetstream.PubAckFuture, len(entries))
	spans := make(publishSpans, 0, len(entries))
	sent := make(map[string]struct{}, len(entries)) // aggregates published in this group
	for i, e := range entries {
		key := streams.AggregateID(e.Subject)
		if _, dup := sent[key]; dup {
			// Single publishes may be stored out of order when one fails
			// and goes again; an aggregate's second event waits for its
			// first (it goes again at once when this group settles).
			g.errs[i] = errNotSent
			spans = append(spans, nil)
			continue
		}
		sent[key] = struct{}{}
		msg := &nats.Msg{Subject: e.Subject, Data: e.Body, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, e.MsgID)
		spans = spans.start(r.Tracer, e, msg.Header)
		r.mark(stages.OutboxPublish, entries[i:i+1])
		f, err := r.JS.PublishMsgAsync(msg, opts...)
		if err != nil {
			spans.end(i, err)
			// Refused before sending (too large, say): the ones behind it
			// were not sent either.
			g.errs[i] = err
			for j := i + 1; j < len(entries); j++ {
				g.errs[j] = errNotSent
			}
			break
		}
		futures[i] = f
	}
	go func() {
		timeout := time.NewTimer(r.AckTimeout)
		defer timeout.Stop()
		expired := false
		for i, f := range futures {
			if f == nil {
				continue
			}
			if expired {
				select {
				case <-f.Ok():
				case err := <-f.Err():
					g.errs[i] = err
				default:
					g.errs[i] = nats.ErrTimeout
				}
				spans.end(i, g.errs[i])
				continue
			}
			select {
			case <-f.Ok():
			case err := <-f.Err():
				g.errs[i] = err
			case <-timeout.C:
				expired = true
				g.errs[i] = nats.ErrTimeout
			}
			spans.end(i, g.errs[i])
			if g.errs[i] == nil {
				r.mark(stages.OutboxAcked, entries[i:i+1])
			}
		}
		p.deliver(g)
	}()
}

func (p *pipeline) deliver(g *group) {
	select {
	case p.done <- g:
	case <-p.quit:
	}
}

// drain settles the groups that complete within d.
func (p *pipeline) drain(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for p.groups > 0 {
		select {
		case g := <-p.done:
			_ = p.settle(context.Background(), g)
		case <-t.C:
			return
		}
	}
}

// settle takes in a group's outcomes: the acknowledged entries go to the
// store to be deleted, one refused as too large is parked (so it never
// holds up the ones behind it), and the others are read again — at once if
// they were never sent, after the backoff (the error returned) otherwise.
func (p *pipeline) settle(ctx context.Context, g *group) error {
	r := p.r
	p.groups--
	acked := make([]uint64, 0, len(g.entries))
	var park []eventstore.OutboxEntry
	var first error
	for i, e := range g.entries {
		delete(p.inflight, e.Seq)
		if k := streams.AggregateID(e.Subject); p.busy[k] <= 1 {
			delete(p.busy, k)
		} else {
			p.busy[k]--
		}
		switch err := g.errs[i]; {
		case err == nil:
			acked = append(acked, e.Seq)
		case tooLarge(err):
			park = append(park, e)
		default:
			// Read it again: the next fill starts from here.
			p.after = min(p.after, e.Seq-1)
			if first == nil && !errors.Is(err, errNotSent) {
				first = err
			}
		}
	}
	if len(acked) > 0 {
		failpoint.Crash(r.Store.Service(), failpoint.OutboxAfterPublish)
		r.Store.Published(acked)
		r.Metrics.Published(r.Stream, len(acked))
	}
	g.settled = len(acked)
	for _, e := range park {
		reason := fmt.Sprintf("%d bytes: too large to publish", len(e.Body))
		if err := r.Store.ParkOutbox(context.WithoutCancel(ctx), e.Seq, reason); err != nil {
			p.after = min(p.after, e.Seq-1)
			return errors.Join(first, err)
		}
		g.settled++
		r.Logger.Error().Str("subject", e.Subject).Str("event_id", e.MsgID).Uint64("outbox_seq", e.Seq).Str("trace_id", e.Trace.TraceID()).
			Int("bytes", len(e.Body)).Msg("outbox entry parked: the server refuses it as too large; see `choreo parked ls <service>`")
	}
	if len(park) > 0 {
		r.checkParked()
	}
	return first
}

// checkParked reports the parked area on its check: failing while anything
// waits there for an operator.
func (r *Relay) checkParked() {
	if r.Checks == nil {
		return
	}
	n, err := r.Store.ParkedLen()
	switch {
	case err != nil:
	case n > 0:
		r.Checks.Fail(CheckParked, fmt.Sprintf("%d outbox entries parked (too large to publish): see `choreo parked ls <service>`", n), nil)
	default:
		r.Checks.Pass(CheckParked)
	}
}

// CheckParked updates the parked area's check after an operator retried or
// dropped an entry.
func (r *Relay) CheckParked() { r.checkParked() }

// tooLarge reports whether a publish failed because the message is larger
// than the server (or the stream) accepts: no retry can fix that.
func tooLarge(err error) bool {
	return errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum)
}

// publishAtomic sends entries as one atomic batch: every message but the
// last is published without a reply; the last carries the commit and gets
// the batch's PubAck. Nothing of the batch is stored unless all of it is.
func (r *Relay) publishAtomic(ctx context.Context, entries []eventstore.OutboxEntry) (err error) {
	nc := r.JS.Conn()
	batchID := nuid.Next()
	spans := make(publishSpans, 0, len(entries))
	defer func() { spans.endAll(err) }()
	r.mark(stages.OutboxPublish, entries)
	for i, e := range entries {
		msg := &nats.Msg{Subject: e.Subject, Data: e.Body, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, e.MsgID)
		spans = spans.start(r.Tracer, e, msg.Header)
		msg.Header.Set("Nats-Batch-Id", batchID)
		msg.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
		if i < len(entries)-1 {
			if err := nc.PublishMsg(msg); err != nil {
				return err
			}
			continue
		}
		msg.Header.Set("Nats-Batch-Commit", "1")
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		resp, err := nc.RequestMsgWithContext(rctx, msg)
		if err != nil {
			return err
		}
		var ack struct {
			Stream string              `json:"stream"`
			Count  int                 `json:"count"`
			Error  *jetstream.APIError `json:"error"`
		}
		if err := json.Unmarshal(resp.Data, &ack); err != nil {
			return fmt.Errorf("atomic batch: bad PubAck %q: %w", resp.Data, err)
		}
		if ack.Error != nil {
			return fmt.Errorf("atomic batch: %w", ack.Error)
		}
		if r.Stream != "" && ack.Stream != r.Stream {
			return fmt.Errorf("atomic batch stored in stream %q, want %q", ack.Stream, r.Stream)
		}
		if ack.Count != len(entries) {
			return fmt.Errorf("atomic batch committed %d of %d messages", ack.Count, len(entries))
		}
	}
	return nil
}

// mark records that the traced ones among entries passed stage (package
// stages).
func (r *Relay) mark(stage string, entries []eventstore.OutboxEntry) {
	if !stages.Enabled() {
		return
	}
	now := time.Now()
	for _, e := range entries {
		stages.Mark(r.Store.Service(), stage, e.Subject, now)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
