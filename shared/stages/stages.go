// Package stages records when an event of a traced saga passes each stage
// of the kernel — its commit waited for, ran, was fsync'd; the relay read
// it, published it, got its PubAck; a consumer received it and a worker took
// it — so that the benchmark can say where each millisecond of a saga goes.
// It has nothing to do with the services' logs or metrics: it is off unless
// the process is started with a directory to write to, and then records only
// the sagas whose order id starts with a given prefix (the benchmark's
// traced phases), so the rest of a run pays one atomic load per stage.
//
// Each process writes one file, "<dir>/<name>.stages", of lines
//
//	<unix nanos> <service> <stage> <subject>
//
// where subject is the event's subject (its type and its order). Lines are
// buffered and written every 100ms and by Stop; a process killed loses its
// last 100ms.
package stages

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/choreo-dev/choreo/shared/streams"
)

// The stages, in the order an event passes them.
const (
	// StoreSubmit: the write that appends the event was handed to the
	// store's group commit (Store.Update called).
	StoreSubmit = "store.submit"
	// StoreRun: its closure started, inside a group commit's transaction.
	StoreRun = "store.run"
	// StoreRan: its closure returned.
	StoreRan = "store.ran"
	// StoreCommit: every closure of its batch has run; bbolt's commit (page
	// writes and fsync) begins.
	StoreCommit = "store.commit"
	// StoreCommitted: the commit is durable and the write's caller hears so.
	StoreCommitted = "store.committed"
	// OutboxRead: the relay took the outbox entry.
	OutboxRead = "outbox.read"
	// OutboxPublish: the relay sent it to JetStream.
	OutboxPublish = "outbox.publish"
	// OutboxAcked: JetStream's PubAck for it arrived (stored and fsync'd).
	OutboxAcked = "outbox.acked"
	// ConsumerStored: the stream's timestamp of the delivered message (the
	// server's clock, this machine's when everything runs on one).
	ConsumerStored = "consumer.stored"
	// ConsumerReceived: the consumer's client handed the message over.
	ConsumerReceived = "consumer.received"
	// ConsumerStart: a worker took it from its order's queue.
	ConsumerStart = "consumer.start"
	// ConsumerAcked: the handler's effects committed; the ack was sent.
	ConsumerAcked = "consumer.acked"
)

type recorder struct {
	prefix string

	mu   sync.Mutex
	buf  []byte
	file *os.File
	err  error

	stop chan struct{}
	done chan struct{}
}

var active atomic.Pointer[recorder]

// Start records, until the returned stop is called, the stages of every
// event whose subject's order id (its fourth token) starts with prefix, to
// "<dir>/<name>.stages" (created or appended to).
func Start(dir, name, prefix string) (stop func() error, err error) {
	if prefix == "" {
		return nil, fmt.Errorf("stages: a prefix is required")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("stages: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, name+".stages"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("stages: %w", err)
	}
	r := &recorder{prefix: prefix, file: f, stop: make(chan struct{}), done: make(chan struct{})}
	if !active.CompareAndSwap(nil, r) {
		f.Close()
		return nil, fmt.Errorf("stages: already recording")
	}
	go r.flushLoop()
	return func() error {
		active.CompareAndSwap(r, nil)
		close(r.stop)
		<-r.done
		r.mu.Lock()
		defer r.mu.Unlock()
		r.flush()
		return errors.Join(r.err, r.file.Close())
	}, nil
}

func (r *recorder) flushLoop() {
	defer close(r.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		r.mu.Lock()
		r.flush()
		r.mu.Unlock()
	}
}

// flush writes the buffer; r.mu is held.
func (r *recorder) flush() {
	if len(r.buf) == 0 || r.err != nil {
		r.buf = r.buf[:0]
		return
	}
	_, r.err = r.file.Write(r.buf)
	r.buf = r.buf[:0]
}

// On reports whether the event on subject is traced: recording is on and
// the subject's order id has the prefix. Callers check it before taking the
// time, so an untraced event costs nothing more.
func On(subject string) bool {
	r := active.Load()
	return r != nil && strings.HasPrefix(streams.AggregateID(subject), r.prefix)
}

// Enabled reports whether recording is on at all.
func Enabled() bool { return active.Load() != nil }

// Mark records that service's event on subject passed stage at at. It is a
// no-op unless On(subject).
func Mark(service, stage, subject string, at time.Time) {
	r := active.Load()
	if r == nil || !strings.HasPrefix(streams.AggregateID(subject), r.prefix) {
		return
	}
	r.mu.Lock()
	r.buf = strconv.AppendInt(r.buf, at.UnixNano(), 10)
	r.buf = append(r.buf, ' ')
	r.buf = append(r.buf, service...)
	r.buf = append(r.buf, ' ')
	r.buf = append(r.buf, stage...)
	r.buf = append(r.buf, ' ')
	// As the relay published it: a partitioned consumer hears it with
	// the partition token the server added.
	r.buf = append(r.buf, streams.Published(subject)...)
	r.buf = append(r.buf, '\n')
	r.mu.Unlock()
}

// Record is one line of a stages file.
type Record struct {
	At      time.Time
	Service string
	Stage   string
	Subject string
}

// Parse reads one line of a stages file.
func Parse(line string) (Record, error) {
	f := strings.Fields(line)
	if len(f) != 4 {
		return Record{}, fmt.Errorf("stages: %q is not <nanos> <service> <stage> <subject>", line)
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return Record{}, fmt.Errorf("stages: %q: bad time: %w", line, err)
	}
	return Record{At: time.Unix(0, ns), Service: f[1], Stage: f[2], Subject: f[3]}, nil
}

// ReadDir reads every "*.stages" file in dir, calling fn for each record.
func ReadDir(dir string, fn func(Record)) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.stages"))
	if err != nil {
		return err
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			rec, err := Parse(sc.Text())
			if err != nil {
				f.Close()
				return fmt.Errorf("%s: %w", name, err)
			}
			fn(rec)
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}
