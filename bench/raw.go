package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// RawStream is the stream the raw ceiling is measured on: file storage on
// the same server as the platform's streams, with their duplicate window.
const RawStream = "BENCH_RAW"

// RawResult is one raw publishing measurement.
type RawResult struct {
	Mode        string  `json:"mode"` // async or batch
	Messages    int64   `json:"messages"`
	Errors      int64   `json:"errors"`
	Seconds     float64 `json:"seconds"`
	PerSec      float64 `json:"per_sec"`
	MsgBytes    int     `json:"msg_bytes"`
	Window      int     `json:"window,omitempty"`      // async: publishes in flight
	BatchSize   int     `json:"batch_size,omitempty"`  // batch: messages per atomic batch
	Concurrency int     `json:"concurrency,omitempty"` // batch: batches in flight
	Stored      uint64  `json:"stored"`                // messages the stream holds after
}

// RawConfig tunes the raw measurements.
type RawConfig struct {
	Duration    time.Duration // per mode; default 5s
	MsgBytes    int           // default 600, a typical envelope
	Window      int           // async publishes in flight; default 4096 (the services' relay setting)
	BatchSize   int           // default 100
	Concurrency int           // atomic batches in flight; default 8 (the server allows 50 per stream)
}

func (c *RawConfig) defaults() {
	if c.Duration <= 0 {
		c.Duration = 5 * time.Second
	}
	if c.MsgBytes <= 0 {
		c.MsgBytes = 600
	}
	if c.Window <= 0 {
		c.Window = 4096
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 100
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
}

// RawCeiling measures JetStream asynchronous publishes and atomic batch
// publishes on RawStream, then deletes the stream. Every message carries a
// unique Nats-Msg-Id, as the services' events do.
func RawCeiling(ctx context.Context, nc *nats.Conn, cfg RawConfig) (async, batch RawResult, err error) {
	cfg.defaults()
	js, err := jetstream.New(nc)
	if err != nil {
		return async, batch, err
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_ = js.DeleteStream(sctx, RawStream)
	st, err := js.CreateStream(sctx, jetstream.StreamConfig{
		Name: RawStream, Subjects: []string{"bench.raw.>"}, Storage: jetstream.FileStorage,
		Retention: jetstream.LimitsPolicy, Duplicates: 2 * time.Minute, Replicas: 1,
		AllowAtomicPublish: true,
	})
	if err != nil {
		return async, batch, fmt.Errorf("create %s: %w", RawStream, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = js.DeleteStream(dctx, RawStream)
	}()
	stored := func() uint64 {
		ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		info, err := st.Info(ictx)
		if err != nil {
			return 0
		}
		return info.State.Msgs
	}
	payload := rawPayload(cfg.MsgBytes)
	if async, err = rawAsync(ctx, nc, cfg, payload); err != nil {
		return async, batch, err
	}
	async.Stored = stored()
	pctx, cancel2 := context.WithTimeout(ctx, 30*time.Second)
	defer cancel2()
	if err := st.Purge(pctx); err != nil {
		return async, batch, fmt.Errorf("purge %s: %w", RawStream, err)
	}
	if batch, err = rawBatch(ctx, nc, cfg, payload); err != nil {
		return async, batch, err
	}
	batch.Stored = stored()
	return async, batch, nil
}

// rawPayload is an envelope-like JSON body of n bytes.
func rawPayload(n int) []byte {
	head := `{"id":"0190b6a2-5c3e-7d1a-9f3b-2a4c6e8f0a1b","type":"BenchEvent","schema_version":1,"aggregate_type":"bench","aggregate_id":"bench-1","version":1,"occurred_at":"2025-01-01T00:00:00Z","correlation_id":"bench-1","causation_id":"bench-0","data":{"pad":"`
	tail := `"}}`
	pad := max(n-len(head)-len(tail), 0)
	return []byte(head + strings.Repeat("x", pad) + tail)
}

func rawAsync(ctx context.Context, nc *nats.Conn, cfg RawConfig, payload []byte) (RawResult, error) {
	r := RawResult{Mode: "async", MsgBytes: len(payload), Window: cfg.Window}
	var errs atomic.Int64
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(cfg.Window),
		jetstream.WithPublishAsyncTimeout(30*time.Second),
		jetstream.WithPublishAsyncErrHandler(func(jetstream.JetStream, *nats.Msg, error) { errs.Add(1) }))
	if err != nil {
		return r, err
	}
	prefix := nuid.Next()
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	var n int64
	for ; time.Now().Before(deadline) && ctx.Err() == nil; n++ {
		msg := &nats.Msg{Subject: "bench.raw.async." + strconv.FormatInt(n%1000, 10), Data: payload, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, prefix+strconv.FormatInt(n, 10))
		if _, err := js.PublishMsgAsync(msg, jetstream.WithStallWait(time.Minute)); err != nil {
			return r, fmt.Errorf("raw async publish: %w", err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		return r, errors.New("raw async publish: acks still missing after a minute")
	case <-ctx.Done():
		return r, ctx.Err()
	}
	el := time.Since(start)
	r.Errors = errs.Load()
	r.Messages = n - r.Errors
	r.Seconds = round(el.Seconds(), 3)
	r.PerSec = round(float64(r.Messages)/el.Seconds(), 0)
	return r, nil
}

// Atomic batch publish protocol (nats-server 2.12+, stream with
// AllowAtomicPublish): every message of a batch carries Nats-Batch-Id (unique,
// at most 64 bytes) and Nats-Batch-Sequence (1..n, no gaps); the last one also
// Nats-Batch-Commit: 1. The server stages the messages and stores all or
// none when the commit arrives; only the commit needs a reply subject — it
// gets the PubAck (with "batch" and "count"), or an error for the whole
// batch. Earlier messages sent with a reply would get an empty ack each,
// which only flow control needs. Limits: 1,000 messages a batch, 50 batches
// in flight per stream, 10s between the messages of a batch.
const (
	hdrBatchID     = "Nats-Batch-Id"
	hdrBatchSeq    = "Nats-Batch-Sequence"
	hdrBatchCommit = "Nats-Batch-Commit"
)

type batchAck struct {
	Stream string `json:"stream"`
	Seq    uint64 `json:"seq"`
	Batch  string `json:"batch"`
	Count  int    `json:"count"`
	Error  *struct {
		Code        int    `json:"code"`
		ErrCode     int    `json:"err_code"`
		Description string `json:"description"`
	} `json:"error"`
}

// PublishAtomicBatch publishes msgs as one atomic batch and returns the
// commit's PubAck. The messages' headers are set in place.
func PublishAtomicBatch(ctx context.Context, nc *nats.Conn, msgs []*nats.Msg) (batchAck, error) {
	var ack batchAck
	if len(msgs) == 0 {
		return ack, errors.New("atomic batch: no messages")
	}
	id := nuid.Next()
	for i, m := range msgs {
		if m.Header == nil {
			m.Header = nats.Header{}
		}
		m.Header.Set(hdrBatchID, id)
		m.Header.Set(hdrBatchSeq, strconv.Itoa(i+1))
		if i < len(msgs)-1 {
			m.Reply = ""
			if err := nc.PublishMsg(m); err != nil {
				return ack, fmt.Errorf("atomic batch %s: %w", id, err)
			}
			continue
		}
		m.Header.Set(hdrBatchCommit, "1")
		resp, err := nc.RequestMsgWithContext(ctx, m)
		if err != nil {
			return ack, fmt.Errorf("atomic batch %s commit: %w", id, err)
		}
		if err := json.Unmarshal(resp.Data, &ack); err != nil {
			return ack, fmt.Errorf("atomic batch %s: bad PubAck %q: %w", id, resp.Data, err)
		}
		if ack.Error != nil {
			return ack, fmt.Errorf("atomic batch %s: %s (err_code %d)", id, ack.Error.Description, ack.Error.ErrCode)
		}
		if ack.Count != len(msgs) {
			return ack, fmt.Errorf("atomic batch %s: committed %d of %d", id, ack.Count, len(msgs))
		}
	}
	return ack, nil
}

func rawBatch(ctx context.Context, nc *nats.Conn, cfg RawConfig, payload []byte) (RawResult, error) {
	r := RawResult{Mode: "batch", MsgBytes: len(payload), BatchSize: cfg.BatchSize, Concurrency: cfg.Concurrency}
	var ok, failed atomic.Int64
	var firstErr error
	var mu sync.Mutex
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for g := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prefix := nuid.Next()
			msgs := make([]*nats.Msg, cfg.BatchSize)
			for n := 0; time.Now().Before(deadline) && ctx.Err() == nil; n++ {
				for i := range msgs {
					m := &nats.Msg{Subject: "bench.raw.batch." + strconv.Itoa(g), Data: payload, Header: nats.Header{}}
					m.Header.Set(jetstream.MsgIDHeader, prefix+strconv.Itoa(n*cfg.BatchSize+i))
					msgs[i] = m
				}
				rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				_, err := PublishAtomicBatch(rctx, nc, msgs)
				cancel()
				if err != nil {
					failed.Add(1)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				ok.Add(int64(len(msgs)))
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	r.Messages, r.Errors = ok.Load(), failed.Load()
	r.Seconds = round(el.Seconds(), 3)
	r.PerSec = round(float64(r.Messages)/el.Seconds(), 0)
	if r.Messages == 0 && firstErr != nil {
		return r, fmt.Errorf("raw batch publish: %w", firstErr)
	}
	return r, nil
}
