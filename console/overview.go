package console

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/choreo-dev/choreo/shared/deadletter"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Overview is what the overview page shows, read again every Config.Every
// and pushed to the pages as the "overview" event.
type Overview struct {
	At       time.Time      `json:"at"`
	NATS     NATSState      `json:"nats"`
	Services []ServiceState `json:"services"`
	Streams  []StreamState  `json:"streams"`
	// Consumers are the durable consumers of the event streams, with
	// their backlog.
	Consumers []ConsumerState `json:"consumers"`
	// JetStreamError says why the streams and consumers could not be read.
	JetStreamError    string      `json:"jetstream_error,omitempty"`
	DeadLetters       DeadLetters `json:"dead_letters"`
	Sagas             SagaRates   `json:"sagas"`
	StuckAfterSeconds float64     `json:"stuck_after_seconds"`
	// Alerts are what is wrong, worst first, in words: what an operator
	// reads first.
	Alerts []Alert `json:"alerts"`
}

// NATSState is the console's own connection.
type NATSState struct {
	Connected bool   `json:"connected"`
	Status    string `json:"status"`
	URL       string `json:"url,omitempty"`
}

// StreamState is a stream's size.
type StreamState struct {
	Name      string `json:"name"`
	Messages  uint64 `json:"messages"`
	Bytes     uint64 `json:"bytes"`
	LastSeq   uint64 `json:"last_seq"`
	Consumers int    `json:"consumers"`
}

// ConsumerState is a durable consumer's backlog: what it has not been
// delivered yet (Pending) and what it was delivered and has not
// acknowledged (AckPending), and how that went lately.
type ConsumerState struct {
	Stream      string `json:"stream"`
	Name        string `json:"name"`
	Pending     uint64 `json:"pending"`
	AckPending  int    `json:"ack_pending"`
	Redelivered int    `json:"redelivered"`
	// Lag is Pending + AckPending.
	Lag uint64 `json:"lag"`
	// History is Lag at each reading of the last lagHistory, oldest first.
	History []uint64 `json:"history"`
	// Growing: the backlog has grown over the last readings.
	Growing bool `json:"growing"`
	// Was is Lag about growWindow ago.
	Was uint64 `json:"was"`
}

// DeadLetters is the DLQ at a glance.
type DeadLetters struct {
	Total     uint64            `json:"total"`
	ByService map[string]uint64 `json:"by_service"`
	// Recent is how many letters were written in the last RecentMinutes
	// (redriven or purged since included), as far back as the console has
	// watched.
	Recent        uint64 `json:"recent"`
	RecentMinutes int    `json:"recent_minutes"`
	Error         string `json:"error,omitempty"`
}

// Alert is one thing wrong, said for an operator, with where to look.
type Alert struct {
	Level string `json:"level"` // error or warn
	Text  string `json:"text"`
	Link  string `json:"link,omitempty"`
}

const (
	// lagHistory is how far back a consumer's backlog is kept.
	lagHistory = 2 * time.Minute
	// growWindow is how far back a growing backlog is compared with.
	growWindow = 30 * time.Second
	// recentLetters is how far back new dead letters are counted.
	recentLetters = 5 * time.Minute
	// maxStreams and maxConsumers bound what the overview lists.
	maxStreams   = 64
	maxConsumers = 256
	// stalledOutbox is how old an outbox's oldest entry may get before the
	// overview says publishing is held up.
	stalledOutbox = 10 * time.Second
)

// sample is a value read at a time.
type sample struct {
	at time.Time
	v  uint64
}

// collector reads the overview.
type collector struct {
	cfg   Config
	nc    *nats.Conn
	js    jetstream.JetStream
	hc    *http.Client
	w     *watcher
	rates *rates

	mu  sync.Mutex
	lag map[string][]sample // by stream/durable
	dlq []sample            // the DLQ's last sequence

	cur atomic.Pointer[Overview]
}

// current is the last overview read (nil before the first).
func (c *collector) current() *Overview { return c.cur.Load() }

