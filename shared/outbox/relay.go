// Package outbox publishes what a service's event store queued in its
// transactional outbox to the service's JetStream stream.
//
// The relay reads the oldest entries, publishes them pipelined (asynchronous
// publishes on one connection reach the server in order), waits for each
// PubAck, and only then deletes the acknowledged entries. Each message carries
// the event id as Nats-Msg-Id, so a publish that is repeated — after a crash
// between the PubAck and the delete, or after a timeout whose outcome is
// unknown — is de-duplicated by JetStream within the stream's duplicate window
// and by the consumers' inboxes after it.
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
	"github.com/choreo-dev/choreo/shared/stages"
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
	// Batch is how many entries are in flight at once. Default 256.
	Batch int
	// Poll is the safety net when no commit signals: default 1s.
	Poll time.Duration
	// Atomic publishes each batch of two or more entries as one JetStream
	// atomic batch (the stream must allow atomic publish): one request and,
	// with sync_interval: always, one fsync for the whole batch instead of
	// one per event. If a batch fails for any reason — a duplicate aborts a
	// whole atomic batch, say, or its commit timed out — its entries are
	// published again one by one, where duplicates are dropped singly.
	Atomic bool
	// RetryMin and RetryMax bound the backoff after a failed publish.
	// Defaults 50ms and 5s.
	RetryMin, RetryMax time.Duration
	// Checks, if set, hears the relay's readiness: "outbox" fails while
	// publishing fails (with the reason: NATS away, JetStream out of
	// storage, …) and "outbox.parked" while entries wait in the parked area
	// for an operator.
	Checks *health.Checks
	Logger zerolog.Logger
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
// acknowledged stay in the outbox for the next start.
func (r *Relay) Run(ctx context.Context) error {
	r.defaults()
	backoff := r.RetryMin
	failing := false
	timer := time.NewTimer(r.Poll)
	defer timer.Stop()
	r.checkParked()
	for {
		n, err := r.Flush(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			// Told once per episode, with the reason: by the check if there
			// is one, by a log line otherwise.
			if r.Checks != nil {
				r.Checks.Fail(CheckOutbox, fault.Reason(err), err)
			} else if !failing {
				r.Logger.Warn().Err(err).Msg("outbox publish failed; retrying with the same Nats-Msg-Id")
			}
			failing = true
			if !sleep(ctx, backoff) {
				return nil
			}
			backoff = min(backoff*2, r.RetryMax)
			continue
		}
		if failing && r.Checks == nil {
			r.Logger.Info().Msg("outbox publishing again")
		}
		r.Checks.Pass(CheckOutbox)
		failing, backoff = false, r.RetryMin
		if n == r.Batch {
			continue // there may be more waiting
		}
		timer.Reset(r.Poll)
		select {
		case <-ctx.Done():
			return nil
		case <-r.Store.Outboxed():
		case <-timer.C:
		}
	}
}

// Flush publishes one batch of the oldest entries and deletes those that were
// acknowledged, up to the first failure (so the outbox drains in order). It
// returns how many were deleted.
func (r *Relay) Flush(ctx context.Context) (int, error) {
	r.defaults()
	entries, err := r.Store.PendingOutbox(ctx, r.Batch)
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	r.mark(stages.OutboxRead, entries)
	// Deleting what JetStream has stored is right even once ctx is done:
	// otherwise it is only published again.
	ackCtx := context.WithoutCancel(ctx)
	if r.Atomic && len(entries) > 1 {
		err := r.publishAtomic(ctx, entries)
		if err == nil {
			r.mark(stages.OutboxAcked, entries)
			seqs := make([]uint64, len(entries))
			for i, e := range entries {
				seqs[i] = e.Seq
			}
			failpoint.Crash(r.Store.Service(), failpoint.OutboxAfterPublish)
			if err := r.Store.AckOutbox(ackCtx, seqs); err != nil {
				return 0, err
			}
			return len(entries), nil
		}
		if ctx.Err() != nil {
			return 0, nil
		}
		r.Logger.Debug().Err(err).Int("entries", len(entries)).Msg("atomic batch failed; publishing one by one")
	}
	var opts []jetstream.PublishOpt
	if r.Stream != "" {
		opts = append(opts, jetstream.WithExpectStream(r.Stream))
	}
	futures := make([]jetstream.PubAckFuture, 0, len(entries))
	var pubErr error
	var refusedAt = -1 // an entry the client refused to send: too large
	for i, e := range entries {
		msg := &nats.Msg{Subject: e.Subject, Data: e.Body, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, e.MsgID)
		r.mark(stages.OutboxPublish, entries[i:i+1])
		f, err := r.JS.PublishMsgAsync(msg, opts...)
		if err != nil {
			if tooLarge(err) {
				refusedAt = i
			} else {
				pubErr = err
			}
			break
		}
		futures = append(futures, f)
	}
	// Entries are deleted in order up to the first failure, so the outbox
	// drains in order; an entry refused for its size is parked instead of
	// failing, so it never holds up the ones behind it.
	acked := make([]uint64, 0, len(futures))
	var park []eventstore.OutboxEntry
	var ackErr error
	for i, f := range futures {
		select {
		case <-f.Ok():
			r.mark(stages.OutboxAcked, entries[i:i+1])
			if ackErr == nil {
				acked = append(acked, entries[i].Seq)
			}
		case err := <-f.Err():
			switch {
			case ackErr != nil:
			case tooLarge(err):
				park = append(park, entries[i])
			default:
				ackErr = err
			}
		case <-ctx.Done():
			// Unknown outcome: the entries stay and are republished next time.
			return 0, r.Store.AckOutbox(ackCtx, acked)
		}
	}
	if refusedAt >= 0 && ackErr == nil {
		park = append(park, entries[refusedAt])
	}
	if len(acked) > 0 {
		failpoint.Crash(r.Store.Service(), failpoint.OutboxAfterPublish)
	}
	if err := r.Store.AckOutbox(ackCtx, acked); err != nil {
		return 0, err
	}
	for _, e := range park {
		reason := fmt.Sprintf("%d bytes: too large to publish", len(e.Body))
		if err := r.Store.ParkOutbox(ctx, e.Seq, reason); err != nil {
			return len(acked), err
		}
		r.Logger.Error().Str("subject", e.Subject).Str("event_id", e.MsgID).Uint64("outbox_seq", e.Seq).
			Int("bytes", len(e.Body)).Msg("outbox entry parked: the server refuses it as too large; see `choreo outbox parked`")
	}
	if len(park) > 0 {
		r.checkParked()
	}
	return len(acked) + len(park), errors.Join(ackErr, pubErr)
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
		r.Checks.Fail(CheckParked, fmt.Sprintf("%d outbox entries parked (too large to publish): see `choreo outbox parked`", n), nil)
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
func (r *Relay) publishAtomic(ctx context.Context, entries []eventstore.OutboxEntry) error {
	nc := r.JS.Conn()
	batchID := nuid.Next()
	r.mark(stages.OutboxPublish, entries)
	for i, e := range entries {
		msg := &nats.Msg{Subject: e.Subject, Data: e.Body, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, e.MsgID)
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
