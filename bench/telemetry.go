package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/choreo-dev/choreo/stack"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// The observability cost: metrics and tracing off on one stack and on on
// another, side by side, under the same open loop at the same time, in
// rounds that swap the two stacks' modes.
//
// Side by side because this machine is shared: whatever else runs on it
// shifts the CPU a saga costs by more than observing does (batches grow
// when the machine is slow), and two stacks measured at the same moment
// see the same weather. An open loop at a fixed rate (a quarter of one
// stack's closed-loop maximum each, unless set) gives both the same work at
// the same pace: a closed loop would let the slower one run at a lower
// rate, with smaller group commits and batches, and charge it for that too.
// Swapping the modes between rounds cancels what differs between the two
// stacks. CPU is measured over exactly the sagas of the round, from the
// first order sent until every event they caused is handled.
//
// Off is how the harness runs the services by default: no HTTP endpoint (so
// no metrics are kept) and no trace exporter (trace contexts are still
// carried, as they always are). On is every service with its HTTP endpoint,
// scraped every ScrapeEvery, and every saga traced (the SDK's default
// sampler: parent-based, always on) with the OTLP/HTTP exporter sending to a
// receiver inside the benchmark process (OTLPSink).

// ScrapeEvery is how often the benchmark scrapes each service's /metrics
// while telemetry is on: more often than Prometheus usually does (15 s).
const ScrapeEvery = 5 * time.Second

// Telemetry modes.
const (
	TelemetryOff = "off"
	TelemetryOn  = "on"
)

// TelemetryResults compare the CPU a saga costs with metrics and tracing
// off and on.
type TelemetryResults struct {
	Machine Machine `json:"machine"`
	Sync    string  `json:"sync"`
	// RatePerSec is each stack's open-loop rate; MaxPerSec the closed-loop
	// rate of one stack it was derived from (0 if it was set).
	RatePerSec float64 `json:"rate_per_sec"`
	MaxPerSec  float64 `json:"max_per_sec,omitempty"`
	// SampleRatio is the share of sagas traced when on (1: every one).
	SampleRatio float64          `json:"sample_ratio"`
	WindowSec   float64          `json:"window_s"`
	Rounds      []TelemetryRound `json:"rounds"`
	// The medians over the rounds of each mode: CPU ms per saga of
	// nats-server and the four services together.
	CPUMsPerSagaOff float64 `json:"cpu_ms_per_saga_off"`
	CPUMsPerSagaOn  float64 `json:"cpu_ms_per_saga_on"`
	// OverheadPct is the median over the rounds of (on − off) ÷ off, in
	// percent, each round's on and off measured at the same time.
	OverheadPct float64  `json:"overhead_pct"`
	GoalPct     float64  `json:"goal_pct"`
	Met         bool     `json:"met"`
	Warnings    []string `json:"warnings,omitempty"`
}

// TelemetryRound is one open loop of one stack in one mode.
type TelemetryRound struct {
	Round       int     `json:"round"`
	Stack       string  `json:"stack"`
	Mode        string  `json:"mode"`
	SagasPerSec float64 `json:"sagas_per_sec"`
	Sagas       int     `json:"sagas"`
	// P99Ms is the open loop's p99 latency, place to terminal event.
	P99Ms float64 `json:"p99_ms"`
	// CPUMsPerSaga by process, and "total" (nats-server and the services).
	CPUMsPerSaga map[string]float64 `json:"cpu_ms_per_saga"`
	// SpansPerSaga is the spans the sink received per saga, by service and
	// "total"; Scrapes the /metrics scrapes made.
	SpansPerSaga map[string]float64 `json:"spans_per_saga,omitempty"`
	Scrapes      int64              `json:"scrapes,omitempty"`
}

// side is one of the two stacks.
type side struct {
	name     string
	st       *stack.Stack
	js       jetstream.JetStream
	loader   *Loader
	services []string
	addrs    map[string]string // service -> its HTTP address when on
	pprof    map[string]string // service -> its pprof address, with Options.Profile
}

