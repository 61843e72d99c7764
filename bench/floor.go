package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/choreo-dev/choreo/stack"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
	bolt "go.etcd.io/bbolt"
)

// The floor: what any design with the saga's durability promises must pay.
//
// A saga crosses five services, and at each one an event is committed to a
// bbolt file with fsync and then published to JetStream (which, with
// sync_interval: always, fsyncs before its PubAck), and the next service
// pulls it. The raw chain does exactly that and nothing else: five hops,
// each a goroutine of the load generator with its own NATS connection and
// its own bbolt file (in the run's directory, on the same disk as the
// services'), each taking what has arrived, writing it in one bbolt
// transaction, publishing each message with a Nats-Msg-Id, waiting for the
// PubAcks and acknowledging what it took. The first hop is fed by core NATS
// publishes as order.place is; the load generator hears the fifth hop's
// messages with a core subscription, as it hears OrderCompleted. No
// outbox, no inbox, no events, no decoding: the saga's latency over the
// chain's, at the same offered rate in the same run, is what the platform
// adds.
//
// Each hop publishes to a stream of its own, as each service does, with the
// services' settings: file storage, one replica, a duplicate window. A hop
// publishes what it took as single asynchronous publishes, or as one atomic
// batch when it took at least chainAtomicMin (the relay's rule, and for the
// same reason: below that, an atomic batch costs the server more).

// ChainStream is the prefix of the raw chain's streams (ChainStream_1 …
// ChainStream_5), on the services' server.
const ChainStream = "BENCH_CHAIN"

// chainAtomicMin is the outbox relay's default AtomicMin.
const chainAtomicMin = 32

func chainStream(hop int) string { return ChainStream + "_" + strconv.Itoa(hop) }

// ChainHops is the number of hops of the raw chain: a completed saga's
// (order.place → OrderPlaced → PaymentCompleted → StockReserved →
// ShipmentScheduled → OrderCompleted).
const ChainHops = 5

// chainIn is where the first hop is fed (core NATS, not stored).
const chainIn = "bench.chain-in"

func chainSubject(hop int) string { return "bench.chain." + strconv.Itoa(hop) }

// Chain is the raw chain, running.
type Chain struct {
	conns   []*nats.Conn
	dbs     []*bolt.DB
	tracker *Tracker
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	close   sync.Once
	errs    chainErrors
}

type chainErrors struct {
	mu    sync.Mutex
	n     int
	first error
}

func (e *chainErrors) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == 0 {
		e.first = err
	}
	e.n++
}

// StartChain creates ChainStream (replacing any) and starts the five hops,
// with their bbolt files in dir.
func StartChain(ctx context.Context, dir string, connect func(name string) (*nats.Conn, error)) (*Chain, error) {
	c := &Chain{}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	admin, err := connect("choreo-bench-chain")
	if err != nil {
		return nil, err
	}
	c.conns = append(c.conns, admin)
	js, err := jetstream.New(admin)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for h := 1; h <= ChainHops; h++ {
		subjects := []string{chainSubject(h) + ".>"}
		if h == 1 {
			subjects = append(subjects, "bench.chain.rtt.>") // PublishRTT's
		}
		_ = js.DeleteStream(sctx, chainStream(h))
		if _, err := js.CreateStream(sctx, jetstream.StreamConfig{Name: chainStream(h), Subjects: subjects,
			Storage: jetstream.FileStorage, Retention: jetstream.LimitsPolicy, Duplicates: 2 * time.Minute, Replicas: 1,
			AllowAtomicPublish: true}); err != nil {
			return nil, fmt.Errorf("create %s: %w", chainStream(h), err)
		}
	}
	if c.tracker, err = newTracker(admin, chainSubject(ChainHops)+".*"); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	hctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = stop
	for h := 1; h <= ChainHops; h++ {
		nc, err := connect("choreo-bench-chain-" + strconv.Itoa(h))
		if err != nil {
			return nil, err
		}
		c.conns = append(c.conns, nc)
		db, err := bolt.Open(filepath.Join(dir, "hop"+strconv.Itoa(h)+".db"), 0o600,
			&bolt.Options{Timeout: 2 * time.Second, FreelistType: bolt.FreelistMapType})
		if err != nil {
			return nil, fmt.Errorf("chain hop %d: %w", h, err)
		}
		c.dbs = append(c.dbs, db)
		if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists([]byte("events")); return err }); err != nil {
			return nil, err
		}
		hop := &chainHop{n: h, db: db, nc: nc, in: make(chan chainMsg, 4096), errs: &c.errs}
		if hop.js, err = jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096)); err != nil {
			return nil, err
		}
		if h == 1 {
			sub, err := nc.Subscribe(chainIn+".*", func(m *nats.Msg) { hop.in <- chainMsg{subject: m.Subject, data: m.Data} })
			if err != nil {
				return nil, err
			}
			_ = sub.SetPendingLimits(-1, -1)
			if err := nc.Flush(); err != nil {
				return nil, err
			}
		} else {
			cons, err := hop.js.CreateOrUpdateConsumer(sctx, chainStream(h-1), jetstream.ConsumerConfig{
				Durable: "hop" + strconv.Itoa(h), FilterSubject: chainSubject(h-1) + ".>",
				AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second, MaxAckPending: 4096,
			})
			if err != nil {
				return nil, fmt.Errorf("chain hop %d consumer: %w", h, err)
			}
			iter, err := cons.Messages(jetstream.PullMaxMessages(256))
			if err != nil {
				return nil, err
			}
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				context.AfterFunc(hctx, iter.Stop)
				for {
					m, err := iter.Next()
					if err != nil {
						if errors.Is(err, jetstream.ErrMsgIteratorClosed) || hctx.Err() != nil {
							return
						}
						continue
					}
					hop.in <- chainMsg{subject: m.Subject(), data: m.Data(), msg: m}
				}
			}()
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			hop.run(hctx)
		}()
	}
	ok = true
	return c, nil
}

