package bench_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/bench"
	"github.com/choreo-dev/choreo/stack/stacktest"
)

func TestMain(m *testing.M) { stacktest.Main(m) }

// A short run of the whole benchmark against the real processes: the
// runner starts the Procfile, the loops see every saga end, the stack stops
// cleanly and the numbers hang together. Speed is reported, never asserted.
func TestRunEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack as processes")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command to build the binaries")
	}
	repo := stacktest.Repo(t)
	// The Procfile's programs, from the module's sources, so the test works
	// on a fresh clone without `make build`.
	bin := stacktest.Bin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rates, _ := bench.ParseRates("20,50%")
	traced, _ := bench.ParseRates("20")
	o := bench.Options{TraceRates: traced,
		Repo: repo, Bin: bin, WorkDir: t.TempDir(), Out: t.TempDir(),
		Duration: 2 * time.Second, OpenDuration: time.Second, SagaTimeout: 30 * time.Second,
		Workers: 8, Rates: rates, RatesText: "20,50%", Customers: 10, SKUs: 5,
		Raw:     bench.RawConfig{Duration: 300 * time.Millisecond, Window: 256, BatchSize: 10, Concurrency: 2},
		Profile: t.TempDir(),
	}
	var prog *bench.Progress
	if testing.Verbose() {
		prog = bench.NewProgress(os.Stderr)
	}
	r, err := bench.Run(ctx, o, bench.SyncAlways, prog)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", r.Markdown())

	cl := r.ClosedLoop
	if cl.Terminal == 0 || r.SagasPerSec <= 0 {
		t.Fatalf("closed loop ended no saga: %+v", cl)
	}
	if cl.Terminal != cl.Placed || cl.Unfinished != 0 || cl.PlaceErrors != 0 || cl.Unexpected != 0 {
		t.Errorf("closed loop: %+v", cl)
	}
	if len(r.OpenLoop) != 2 {
		t.Fatalf("open loop phases = %d, want 2", len(r.OpenLoop))
	}
	for _, p := range r.OpenLoop {
		if p.Terminal != p.Placed || p.Unexpected != 0 || p.Latency.Count != p.Terminal || p.Latency.P99 < p.Latency.P50 {
			t.Errorf("open loop %v/s: %+v", p.OfferedPerSec, p)
		}
	}
	// A completed saga is 7 events, a compensated one 3 or 9.
	if r.EventsPerSaga < 3 || r.EventsPerSaga > 9 {
		t.Errorf("events per saga = %v", r.EventsPerSaga)
	}
	if r.RawAsyncPerSec <= 0 || r.RawBatchPerSec <= 0 || r.RatioToRaw <= 0 {
		t.Errorf("raw: async %v batch %v ratio %v", r.RawAsyncPerSec, r.RawBatchPerSec, r.RatioToRaw)
	}
	for _, name := range []string{"nats", "order", "payment", "inventory", "shipping"} {
		if r.MaxRSSMiB[name] <= 0 || r.CPUSeconds[name] <= 0 {
			t.Errorf("%s: rss %v MiB, cpu %v s", name, r.MaxRSSMiB[name], r.CPUSeconds[name])
		}
		if a, f := r.MaxAnonRSSMiB[name], r.MaxFileRSSMiB[name]; a <= 0 || f <= 0 || max(a, f) > r.MaxRSSMiB[name]+1 {
			// Each part's peak is at most the peak of the whole (1 MiB for
			// rounding); the two may peak at different times.
			t.Errorf("%s: peak anon %v + file %v MiB, peak rss %v MiB", name, a, f, r.MaxRSSMiB[name])
		}
		if code, ok := r.Exits[name]; !ok || code != 0 {
			t.Errorf("%s exit code %d (%v)", name, code, ok)
		}
		if name != "nats" && r.BboltCommits[name] <= 0 {
			t.Errorf("%s: %d bbolt commits", name, r.BboltCommits[name])
		}
	}
	for _, name := range []string{"order", "payment", "inventory", "shipping"} {
		// -profile: a CPU profile of each service over the closed loop.
		if fi, err := os.Stat(filepath.Join(o.Profile, bench.SyncAlways, name+".pprof")); err != nil || fi.Size() == 0 {
			t.Errorf("%s: no CPU profile (%v)", name, err)
		}
	}
	if len(r.Warnings) > 0 {
		t.Logf("warnings: %v", r.Warnings)
	}
	// The floor: the disk, the publish round trip, the raw chain at each rate.
	if r.Floor.Fdatasync.Count == 0 || r.Floor.PublishRTT.Count == 0 || r.Floor.PublishRTT.P50 <= 0 {
		t.Errorf("floor: fdatasync %+v, publish %+v", r.Floor.Fdatasync, r.Floor.PublishRTT)
	}
	if len(r.Floor.Chain) != len(r.OpenLoop) {
		t.Errorf("raw chain ran at %d rates, the saga at %d", len(r.Floor.Chain), len(r.OpenLoop))
	}
	for _, c := range r.Floor.Chain {
		if c.Placed == 0 || c.Terminal != c.Placed || c.Latency.P50 <= 0 {
			t.Errorf("raw chain %v/s: %+v", c.OfferedPerSec, c)
		}
	}
	// The traced rate's sagas, stage by stage: the stages on the path add
	// up to the saga's latency.
	if len(r.Breakdowns) != 1 || r.Breakdowns[0].OfferedPerSec != 20 || r.Breakdowns[0].Sagas == 0 {
		t.Fatalf("breakdowns: %+v", r.Breakdowns)
	}
	b := r.Breakdowns[0]
	var sum float64
	for _, st := range b.Stages {
		if st.Critical {
			sum += st.Saga.Mean
		}
	}
	if d := sum - b.Total.Mean; d < -0.05 || d > 0.05 {
		t.Errorf("stages add up to %.3f ms, the sagas' mean is %.3f ms", sum, b.Total.Mean)
	}
	if r.BboltCommitsPerSaga["total"] <= 0 {
		t.Errorf("bbolt commits per saga = %v", r.BboltCommitsPerSaga)
	}
	if err := r.Write(o.Out); err != nil {
		t.Fatal(err)
	}
}

