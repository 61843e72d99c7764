package bench

import (
	"context"
	"encoding/json"
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
)

// The observability cost: the same open loop with the services' metrics
// and tracing off and on, in rounds that alternate, on one stack. An open
// loop at a fixed rate (half the closed-loop maximum unless set) gives both
// modes the same work at the same pace: a closed loop would let the slower
// mode run at a lower rate, with smaller group commits and batches, and
// charge it for that too. CPU is measured over exactly the sagas of the
// round, from the first order sent until every event they caused is
// handled.
//
// Off is how the stack runs by default in the harness: no HTTP endpoint
// (so no metrics are kept) and no trace exporter (trace contexts are still
// carried, as they always are). On is every service with its HTTP endpoint,
// scraped every ScrapeEvery, and tracing every saga (the SDK's default
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
	// RatePerSec is the open loop's offered rate; MaxPerSec the closed-loop
	// rate it was derived from (0 if it was set).
	RatePerSec float64          `json:"rate_per_sec"`
	MaxPerSec  float64          `json:"max_per_sec,omitempty"`
	WindowSec  float64          `json:"window_s"`
	Rounds     []TelemetryRound `json:"rounds"`
	// The medians over the rounds of each mode: CPU ms per saga of
	// nats-server and the four services together.
	CPUMsPerSagaOff float64 `json:"cpu_ms_per_saga_off"`
	CPUMsPerSagaOn  float64 `json:"cpu_ms_per_saga_on"`
	// OverheadPct is (on − off) ÷ off, in percent.
	OverheadPct float64  `json:"overhead_pct"`
	GoalPct     float64  `json:"goal_pct"`
	Met         bool     `json:"met"`
	Warnings    []string `json:"warnings,omitempty"`
}