// collect reads everything the overview shows, each part on its own: a
// part that cannot be read says why, and the others are read anyway.
func (c *collector) collect(ctx context.Context) *Overview {
	now := time.Now()
	o := &Overview{At: now, StuckAfterSeconds: c.cfg.StuckAfter.Seconds(), Sagas: c.rates.snapshot(),
		Services: make([]ServiceState, len(c.cfg.Services)), Streams: []StreamState{}, Consumers: []ConsumerState{},
		DeadLetters: DeadLetters{ByService: map[string]uint64{}, RecentMinutes: int(recentLetters / time.Minute)}}
	o.NATS = NATSState{Connected: c.nc.IsConnected(), Status: strings.ToLower(c.nc.Status().String()), URL: c.nc.ConnectedUrlRedacted()}
	var wg sync.WaitGroup
	for i, e := range c.cfg.Services {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
			defer cancel()
			o.Services[i] = probe(pctx, c.hc, e)
		})
	}
	wg.Go(func() { c.readJetStream(ctx, o, now) })
	wg.Wait()
	o.Alerts = alerts(o)
	c.cur.Store(o)
	return o
}

// readJetStream reads the streams, their durables and the DLQ, each
// within Config.Timeout: one that does not answer leaves the others their
// time.
func (c *collector) readJetStream(ctx context.Context, o *Overview, now time.Time) {
	if !c.nc.IsConnected() {
		o.JetStreamError = "NATS unavailable: " + o.NATS.Status
		o.DeadLetters.Error = o.JetStreamError
		return
	}
	var infos []*jetstream.StreamInfo
	lctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	l := c.js.ListStreams(lctx)
	for info := range l.Info() {
		if len(infos) < maxStreams {
			infos = append(infos, info)
		}
	}
	if err := l.Err(); err != nil {
		o.JetStreamError = "streams unavailable: " + err.Error()
		o.DeadLetters.Error = o.JetStreamError
		return
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Config.Name < infos[j].Config.Name })
	c.w.follow(infos)
	var dlqLast uint64
	hasDLQ := false
	var wg sync.WaitGroup
	var errMu sync.Mutex
	for _, info := range infos {
		o.Streams = append(o.Streams, StreamState{Name: info.Config.Name, Messages: info.State.Msgs, Bytes: info.State.Bytes,
			LastSeq: info.State.LastSeq, Consumers: info.State.Consumers})
		if info.Config.Name == streams.DLQ {
			hasDLQ, dlqLast = true, info.State.LastSeq
			continue
		}
		if info.State.Consumers == 0 {
			continue
		}
		wg.Go(func() {
			if err := c.readConsumers(ctx, info.Config.Name, o, now); err != nil {
				errMu.Lock()
				o.JetStreamError = fmt.Sprintf("consumers of %s unavailable: %v", info.Config.Name, err)
				errMu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.SortFunc(o.Consumers, func(a, b ConsumerState) int {
		return cmp.Or(strings.Compare(a.Stream, b.Stream), strings.Compare(a.Name, b.Name))
	})
	if !hasDLQ {
		o.DeadLetters.Error = "no DLQ stream yet: has a service started?"
		return
	}
	cctx, ccancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer ccancel()
	counts, err := deadletter.Counts(cctx, c.js)
	if err != nil {
		o.DeadLetters.Error = "dead letters unavailable: " + err.Error()
	}
	for svc, n := range counts {
		o.DeadLetters.ByService[svc] = n
		o.DeadLetters.Total += n
	}
	c.mu.Lock()
	c.dlq = keep(append(c.dlq, sample{now, dlqLast}), now, recentLetters)
	if first := c.dlq[0]; dlqLast > first.v {
		o.DeadLetters.Recent = dlqLast - first.v
	}
	c.mu.Unlock()
}

// readConsumers adds stream's durables to o, and keeps their history.
func (c *collector) readConsumers(ctx context.Context, stream string, o *Overview, now time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	st, err := c.js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	var infos []*jetstream.ConsumerInfo
	l := st.ListConsumers(ctx)
	for info := range l.Info() {
		infos = append(infos, info)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lag == nil {
		c.lag = map[string][]sample{}
	}
	for _, info := range infos {
		if len(o.Consumers) >= maxConsumers {
			break
		}
		cs := ConsumerState{Stream: stream, Name: info.Name, Pending: info.NumPending, AckPending: info.NumAckPending,
			Redelivered: info.NumRedelivered, Lag: info.NumPending + uint64(max(info.NumAckPending, 0))}
		key := stream + "/" + info.Name
		h := keep(append(c.lag[key], sample{now, cs.Lag}), now, lagHistory)
		c.lag[key] = h
		for _, s := range h {
			cs.History = append(cs.History, s.v)
		}
		cs.Was, cs.Growing = growing(h, now)
		o.Consumers = append(o.Consumers, cs)
	}
	return l.Err()
}

// keep drops the samples older than d before now, but always keeps one.
func keep(h []sample, now time.Time, d time.Duration) []sample {
	i := 0
	for i < len(h)-1 && now.Sub(h[i].at) > d {
		i++
	}
	return slices.Clone(h[i:])
}

// growing reports whether a backlog grows: it is above what it was
// growWindow ago (or at the oldest reading, if at least half that old) and
// has not fallen at any of the last three readings. It returns the value it
// compared with.
func growing(h []sample, now time.Time) (was uint64, grows bool) {
	if len(h) < 3 {
		return 0, false
	}
	ref := h[0]
	for _, s := range h {
		if now.Sub(s.at) < growWindow {
			break
		}
		ref = s
	}
	if now.Sub(ref.at) < growWindow/2 {
		return ref.v, false
	}
	last := h[len(h)-1].v
	for i := len(h) - 3; i < len(h)-1; i++ {
		if h[i+1].v < h[i].v {
			return ref.v, false
		}
	}
	return ref.v, last > ref.v
}

// alerts says what is wrong in o, worst first.
func alerts(o *Overview) []Alert {
	out := []Alert{}
	add := func(level, link, format string, args ...any) {
		out = append(out, Alert{Level: level, Text: fmt.Sprintf(format, args...), Link: link})
	}
	if !o.NATS.Connected {
		add("error", "", "NATS unavailable (%s): the console reconnects; requests and streams cannot be read meanwhile", o.NATS.Status)
	}
	for _, s := range o.Services {
		switch {
		case !s.Served:
		case !s.Reachable:
			add("error", "", "%s does not answer on %s (%s): is it running?", s.Name, s.HTTPAddr, s.Error)
		case !s.Ready:
			var why []string
			for _, c := range s.Checks {
				if !c.OK {
					why = append(why, c.Name+": "+c.Reason)
				}
			}
			add("error", "", "%s is not ready — %s", s.Name, strings.Join(why, "; "))
		}
	}
	if o.DeadLetters.Recent > 0 {
		add("error", "/dead-letters", "%d new dead letter(s) in the last %d minutes (%d waiting)", o.DeadLetters.Recent, o.DeadLetters.RecentMinutes, o.DeadLetters.Total)
	} else if o.DeadLetters.Total > 0 {
		add("warn", "/dead-letters", "%d dead letter(s) waiting", o.DeadLetters.Total)
	}
	for _, c := range o.Consumers {
		if c.Growing {
			add("warn", "", "%s's backlog on %s is growing: %d now, %d half a minute ago", c.Name, c.Stream, c.Lag, c.Was)
		}
	}
	for _, s := range o.Services {
		if n, age := s.Metrics[metricOutbox], s.Metrics[metricOutboxAge]; n > 0 && age > stalledOutbox.Seconds() {
			add("warn", "", "%s's outbox holds %.0f event(s), the oldest %.0fs old: publishing is held up", s.Name, n, age)
		}
		if n := s.Metrics[metricSetAside]; n > 0 {
			// Not in the durables' backlogs above: acknowledged, and waiting
			// in the service's store for their hot order's turn.
			add("warn", "", "%s holds %.0f event(s) of hot orders set aside, handled in their order's turn: one order is getting far more events than a saga makes", s.Name, n)
		}
		if n := s.Metrics[metricStuck]; n > 0 {
			add("warn", "/sagas?stuck=1", "%.0f saga(s) in flight for more than %s", n, time.Duration(o.StuckAfterSeconds*float64(time.Second)))
		}
	}
	if o.JetStreamError != "" && o.NATS.Connected {
		add("error", "", "%s", o.JetStreamError)
	}
	slices.SortStableFunc(out, func(a, b Alert) int {
		if a.Level == b.Level {
			return 0
		}
		if a.Level == "error" {
			return -1
		}
		return 1
	})
	return out
}