// The secure profile's variant: the same run over TLS with the load
// generator as the client identity and the event tracker as the observer;
// no raw ceiling; compared with a plain run, its Markdown says what TLS and
// authentication cost, and it is written to results-secure.*.
func TestRunSecureEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack as processes")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command to build the binaries")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rates, _ := bench.ParseRates("20")
	o := bench.Options{
		Repo: stacktest.Repo(t), Bin: stacktest.Bin(t), WorkDir: t.TempDir(), Out: t.TempDir(),
		Duration: 2 * time.Second, OpenDuration: time.Second, SagaTimeout: 30 * time.Second,
		Workers: 8, Rates: rates, RatesText: "20", Customers: 10, SKUs: 5,
	}
	r, err := bench.RunSecure(ctx, o, bench.SyncAlways, nil)
	if err != nil {
		t.Fatal(err)
	}
	cl := r.ClosedLoop
	if r.Profile != bench.ProfileSecure || cl.Terminal == 0 || cl.Terminal != cl.Placed || cl.PlaceErrors != 0 || cl.Unexpected != 0 {
		t.Fatalf("secure closed loop (profile %q): %+v", r.Profile, cl)
	}
	if len(r.OpenLoop) != 1 || r.OpenLoop[0].Terminal != r.OpenLoop[0].Placed {
		t.Errorf("secure open loop: %+v", r.OpenLoop)
	}
	if r.RawAsyncPerSec != 0 || r.CPUMsPerSaga["total"] <= 0 || r.CPUMsPerSaga["nats"] <= 0 {
		t.Errorf("raw %v, CPU per saga %v", r.RawAsyncPerSec, r.CPUMsPerSaga)
	}
	for name, code := range r.Exits {
		if code != 0 {
			t.Errorf("%s exit code %d", name, code)
		}
	}
	plain := *r
	plain.Profile, plain.SagasPerSec = bench.ProfilePlain, 2*r.SagasPerSec
	r.SecureCost = bench.CompareSecure(&plain, r)
	md := r.Markdown()
	for _, want := range []string{"secure profile (TLS", "### Cost of TLS and authentication", "| closed loop sagas/s |", "-50.0%", "CPU ms per saga: all processes"} {
		if !strings.Contains(md, want) {
			t.Errorf("the secure run's Markdown has no %q:\n%s", want, md)
		}
	}
	if err := r.Write(o.Out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(o.Out, "results-secure.json")); err != nil {
		t.Error(err)
	}
}

func TestRunTelemetryEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack as processes")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command to build the binaries")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	o := bench.Options{
		Repo: stacktest.Repo(t), Bin: stacktest.Bin(t), WorkDir: t.TempDir(), Out: t.TempDir(),
		SagaTimeout: 30 * time.Second, Workers: 8, Customers: 10, SKUs: 5,
		TelemetryRounds: 1, TelemetryDuration: 6 * time.Second, TelemetryRate: 20,
	}
	var prog *bench.Progress
	if testing.Verbose() {
		prog = bench.NewProgress(os.Stderr)
	}
	r, err := bench.RunTelemetry(ctx, o, prog)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", r.Markdown())
	if len(r.Rounds) != 2 { // one round: stack A off, stack B on
		t.Fatalf("%d rounds, want off and on", len(r.Rounds))
	}
	for _, rd := range r.Rounds {
		if rd.Sagas < 100 || rd.CPUMsPerSaga["total"] <= 0 {
			t.Errorf("%s: %d sagas, %v CPU ms/saga", rd.Mode, rd.Sagas, rd.CPUMsPerSaga["total"])
		}
		switch rd.Mode {
		case bench.TelemetryOff:
			if rd.SpansPerSaga != nil || rd.Scrapes != 0 {
				t.Errorf("off: spans %v, scrapes %d", rd.SpansPerSaga, rd.Scrapes)
			}
		case bench.TelemetryOn:
			for _, svc := range []string{"order", "payment", "inventory", "shipping"} {
				if rd.SpansPerSaga[svc] <= 0 {
					t.Errorf("on: no spans of %s: %v", svc, rd.SpansPerSaga)
				}
			}
			if rd.Scrapes == 0 {
				t.Error("on: /metrics never scraped")
			}
		}
	}
	if r.CPUMsPerSagaOff <= 0 || r.CPUMsPerSagaOn <= 0 {
		t.Errorf("medians off %v, on %v", r.CPUMsPerSagaOff, r.CPUMsPerSagaOn)
	}
	if _, err := os.Stat(filepath.Join(o.Out, "results-telemetry.md")); err == nil {
		t.Error("RunTelemetry wrote files itself; Main writes them")
	}
}