// RunTelemetry measures the observability cost: Options.TelemetryRounds
// rounds, each an open loop of Options.TelemetryDuration on two stacks at
// once, one with metrics and tracing off and one with them on, after a
// restart of their services in that mode and a short warm-up.
func RunTelemetry(ctx context.Context, o Options, prog *Progress) (*TelemetryResults, error) {
	sink, err := StartOTLPSink()
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	warmup := 2 * time.Second
	total := time.Duration(o.TelemetryRounds)*(warmup+o.TelemetryDuration) + 5*time.Second
	sides := make([]*side, 2)
	for i, name := range []string{"A", "B"} {
		sd, closeSide, err := newSide(ctx, name, o, prog, total)
		if err != nil {
			return nil, err
		}
		defer closeSide()
		sides[i] = sd
	}

	res := &TelemetryResults{Machine: machine(o.Repo), Sync: SyncAlways, RatePerSec: o.TelemetryRate,
		WindowSec: o.TelemetryDuration.Seconds(), GoalPct: 5, SampleRatio: o.TelemetrySample}
	if res.SampleRatio <= 0 || res.SampleRatio > 1 {
		res.SampleRatio = 1
	}
	if res.RatePerSec <= 0 {
		// A quarter of one stack's closed-loop maximum each: the two
		// together offer half of what one could take.
		cl := sides[0].loader.ClosedLoop(ctx, "telemetry: maximum", o.Workers, 5*time.Second, nil)
		res.MaxPerSec = round(cl.AchievedPerSec, 0)
		res.RatePerSec = max(round(cl.AchievedPerSec/4, 0), 10)
		prog.Logf("telemetry: closed loop %.0f sagas/s on one stack; each of the two offers %.0f/s", res.MaxPerSec, res.RatePerSec)
	}
	var overheads []float64
	for i := range o.TelemetryRounds {
		modes := []string{TelemetryOff, TelemetryOn}
		if i%2 == 1 {
			modes = []string{TelemetryOn, TelemetryOff}
		}
		rounds, err := telemetryRound(ctx, fmt.Sprintf("r%d", i+1), sides, modes, sink, res.RatePerSec, res.SampleRatio, o, warmup, prog)
		if err != nil {
			return nil, fmt.Errorf("round %d: %w", i+1, err)
		}
		byMode := map[string]float64{}
		for _, r := range rounds {
			r.Round = i + 1
			res.Rounds = append(res.Rounds, r)
			byMode[r.Mode] = r.CPUMsPerSaga["total"]
			prog.Logf("telemetry round %d, stack %s %s: %d sagas at %.0f/s, %.3f CPU ms/saga (nats and services), p99 %.1f ms",
				i+1, r.Stack, r.Mode, r.Sagas, r.SagasPerSec, r.CPUMsPerSaga["total"], r.P99Ms)
		}
		if byMode[TelemetryOff] > 0 {
			overheads = append(overheads, 100*(byMode[TelemetryOn]-byMode[TelemetryOff])/byMode[TelemetryOff])
		}
	}
	res.CPUMsPerSagaOff = round(medianCPU(res.Rounds, TelemetryOff), 3)
	res.CPUMsPerSagaOn = round(medianCPU(res.Rounds, TelemetryOn), 3)
	res.OverheadPct = round(median(overheads), 2)
	res.Met = res.OverheadPct <= res.GoalPct
	res.Machine.LoadAvgEnd = loadAvg()
	if busy := float64(res.Machine.CPUs) / 2; res.Machine.LoadAvgStart > busy {
		res.Warnings = append(res.Warnings, fmt.Sprintf("the machine was busy (load average %.2f before the run on %d CPUs): other work skews these figures",
			res.Machine.LoadAvgStart, res.Machine.CPUs))
	}
	return res, nil
}

