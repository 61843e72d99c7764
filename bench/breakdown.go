package bench

import (
	"fmt"
	"strings"
	"time"

	"github.com/choreo-dev/choreo/shared/stages"
	"github.com/choreo-dev/choreo/shared/streams"
)

// Where each millisecond of a saga goes.
//
// In the traced phases the services record, for every event of a saga, when
// it passed each stage of the kernel (package stages): handed to the group
// commit, its closure run, the batch's commit begun and fsync'd, read by the
// relay, published, PubAck'd, received by the next service's consumer,
// taken by a worker. With the load generator's own two times — when the
// saga was scheduled and when its OrderCompleted was heard — each completed
// saga's latency splits, hop by hop, into stages that add up to it exactly:
// each stage runs from one recorded time to the next on the saga's path.

// hop is one step of a completed saga: service hears in (published by
// from) and appends out. The first hop hears order.place.
type hop struct {
	name     string
	service  string
	from, in string // publisher and type of the event heard; "" for order.place
	out      string // type of the event appended
}

var sagaPath = []hop{
	{"order.place → OrderPlaced", "order", "", "", "OrderPlaced"},
	{"payment: → PaymentCompleted", "payment", "order", "OrderPlaced", "PaymentCompleted"},
	{"inventory: → StockReserved", "inventory", "payment", "PaymentCompleted", "StockReserved"},
	{"shipping: → ShipmentScheduled", "shipping", "inventory", "StockReserved", "ShipmentScheduled"},
	{"order: → OrderCompleted", "order", "shipping", "ShipmentScheduled", "OrderCompleted"},
}

// point names one recorded time of a saga's hop: a stage of the event heard
// (in) or appended (out), recorded by the hop's service or by the one that
// published what it heard; or the saga's start or end.
type point struct {
	stage string
	event int // pointIn, pointOut
	by    int // byHop, byPublisher
}

const (
	pointOut = iota
	pointIn
	pointStart
	pointEnd
)

const (
	byHop = iota
	byPublisher
)

// span of a breakdown row: from one point to the next.
type stageDef struct {
	name     string
	from, to point
	// critical: on the saga's path (the rows that add up to its latency);
	// the others say something about a stage beside it.
	critical bool
	first    bool // only the first hop (order.place)
	notFirst bool // every hop but the first
	last     bool // only the last hop
}

var stageDefs = []stageDef{
	{name: "request → store (order.place)", from: point{event: pointStart}, to: point{stages.StoreSubmit, pointOut, byHop}, critical: true, first: true},
	{name: "publish → consumer received", from: point{stages.OutboxPublish, pointIn, byPublisher}, to: point{stages.ConsumerReceived, pointIn, byHop}, critical: true, notFirst: true},
	{name: "queued for a worker", from: point{stages.ConsumerReceived, pointIn, byHop}, to: point{stages.ConsumerStart, pointIn, byHop}, critical: true, notFirst: true},
	{name: "decode, inbox check", from: point{stages.ConsumerStart, pointIn, byHop}, to: point{stages.StoreSubmit, pointOut, byHop}, critical: true, notFirst: true},
	{name: "wait for a group commit", from: point{stages.StoreSubmit, pointOut, byHop}, to: point{stages.StoreRun, pointOut, byHop}, critical: true},
	{name: "handler (in the transaction)", from: point{stages.StoreRun, pointOut, byHop}, to: point{stages.StoreRan, pointOut, byHop}, critical: true},
	{name: "rest of the batch's closures", from: point{stages.StoreRan, pointOut, byHop}, to: point{stages.StoreCommit, pointOut, byHop}, critical: true},
	{name: "commit: page writes, fsync", from: point{stages.StoreCommit, pointOut, byHop}, to: point{stages.StoreCommitted, pointOut, byHop}, critical: true},
	{name: "wait in the outbox", from: point{stages.StoreCommitted, pointOut, byHop}, to: point{stages.OutboxRead, pointOut, byHop}, critical: true},
	{name: "outbox read → publish", from: point{stages.OutboxRead, pointOut, byHop}, to: point{stages.OutboxPublish, pointOut, byHop}, critical: true},
	{name: "publish → load generator (OrderCompleted)", from: point{stages.OutboxPublish, pointOut, byHop}, to: point{event: pointEnd}, critical: true, last: true},
	{name: "(beside) publish → PubAck", from: point{stages.OutboxPublish, pointOut, byHop}, to: point{stages.OutboxAcked, pointOut, byHop}},
	{name: "(beside) publish → stored (stream time)", from: point{stages.OutboxPublish, pointIn, byPublisher}, to: point{stages.ConsumerStored, pointIn, byHop}, notFirst: true},
}

func (d stageDef) applies(h int) bool {
	switch {
	case d.first:
		return h == 0
	case d.notFirst:
		return h > 0
	case d.last:
		return h == len(sagaPath)-1
	}
	return true
}

// Breakdown is where the latency of a phase's completed sagas goes.
type Breakdown struct {
	Phase         string  `json:"phase"`
	OfferedPerSec float64 `json:"offered_per_sec"`
	Label         string  `json:"label,omitempty"`
	// Sagas is how many completed sagas had every stage recorded; Missing
	// how many completed sagas had not (a stage lost in a process's last
	// 100ms, say).
	Sagas   int      `json:"sagas"`
	Missing int      `json:"missing"`
	Hops    []string `json:"hops"`
	// Stages: the critical ones add up, saga by saga, to Total.
	Stages []StageTimes `json:"stages"`
	Total  Latency      `json:"total"`
}