// TelemetryRound is one open loop in one mode.
type TelemetryRound struct {
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

// RunTelemetry measures the observability cost: Options.TelemetryRounds
// rounds of each mode, each an open loop of Options.TelemetryDuration after
// a restart of the services in that mode and a short warm-up.
func RunTelemetry(ctx context.Context, o Options, prog *Progress) (*TelemetryResults, error) {
	sink, err := StartOTLPSink()
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	st, err := stack.New(stack.Config{Repo: o.Repo, Bin: o.Bin, WorkDir: o.WorkDir, Sync: SyncAlways, Keep: o.Keep,
		Env: []string{"CHOREO_SAGA_TIMEOUT=" + o.SagaTimeout.String(), "CHOREO_SHIPPING_COUNTRIES=" + strings.Join(ServedCountries, ",")}})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	defer st.StopAll(10 * time.Second)
	if o.Keep {
		prog.Logf("run directory: %s", st.Dir())
	}
	services := slices.DeleteFunc(st.Services(), func(s string) bool { return s == st.NATS() })
	addrs := map[string]string{}
	for _, svc := range services {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		addrs[svc] = "127.0.0.1:" + strconv.Itoa(port)
	}
	if err := st.StartAll(ctx); err != nil {
		return nil, err
	}
	loader, js, closeLoader, err := newLoader(st, "choreo bench telemetry", "t", o, prog)
	if err != nil {
		return nil, err
	}
	defer closeLoader()
	nc, w := loader.NC, loader.Workload
	warmup := 2 * time.Second
	total := time.Duration(2*o.TelemetryRounds) * (warmup + o.TelemetryDuration)
	perSKU := int64(10_000*total.Seconds()*4) / int64(o.SKUs)
	if _, err := w.Setup(ctx, nc, perSKU); err != nil {
		return nil, err
	}

	res := &TelemetryResults{Machine: machine(o.Repo), Sync: SyncAlways, RatePerSec: o.TelemetryRate,
		WindowSec: o.TelemetryDuration.Seconds(), GoalPct: 5}
	if res.RatePerSec <= 0 {
		// Half the closed-loop maximum, with telemetry off (as started).
		cl := loader.ClosedLoop(ctx, "telemetry: maximum", o.Workers, 5*time.Second, nil)
		res.MaxPerSec = round(cl.AchievedPerSec, 0)
		res.RatePerSec = max(round(cl.AchievedPerSec/2, 0), 10)
		prog.Logf("telemetry: closed loop %.0f sagas/s; the rounds offer %.0f/s", res.MaxPerSec, res.RatePerSec)
	}
	for i := range o.TelemetryRounds {
		modes := []string{TelemetryOff, TelemetryOn}
		if i%2 == 1 {
			modes = []string{TelemetryOn, TelemetryOff} // alternate, so drift favours neither
		}
		for _, mode := range modes {
			r, err := telemetryRound(ctx, st, js, loader, sink, services, addrs, mode, res.RatePerSec, o, warmup, prog)
			if err != nil {
				return nil, fmt.Errorf("round %d (%s): %w", i+1, mode, err)
			}
			res.Rounds = append(res.Rounds, r)
			prog.Logf("telemetry %s: %d sagas at %.0f/s, %.3f CPU ms/saga (nats and services), p99 %.1f ms", mode, r.Sagas, r.SagasPerSec, r.CPUMsPerSaga["total"], r.P99Ms)
		}
	}
	res.CPUMsPerSagaOff = round(medianCPU(res.Rounds, TelemetryOff), 3)
	res.CPUMsPerSagaOn = round(medianCPU(res.Rounds, TelemetryOn), 3)
	if res.CPUMsPerSagaOff > 0 {
		res.OverheadPct = round(100*(res.CPUMsPerSagaOn-res.CPUMsPerSagaOff)/res.CPUMsPerSagaOff, 2)
	}
	res.Met = res.OverheadPct <= res.GoalPct
	res.Machine.LoadAvgEnd = loadAvg()
	if busy := float64(res.Machine.CPUs) / 2; res.Machine.LoadAvgStart > busy {
		res.Warnings = append(res.Warnings, fmt.Sprintf("the machine was busy (load average %.2f before the run on %d CPUs): other work skews these figures",
			res.Machine.LoadAvgStart, res.Machine.CPUs))
	}
	return res, nil
}

// telemetryRound restarts the services in mode and measures one open loop.
func telemetryRound(ctx context.Context, st *stack.Stack, js jetstream.JetStream, loader *Loader, sink *OTLPSink,
	services []string, addrs map[string]string, mode string, rate float64, o Options, warmup time.Duration, prog *Progress) (TelemetryRound, error) {
	for _, svc := range services {
		env := []string{"CHOREO_HTTP_ADDR=off", "OTEL_TRACES_EXPORTER=none", "OTEL_EXPORTER_OTLP_ENDPOINT="}
		if mode == TelemetryOn {
			env = []string{"CHOREO_HTTP_ADDR=" + addrs[svc], "OTEL_TRACES_EXPORTER=otlp", "OTEL_EXPORTER_OTLP_ENDPOINT=" + sink.Endpoint()}
		}
		if err := st.Setenv(svc, env...); err != nil {
			return TelemetryRound{}, err
		}
	}
	// Restart the services (not nats-server) in the mode.
	var wg sync.WaitGroup
	for _, svc := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = st.Stop(svc, 10*time.Second)
		}()
	}
	wg.Wait()
	if err := st.EnsureRunning(ctx); err != nil {
		return TelemetryRound{}, err
	}
	if status, err := loader.One(ctx, "t"+mode); err != nil || status != "completed" {
		return TelemetryRound{}, fmt.Errorf("first saga: %s %v", status, err)
	}
	var scrapes atomic.Int64
	stopScraping := func() {}
	if mode == TelemetryOn {
		stopScraping = scrape(ctx, addrs, &scrapes)
	}
	defer stopScraping()
	loader.ClosedLoop(ctx, "telemetry "+mode+" warm-up", o.Workers, warmup, nil)
	settle(ctx, js, sink, prog)
	before, err := takeSnapshot(ctx, st, js)
	if err != nil {
		return TelemetryRound{}, err
	}
	byBefore, spansBefore := sink.Spans()
	scrapesBefore := scrapes.Load()
	ol, err := loader.OpenLoop(ctx, "telemetry "+mode, rate, o.TelemetryDuration)
	if err != nil {
		return TelemetryRound{}, err
	}
	settle(ctx, js, sink, prog)
	after, err := takeSnapshot(ctx, st, js)
	if err != nil {
		return TelemetryRound{}, err
	}
	byAfter, spansAfter := sink.Spans()
	sagas := ol.Placed - ol.PlaceErrors
	r := TelemetryRound{Mode: mode, SagasPerSec: ol.AchievedPerSec, Sagas: sagas, P99Ms: ol.Latency.P99,
		CPUMsPerSaga: map[string]float64{}, Scrapes: scrapes.Load() - scrapesBefore}
	n := max(float64(sagas), 1)
	var cpu float64
	for name, u := range after.usage {
		if name == "bench" {
			continue
		}
		d := u.CPUSeconds - before.usage[name].CPUSeconds
		cpu += d
		r.CPUMsPerSaga[name] = round(d*1000/n, 3)
	}
	r.CPUMsPerSaga["total"] = round(cpu*1000/n, 3)
	if mode == TelemetryOn {
		r.SpansPerSaga = map[string]float64{"total": round(float64(spansAfter-spansBefore)/n, 2)}
		for svc, k := range byAfter {
			r.SpansPerSaga[svc] = round(float64(k-byBefore[svc])/n, 2)
		}
	}
	if ol.PlaceErrors > 0 || ol.Unfinished > 0 || ol.Unexpected > 0 {
		prog.Logf("telemetry %s: %d place errors, %d unfinished, %d unexpected", mode, ol.PlaceErrors, ol.Unfinished, ol.Unexpected)
	}
	return r, st.Dead()
}