// Close stops the hops and closes their files and connections (the stream
// stays: it goes with the run's server). It may be called more than once.
func (c *Chain) Close() { c.close.Do(c.stop) }

func (c *Chain) stop() {
	if c.cancel != nil {
		c.cancel()
	}
	if c.tracker != nil {
		c.tracker.Close()
	}
	for _, nc := range c.conns {
		nc.Close()
	}
	c.wg.Wait()
	for _, db := range c.dbs {
		_ = db.Close()
	}
}

// Errors is how many hop batches failed (a commit or a publish), and the
// first failure.
func (c *Chain) Errors() (int, error) {
	c.errs.mu.Lock()
	defer c.errs.mu.Unlock()
	return c.errs.n, c.errs.first
}

type chainMsg struct {
	subject string
	data    []byte
	msg     jetstream.Msg // nil for the first hop's core messages
}

type chainHop struct {
	n    int
	db   *bolt.DB
	nc   *nats.Conn
	js   jetstream.JetStream
	in   chan chainMsg
	errs *chainErrors
}

// run handles what has arrived, as one batch, until ctx ends: one bbolt
// transaction (fsync), then a publish of each message, then the PubAcks,
// then the acks.
func (h *chainHop) run(ctx context.Context) {
	next := chainSubject(h.n) + "."
	batch := make([]chainMsg, 0, 256)
	futures := make([]jetstream.PubAckFuture, 0, 256)
	for {
		batch = batch[:0]
		select {
		case m := <-h.in:
			batch = append(batch, m)
		case <-ctx.Done():
			return
		}
	more:
		for len(batch) < cap(batch) {
			select {
			case m := <-h.in:
				batch = append(batch, m)
			default:
				break more
			}
		}
		err := h.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte("events"))
			for _, m := range batch {
				if err := b.Put([]byte(m.subject), m.data); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			h.errs.add(fmt.Errorf("chain hop %d commit: %w", h.n, err))
			continue
		}
		msgs := make([]*nats.Msg, len(batch))
		for i, m := range batch {
			id := m.subject[strings.LastIndexByte(m.subject, '.')+1:]
			msgs[i] = &nats.Msg{Subject: next + id, Data: m.data, Header: nats.Header{}}
			msgs[i].Header.Set(jetstream.MsgIDHeader, strconv.Itoa(h.n)+"-"+id)
		}
		if len(msgs) >= chainAtomicMin {
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, err := PublishAtomicBatch(pctx, h.nc, msgs)
			cancel()
			if err != nil {
				h.errs.add(fmt.Errorf("chain hop %d atomic batch: %w", h.n, err))
			}
		} else {
			futures = futures[:0]
			for _, msg := range msgs {
				f, err := h.js.PublishMsgAsync(msg)
				if err != nil {
					h.errs.add(fmt.Errorf("chain hop %d publish: %w", h.n, err))
					break
				}
				futures = append(futures, f)
			}
			for _, f := range futures {
				select {
				case <-f.Ok():
				case err := <-f.Err():
					h.errs.add(fmt.Errorf("chain hop %d PubAck: %w", h.n, err))
				case <-ctx.Done():
					return
				}
			}
		}
		for _, m := range batch {
			if m.msg != nil {
				_ = m.msg.Ack()
			}
		}
	}
}