// newSide starts a stack, its loader and its workload (stock for sagas at
// up to 10,000/s for d).
func newSide(ctx context.Context, name string, o Options, prog *Progress, d time.Duration) (*side, func(), error) {
	st, err := stack.New(stack.Config{Repo: o.Repo, Bin: o.Bin, WorkDir: o.WorkDir, Sync: SyncAlways, Keep: o.Keep,
		Env: []string{"CHOREO_SAGA_TIMEOUT=" + o.SagaTimeout.String(), "CHOREO_SHIPPING_COUNTRIES=" + strings.Join(ServedCountries, ",")}})
	if err != nil {
		return nil, nil, err
	}
	closers := []func(){func() { st.Close() }, func() { st.StopAll(10 * time.Second) }}
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	if o.Keep {
		prog.Logf("stack %s: run directory %s", name, st.Dir())
	}
	sd := &side{name: name, st: st, addrs: map[string]string{},
		services: slices.DeleteFunc(st.Services(), func(s string) bool { return s == st.NATS() })}
	for _, svc := range sd.services {
		port, err := freePort()
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		sd.addrs[svc] = "127.0.0.1:" + strconv.Itoa(port)
	}
	if o.Profile != "" {
		if sd.pprof, err = servePprof(st); err != nil {
			closeAll()
			return nil, nil, err
		}
		delete(sd.pprof, st.NATS())
	}
	if err := st.StartAll(ctx); err != nil {
		closeAll()
		return nil, nil, err
	}
	loader, js, closeLoader, err := newLoader(st, "choreo bench telemetry "+name, "t"+strings.ToLower(name)+nuid.Next()[16:], o, prog)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	closers = append(closers, closeLoader)
	sd.loader, sd.js = loader, js
	perSKU := int64(10_000*d.Seconds()*4) / int64(o.SKUs)
	if _, err := loader.Workload.Setup(ctx, loader.NC, perSKU); err != nil {
		closeAll()
		return nil, nil, err
	}
	return sd, closeAll, nil
}