// settle waits until the streams stop growing (every event handled) and the
// sink has received every span (the exporters send a batch at least every
// 5 s: it waits until no span came for 6 s, or at once with tracing off).
func settle(ctx context.Context, js jetstream.JetStream, sink *OTLPSink, prog *Progress) {
	if _, ok := quiesce(ctx, js, time.Minute); !ok {
		prog.Logf("streams still growing after a minute")
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
	if len(xs) == 0 {
		return 0
	}
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
	rate := fmt.Sprintf("%.0f sagas/s", r.RatePerSec)
	if r.MaxPerSec > 0 {
		rate += fmt.Sprintf(" (half the %.0f/s of a closed loop on the same stack)", r.MaxPerSec)
	}
	w("Open loop at %s, %.0f s per round, JetStream `sync_interval: always`, rounds alternating on one stack, the services\n"+
		"restarted in each mode. **off**: no HTTP endpoint, no trace exporter (trace contexts are still carried). **on**: `/metrics`\n"+
		"scraped every %s, every saga traced (parent-based always-on sampler) and exported with OTLP/HTTP to a receiver inside\n"+
		"the benchmark process. CPU is nats-server's and the four services', over each round's sagas until all their events are\n"+
		"handled; the benchmark process (load and receiver) is not counted.\n\n",
		rate, r.WindowSec, ScrapeEvery)
	w("| round | mode | sagas | p99 ms | CPU ms/saga | order | payment | inventory | shipping | nats | spans/saga | scrapes |\n")
	w("| --: | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |\n")
	for i, rd := range r.Rounds {
		spans := "-"
		if v, ok := rd.SpansPerSaga["total"]; ok {
			spans = fmt.Sprintf("%.1f", v)
		}
		c := rd.CPUMsPerSaga
		w("| %d | %s | %d | %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %s | %d |\n", i/2+1, rd.Mode, rd.Sagas, num(rd.P99Ms), c["total"],
			c["order"], c["payment"], c["inventory"], c["shipping"], c["nats"], spans, rd.Scrapes)
	}
	w("\n| CPU ms per saga (median of the rounds) | off | on | overhead | goal |\n| --- | --: | --: | --: | --- |\n")
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