// OpenLoop feeds the chain at rate for d, on schedule, and measures each
// message from its scheduled send to its arrival after the fifth hop.
func (c *Chain) OpenLoop(ctx context.Context, nc *nats.Conn, name string, rate float64, d time.Duration, payload []byte, prog *Progress) (PhaseResult, error) {
	prefix := nuid.Next()
	i := 0
	next := func() (string, []byte, Kind) {
		i++
		return prefix + strconv.Itoa(i), payload, KindComplete
	}
	send := func(id string, body []byte) error { return nc.Publish(chainIn+"."+id, body) }
	return openLoop(ctx, newCollector(), openLoopSpec{name: name, rate: rate, d: d, tracker: c.tracker,
		wait: time.Minute, progress: prog, next: next, send: send})
}

// Floor is what the platform is measured against: the disk's fdatasync and
// JetStream's synchronous publish with the stack idle, and the raw chain at
// each open-loop rate.
type Floor struct {
	Fdatasync  Latency       `json:"fdatasync"`
	PublishRTT Latency       `json:"jetstream_sync_publish"`
	Chain      []PhaseResult `json:"chain"`
}

// Where the traced phases' order ids differ (see stages) and where the
// services write their stages, relative to the run directory.
const (
	tracedPhase = "t"
	stagesDir   = "stages"
)

// measureFloor measures fdatasync and synchronous publishes into res.Floor
// and starts the raw chain, with the stack idle.
func measureFloor(ctx context.Context, st *stack.Stack, connect func(string) (*nats.Conn, error), nc *nats.Conn, res *Results) (*Chain, error) {
	var err error
	if res.Floor.Fdatasync, err = FsyncLatency(st.DataDir(), 500); err != nil {
		return nil, fmt.Errorf("fdatasync: %w", err)
	}
	chain, err := StartChain(ctx, filepath.Join(st.Dir(), "chain"), connect)
	if err != nil {
		return nil, err
	}
	if res.Floor.PublishRTT, err = PublishRTT(ctx, nc, 500, rawPayload(600)); err != nil {
		chain.Close()
		return nil, fmt.Errorf("synchronous publish: %w", err)
	}
	return chain, nil
}

// FsyncLatency measures the disk under dir: n times, a 4 KiB write to a
// file there followed by fdatasync (what bbolt calls at each commit, twice).
func FsyncLatency(dir string, n int) (Latency, error) {
	f, err := os.CreateTemp(dir, "fsync-*.tmp")
	if err != nil {
		return Latency{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 4096)
	ds := make([]time.Duration, 0, n)
	for i := range n {
		buf[0] = byte(i)
		if _, err := f.WriteAt(buf, int64(i%256)*4096); err != nil {
			return Latency{}, err
		}
		t := time.Now()
		if err := fdatasync(f); err != nil {
			return Latency{}, err
		}
		ds = append(ds, time.Since(t))
	}
	return Summarize(ds), nil
}

// PublishRTT measures n synchronous JetStream publishes of payload (each
// with a Nats-Msg-Id, as the services' are) to the first hop's stream: the
// request to the PubAck, one at a time.
func PublishRTT(ctx context.Context, nc *nats.Conn, n int, payload []byte) (Latency, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return Latency{}, err
	}
	prefix := nuid.Next()
	ds := make([]time.Duration, 0, n)
	for i := range n {
		msg := &nats.Msg{Subject: "bench.chain.rtt." + strconv.Itoa(i), Data: payload, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, prefix+strconv.Itoa(i))
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		t := time.Now()
		_, err := js.PublishMsg(pctx, msg)
		d := time.Since(t)
		cancel()
		if err != nil {
			return Latency{}, fmt.Errorf("publish: %w", err)
		}
		ds = append(ds, d)
	}
	return Summarize(ds), nil
}