// telemetryRound restarts each side's services in its mode and measures one
// open loop on both at once.
func telemetryRound(ctx context.Context, roundName string, sides []*side, modes []string, sink *OTLPSink, rate, sample float64, o Options,
	warmup time.Duration, prog *Progress) ([]TelemetryRound, error) {
	var scrapes [2]atomic.Int64
	for i, sd := range sides {
		if err := sd.restart(ctx, modes[i], sink, sample); err != nil {
			return nil, fmt.Errorf("stack %s: %w", sd.name, err)
		}
		if modes[i] == TelemetryOn {
			defer scrape(ctx, sd.addrs, &scrapes[i])()
		}
	}
	both := func(f func(i int, sd *side) error) error {
		errs := make([]error, len(sides))
		var wg sync.WaitGroup
		for i, sd := range sides {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = f(i, sd)
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	_ = both(func(i int, sd *side) error {
		sd.loader.ClosedLoop(ctx, "telemetry "+sd.name+" "+modes[i]+" warm-up", o.Workers/2, warmup, nil)
		return nil
	})
	settle(ctx, sides, sink, prog)
	before := make([]snapshot, len(sides))
	scrapesBefore := make([]int64, len(sides))
	byBefore, spansBefore := sink.Spans()
	if err := both(func(i int, sd *side) (err error) {
		scrapesBefore[i] = scrapes[i].Load()
		before[i], err = takeSnapshot(ctx, sd.st, sd.js)
		return err
	}); err != nil {
		return nil, err
	}
	loops := make([]PhaseResult, len(sides))
	if err := both(func(i int, sd *side) (err error) {
		if sd.pprof != nil {
			// Where the cost goes: the services' profiles over the open loop.
			dir := filepath.Join(o.Profile, "telemetry", fmt.Sprintf("%s-%s-%s", roundName, sd.name, modes[i]))
			wait := profileServices(ctx, sd.pprof, dir, o.TelemetryDuration)
			defer func() { err = errors.Join(err, wait()) }()
		}
		loops[i], err = sd.loader.OpenLoop(ctx, "telemetry "+sd.name+" "+modes[i], "o", rate, o.TelemetryDuration)
		return err
	}); err != nil {
		return nil, err
	}
	settle(ctx, sides, sink, prog)
	byAfter, spansAfter := sink.Spans()
	out := make([]TelemetryRound, len(sides))
	if err := both(func(i int, sd *side) error {
		after, err := takeSnapshot(ctx, sd.st, sd.js)
		if err != nil {
			return err
		}
		ol := loops[i]
		sagas := ol.Placed - ol.PlaceErrors
		r := TelemetryRound{Stack: sd.name, Mode: modes[i], SagasPerSec: ol.AchievedPerSec, Sagas: sagas, P99Ms: ol.Latency.P99,
			CPUMsPerSaga: map[string]float64{}, Scrapes: scrapes[i].Load() - scrapesBefore[i]}
		n := max(float64(sagas), 1)
		var cpu float64
		for name, u := range after.usage {
			if name == "bench" {
				continue
			}
			d := u.CPUSeconds - before[i].usage[name].CPUSeconds
			cpu += d
			r.CPUMsPerSaga[name] = round(d*1000/n, 3)
		}
		r.CPUMsPerSaga["total"] = round(cpu*1000/n, 3)
		if r.Mode == TelemetryOn { // the only one sending spans
			r.SpansPerSaga = map[string]float64{"total": round(float64(spansAfter-spansBefore)/n, 2)}
			for svc, k := range byAfter {
				r.SpansPerSaga[svc] = round(float64(k-byBefore[svc])/n, 2)
			}
		}
		if ol.PlaceErrors > 0 || ol.Unfinished > 0 || ol.Unexpected > 0 {
			prog.Logf("telemetry %s %s: %d place errors, %d unfinished, %d unexpected", sd.name, r.Mode, ol.PlaceErrors, ol.Unfinished, ol.Unexpected)
		}
		out[i] = r
		return sd.st.Dead()
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// restart restarts the side's services (not nats-server) in mode, tracing
// the share sample of the sagas when on.
func (sd *side) restart(ctx context.Context, mode string, sink *OTLPSink, sample float64) error {
	for _, svc := range sd.services {
		env := []string{"CHOREO_HTTP_ADDR=off", "OTEL_TRACES_EXPORTER=none", "OTEL_EXPORTER_OTLP_ENDPOINT="}
		if mode == TelemetryOn {
			env = []string{"CHOREO_HTTP_ADDR=" + sd.addrs[svc], "OTEL_TRACES_EXPORTER=otlp", "OTEL_EXPORTER_OTLP_ENDPOINT=" + sink.Endpoint(),
				"OTEL_TRACES_SAMPLER=parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG=" + strconv.FormatFloat(sample, 'f', -1, 64)}
		}
		if err := sd.st.Setenv(svc, env...); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	for _, svc := range sd.services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = sd.st.Stop(svc, 10*time.Second)
		}()
	}
	wg.Wait()
	if err := sd.st.EnsureRunning(ctx); err != nil {
		return err
	}
	// One saga through (completed or cancelled, as the mix has it) proves
	// the chain before anything is measured.
	if _, err := sd.loader.One(ctx, "t"+mode); err != nil {
		return fmt.Errorf("first saga: %w", err)
	}
	return nil
}

// settle waits until both sides' streams stop growing (every event handled)
// and the sink has received every span (the exporters send a batch at least
// every 5 s: it waits until no span came for 6 s, or at once if none ever
// did).
func settle(ctx context.Context, sides []*side, sink *OTLPSink, prog *Progress) {
	for _, sd := range sides {
		if _, ok := quiesce(ctx, sd.js, time.Minute); !ok {
			prog.Logf("stack %s: streams still growing after a minute", sd.name)
		}
	}
	_, last := sink.Spans()
	quietSince := time.Now()
	for ctx.Err() == nil && time.Since(quietSince) < 6*time.Second {
		time.Sleep(250 * time.Millisecond)
		if _, n := sink.Spans(); n != last {
			last, quietSince = n, time.Now()
		} else if n == 0 {
			return // nothing was ever sent: tracing has been off
		}
	}
}

// scrape GETs each service's /metrics every ScrapeEvery until stopped.
func scrape(ctx context.Context, addrs map[string]string, n *atomic.Int64) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(ScrapeEvery)
		defer t.Stop()
		cl := &http.Client{Timeout: 5 * time.Second}
		for {
			for _, addr := range addrs {
				if resp, err := cl.Get("http://" + addr + "/metrics"); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					n.Add(1)
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

func medianCPU(rounds []TelemetryRound, mode string) float64 {
	var xs []float64
	for _, r := range rounds {
		if r.Mode == mode {
			xs = append(xs, r.CPUMsPerSaga["total"])
		}
	}
	return median(xs)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Markdown is the comparison as a Markdown table.
func (r *TelemetryResults) Markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m := r.Machine
	w("## Choreo benchmark — the cost of metrics and tracing\n\n")
	w("%s · %s · %s · %d CPUs (%s) · commit %s · load average %.2f at the start, %.2f at the end\n\n",
		m.Date, m.GoVersion, m.OSArch, m.CPUs, m.CPUModel, m.Commit, m.LoadAvgStart, m.LoadAvgEnd)
	rate := fmt.Sprintf("%.0f sagas/s each", r.RatePerSec)
	if r.MaxPerSec > 0 {
		rate += fmt.Sprintf(" (a quarter of the %.0f/s of a closed loop on one stack)", r.MaxPerSec)
	}
	traced := "every saga traced"
	if r.SampleRatio < 1 {
		traced = fmt.Sprintf("%g%% of the sagas traced (`parentbased_traceidratio`)", 100*r.SampleRatio)
	}
	w("Two stacks side by side, one with metrics and tracing **off**, one **on**, under open loops at %s at the same time,\n"+
		"%.0f s per round, the modes swapped between rounds (the services restarted in their mode), JetStream `sync_interval: always`.\n"+
		"**off**: no HTTP endpoint, no trace exporter (trace contexts are still carried). **on**: `/metrics` scraped every %s,\n"+
		"%s, spans exported with OTLP/HTTP to a receiver inside the benchmark process. CPU is\n"+
		"nats-server's and the four services', over each round's sagas until all their events are handled; the benchmark process\n"+
		"(load and receiver) is not counted. The overhead is the median over the rounds of on against off measured at the same time.\n\n",
		rate, r.WindowSec, ScrapeEvery, traced)
	w("| round | stack | mode | sagas | p99 ms | CPU ms/saga | order | payment | inventory | shipping | nats | spans/saga | scrapes |\n")
	w("| --: | --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |\n")
	for _, rd := range r.Rounds {
		spans := "-"
		if v, ok := rd.SpansPerSaga["total"]; ok {
			spans = fmt.Sprintf("%.1f", v)
		}
		c := rd.CPUMsPerSaga
		w("| %d | %s | %s | %d | %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %s | %d |\n", rd.Round, rd.Stack, rd.Mode, rd.Sagas, num(rd.P99Ms), c["total"],
			c["order"], c["payment"], c["inventory"], c["shipping"], c["nats"], spans, rd.Scrapes)
	}
	w("\n| CPU ms per saga | off (median) | on (median) | overhead (median of the rounds) | goal |\n| --- | --: | --: | --: | --- |\n")
	w("| nats-server and the services | %.3f | %.3f | **%+.1f%%** | ≤ %.0f%% %s |\n", r.CPUMsPerSagaOff, r.CPUMsPerSagaOn, r.OverheadPct, r.GoalPct, yesNo(r.Met))
	warnings(&b, r.Warnings)
	return b.String()
}

// Write puts results-telemetry.json and results-telemetry.md in dir.
func (r *TelemetryResults) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results-telemetry.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "results-telemetry.md"), []byte(r.Markdown()), 0o644)
}