// StageTimes is one stage: its time at each hop (Count 0 where it does not
// apply) and summed over the hops of each saga.
type StageTimes struct {
	Stage    string    `json:"stage"`
	Critical bool      `json:"critical"`
	Hops     []Latency `json:"hops"`
	Saga     Latency   `json:"saga"`
}

type recordKey struct{ service, stage, subject string }

// stageIndex is every recorded stage of a run, the first time each was
// recorded (a redelivery records some again).
type stageIndex map[recordKey]time.Time

func readStages(dir string) (stageIndex, error) {
	idx := stageIndex{}
	err := stages.ReadDir(dir, func(r stages.Record) {
		k := recordKey{r.Service, r.Stage, r.Subject}
		if t, ok := idx[k]; !ok || r.At.Before(t) {
			idx[k] = r.At
		}
	})
	return idx, err
}

// breakdown splits the sagas of spans (by order id) into stages.
func (idx stageIndex) breakdown(phase PhaseResult, spans map[string]span) Breakdown {
	b := Breakdown{Phase: phase.Name, OfferedPerSec: phase.OfferedPerSec, Label: phase.Label}
	for _, h := range sagaPath {
		b.Hops = append(b.Hops, h.name)
	}
	per := make([][][]time.Duration, len(stageDefs)) // stage, hop, saga
	sums := make([][]time.Duration, len(stageDefs))
	for i := range per {
		per[i] = make([][]time.Duration, len(sagaPath))
	}
	var totals []time.Duration
	at := func(p point, h int, id string, sp span) (time.Time, bool) {
		switch p.event {
		case pointStart:
			return sp.start, true
		case pointEnd:
			return sp.end, true
		}
		hp := sagaPath[h]
		service, subject := hp.service, streams.Subject(hp.service, hp.out, id)
		if p.event == pointIn {
			subject = streams.Subject(hp.from, hp.in, id)
		}
		if p.by == byPublisher {
			service = hp.from
		}
		t, ok := idx[recordKey{service, p.stage, subject}]
		return t, ok
	}
	for id, sp := range spans {
		var rows [][]time.Duration // stage, hop
		var have [][]bool
		complete := true
		for _, d := range stageDefs {
			row, ok := make([]time.Duration, len(sagaPath)), make([]bool, len(sagaPath))
			for h := range sagaPath {
				if !d.applies(h) {
					continue
				}
				from, ok1 := at(d.from, h, id, sp)
				to, ok2 := at(d.to, h, id, sp)
				if !ok1 || !ok2 {
					complete = complete && !d.critical // a missing aside costs only its row
					continue
				}
				// Two processes' clocks (the same machine's) can put a later
				// stage a hair before an earlier one: kept as is, the stages
				// still add up.
				row[h], ok[h] = to.Sub(from), true
			}
			rows, have = append(rows, row), append(have, ok)
		}
		if !complete {
			b.Missing++
			continue
		}
		b.Sagas++
		totals = append(totals, sp.end.Sub(sp.start))
		for i := range stageDefs {
			var sum time.Duration
			for h := range sagaPath {
				if have[i][h] {
					per[i][h] = append(per[i][h], rows[i][h])
					sum += rows[i][h]
				}
			}
			sums[i] = append(sums[i], sum)
		}
	}
	for i, d := range stageDefs {
		st := StageTimes{Stage: d.name, Critical: d.critical, Saga: Summarize(sums[i])}
		for h := range sagaPath {
			st.Hops = append(st.Hops, Summarize(per[i][h]))
		}
		b.Stages = append(b.Stages, st)
	}
	b.Total = Summarize(totals)
	return b
}

// Markdown is the breakdown as a table: mean milliseconds of each stage at
// each hop, and over the saga (mean, p99, share of the mean).
func (b Breakdown) Markdown() string {
	var s strings.Builder
	fmt.Fprintf(&s, "#### %s sagas/s offered: %d completed sagas, mean %s ms, p50 %s, p99 %s", rateLabel(b.OfferedPerSec, b.Label), b.Sagas,
		num(b.Total.Mean), num(b.Total.P50), num(b.Total.P99))
	if b.Missing > 0 {
		fmt.Fprintf(&s, " (%d more left out: a stage not recorded)", b.Missing)
	}
	s.WriteString("\n\nMean ms of each stage at each hop; the saga columns are the stage summed over a saga's hops.\n\n| stage |")
	for _, h := range b.Hops {
		s.WriteString(" " + h + " |")
	}
	s.WriteString(" saga mean | saga p99 | share |\n| --- |")
	for range b.Hops {
		s.WriteString(" --: |")
	}
	s.WriteString(" --: | --: | --: |\n")
	for _, st := range b.Stages {
		fmt.Fprintf(&s, "| %s |", st.Stage)
		for _, l := range st.Hops {
			if l.Count == 0 {
				s.WriteString(" |")
			} else {
				fmt.Fprintf(&s, " %s |", num(l.Mean))
			}
		}
		share := ""
		if st.Critical && b.Total.Mean > 0 {
			share = fmt.Sprintf("%.0f%%", 100*st.Saga.Mean/b.Total.Mean)
		}
		fmt.Fprintf(&s, " %s | %s | %s |\n", num(st.Saga.Mean), num(st.Saga.P99), share)
	}
	s.WriteString("| **hop total** |")
	for h := range b.Hops {
		var sum float64
		for _, st := range b.Stages {
			if st.Critical {
				sum += st.Hops[h].Mean
			}
		}
		fmt.Fprintf(&s, " **%s** |", num(sum))
	}
	fmt.Fprintf(&s, " **%s** | %s | |\n", num(b.Total.Mean), num(b.Total.P99))
	return s.String()
}
