package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/choreo-dev/choreo/shared/natsauth"
	"github.com/choreo-dev/choreo/stack"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Sync settings of the JetStream store, as results.json names them.
const (
	SyncAlways  = stack.SyncAlways  // sync_interval: always — fsync before every PubAck
	SyncDefault = stack.SyncDefault // no sync_interval: nats-server's default (fsync every 2 minutes)
)

// Options are the benchmark's settings; Main fills them from flags.
type Options struct {
	Repo, Out, Bin, WorkDir string
	Syncs                   []string
	Duration, OpenDuration  time.Duration
	Warmup, SagaTimeout     time.Duration
	Workers                 int
	Rates                   []Rate
	RatesText               string
	Raw                     RawConfig
	Customers, SKUs         int
	Keep                    bool
	// Profile, if set, is a directory: CPU profiles of each service over the
	// closed loop go to Profile/<sync>/<service>.pprof, and over each
	// telemetry round to Profile/telemetry/r<N>-<stack>-<mode>/.
	Profile string
	// JSON prints each run's results as one line of JSON instead of Markdown.
	JSON bool
	// Secure also runs the secure profile (TLS, an nkey identity per
	// process, least privilege; stack.Config.Secure) with sync always, and
	// reports what it costs against the plain run with sync always.
	Secure bool
	// TelemetryRounds is how many closed loops of each mode the
	// observability cost is measured over (RunTelemetry); 0 skips it.
	TelemetryRounds int
	// TelemetryDuration is each of those loops' send time.
	TelemetryDuration time.Duration
	// TelemetryRate is their offered rate, sagas/s; 0 means a quarter of
	// the closed-loop maximum of one stack.
	TelemetryRate float64
	// TelemetrySample is the share of sagas traced when on; 0 or 1: all.
	TelemetrySample float64
	// Nodes and Partitions run the stack as a JetStream cluster of Nodes
	// nodes (streams of three replicas) and each service as Partitions
	// partitions (stack.Config); 0 or 1: one of each.
	Nodes, Partitions int

	// TraceRates are the open-loop rates whose sagas' stages are recorded
	// and broken down (of Rates, as they resolve).
	TraceRates []Rate
	TraceText  string
	// NoFloor skips the floor: the disk's fdatasync, JetStream's
	// synchronous publish and the raw chain at each open-loop rate.
	NoFloor bool
}

// Rate is an open-loop offered rate: sagas/s, or a percentage of the
// closed-loop maximum.
type Rate struct {
	Value   float64
	Percent bool
}

// ParseRates parses "100,500,1000,50%,80%".
func ParseRates(s string) ([]Rate, error) {
	var out []Rate
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		r := Rate{}
		if strings.HasSuffix(f, "%") {
			r.Percent = true
			f = strings.TrimSuffix(f, "%")
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("rates: %q is not a positive number or percentage", f)
		}
		r.Value = v
		out = append(out, r)
	}
	return out, nil
}

// resolveRates turns rates into sagas/s given the closed-loop maximum, in
// ascending order without duplicates, each with its label.
func resolveRates(rates []Rate, maxRate float64) []PhaseResult {
	var out []PhaseResult
	for _, r := range rates {
		p := PhaseResult{OfferedPerSec: r.Value}
		if r.Percent {
			p.OfferedPerSec = math.Round(maxRate * r.Value / 100)
			p.Label = trimNum(r.Value) + "% of max"
		}
		if p.OfferedPerSec < 1 {
			continue
		}
		if i := slices.IndexFunc(out, func(q PhaseResult) bool { return q.OfferedPerSec == p.OfferedPerSec }); i >= 0 {
			if out[i].Label == "" {
				out[i].Label = p.Label
			}
			continue
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b PhaseResult) int { return cmp.Compare(a.OfferedPerSec, b.OfferedPerSec) })
	return out
}

// Main is `choreo bench`: it parses args, runs the
// benchmark for each sync setting asked for, prints each run's Markdown
// table to stdout and writes results*.json, results*.md and latency*.svg.
// Progress goes to stderr.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	prog := NewProgress(stderr)
	type variant struct {
		sync   string
		secure bool
	}
	var variants []variant
	for _, mode := range opts.Syncs {
		variants = append(variants, variant{mode, false})
	}
	if opts.Secure {
		variants = append(variants, variant{SyncAlways, true})
	}
	var plainAlways *Results
	for _, v := range variants {
		label := "sync " + v.sync
		if v.secure {
			label += ", secure profile"
		}
		prog.Logf("choreo bench: %s — stack from %s/Procfile, results to %s", label, opts.Repo, opts.Out)
		res, err := run(ctx, opts, v.sync, v.secure, prog)
		if err != nil {
			return fmt.Errorf("bench (%s): %w", label, err)
		}
		switch {
		case !v.secure && v.sync == SyncAlways:
			plainAlways = res
		case v.secure && plainAlways != nil:
			res.SecureCost = CompareSecure(plainAlways, res)
		}
		if err := report(res, opts, stdout); err != nil {
			return err
		}
		sfx := res.FileSuffix()
		prog.Logf("wrote %s", strings.Join([]string{
			filepath.Join(opts.Out, "results"+sfx+".json"), filepath.Join(opts.Out, "results"+sfx+".md"),
			filepath.Join(opts.Out, "latency"+sfx+".svg")}, ", "))
	}
	if opts.TelemetryRounds > 0 {
		prog.Logf("choreo bench: the cost of metrics and tracing — %d open loops of %v each, off and on", opts.TelemetryRounds, opts.TelemetryDuration)
		res, err := RunTelemetry(ctx, opts, prog)
		if err != nil {
			return fmt.Errorf("bench (telemetry): %w", err)
		}
		if err := report(res, opts, stdout); err != nil {
			return err
		}
		prog.Logf("wrote %s, %s", filepath.Join(opts.Out, "results-telemetry.json"), filepath.Join(opts.Out, "results-telemetry.md"))
	}
	return nil
}

// report writes a run's result files to Options.Out and prints it: as
// Markdown, or as one line of JSON with -o json.
func report(res interface {
	Write(dir string) error
	Markdown() string
}, o Options, stdout io.Writer) error {
	if err := res.Write(o.Out); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	if o.JSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	_, err := fmt.Fprintln(stdout, res.Markdown())
	return err
}

func parseFlags(args []string, stderr io.Writer) (Options, error) {
	fs := flag.NewFlagSet("choreo bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	syncFlag := fs.String("sync", SyncAlways, "JetStream sync setting: always (nats.conf as written), default (sync_interval removed) or both")
	fs.DurationVar(&o.Duration, "duration", 30*time.Second, "closed-loop measurement time")
	fs.DurationVar(&o.OpenDuration, "open-duration", 10*time.Second, "send time of each open-loop rate")
	fs.DurationVar(&o.Warmup, "warmup", 3*time.Second, "unmeasured closed-loop warm-up (0 to skip)")
	fs.IntVar(&o.Workers, "workers", 256, "closed-loop concurrent workers")
	fs.StringVar(&o.RatesText, "rates", "100,500,1000,50%,80%", "open-loop offered rates: sagas/s, or % of the closed-loop maximum")
	fs.StringVar(&o.TraceText, "trace", "100,50%", "open-loop rates whose sagas are broken down stage by stage (of -rates; empty for none)")
	fs.BoolVar(&o.NoFloor, "no-floor", false, "skip the floor: fdatasync, synchronous publish and the raw chain at each rate")
	fs.StringVar(&o.Out, "out", "", "directory for results*.json, results*.md and latency*.svg (default <repo>/bench)")
	fs.StringVar(&o.Repo, "repo", "", "repository root with Procfile and nats.conf (default: the nearest go.mod upward)")
	fs.StringVar(&o.Bin, "bin", "", "directory of the binaries the Procfile names as bin/... (default <repo>/bin)")
	fs.StringVar(&o.WorkDir, "workdir", "", "where each run's directory (nats.conf copy, data/, logs/) is made (default <repo>/bench/out)")
	fs.DurationVar(&o.SagaTimeout, "saga-timeout", 60*time.Second, "CHOREO_SAGA_TIMEOUT for the services")
	fs.DurationVar(&o.Raw.Duration, "raw-duration", 5*time.Second, "time of each raw publish measurement")
	fs.IntVar(&o.Raw.MsgBytes, "raw-size", 600, "raw message size in bytes")
	fs.IntVar(&o.Raw.Window, "raw-window", 4096, "raw async publishes in flight")
	fs.IntVar(&o.Raw.BatchSize, "raw-batch", 100, "raw atomic batch size (server maximum 1000)")
	fs.IntVar(&o.Raw.Concurrency, "raw-batch-concurrency", 8, "raw atomic batches in flight (server maximum 50 per stream)")
	fs.IntVar(&o.Nodes, "nodes", 1, "run NATS as a cluster of this many nodes (cluster/nats-*.conf, streams of three replicas)")
	fs.IntVar(&o.Partitions, "partitions", 1, "run every service as this many partitions")
	fs.IntVar(&o.Customers, "customers", 500, "funded customers")
	fs.IntVar(&o.SKUs, "skus", 200, "stocked SKUs")
	fs.BoolVar(&o.Keep, "keep", false, "keep each run's directory (data and logs)")
	fs.IntVar(&o.TelemetryRounds, "telemetry-rounds", 2, "closed loops of each mode, metrics and tracing off and on, for their cost (0 skips it)")
	fs.DurationVar(&o.TelemetryDuration, "telemetry-duration", 15*time.Second, "send time of each of those open loops")
	fs.Float64Var(&o.TelemetryRate, "telemetry-rate", 0, "each stack's offered rate in sagas/s (0: a quarter of one stack's closed-loop maximum)")
	fs.Float64Var(&o.TelemetrySample, "telemetry-sample", 1, "the share of sagas traced with telemetry on (OTEL_TRACES_SAMPLER_ARG of parentbased_traceidratio), 0 to 1")
	fs.StringVar(&o.Profile, "profile", "", "directory for CPU profiles of each service over the closed loop (<dir>/<sync>[-secure]/<service>.pprof) and the telemetry rounds (<dir>/telemetry/r<N>-<stack>-<mode>/); off if empty")
	output := fs.String("o", "text", "output `format`: text (Markdown) or json")
	fs.StringVar(output, "output", "text", "same as -o")
	fs.BoolVar(&o.JSON, "json", false, "same as -o json")
	fs.BoolVar(&o.Secure, "secure", false, "also run the secure profile (TLS, an identity per process, least privilege) with sync always, and compare")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	var problems []string
	switch *output {
	case "text":
	case "json":
		o.JSON = true
	default:
		problems = append(problems, fmt.Sprintf("-o must be text or json, not %q", *output))
	}
	switch *syncFlag {
	case SyncAlways, SyncDefault:
		o.Syncs = []string{*syncFlag}
	case "both":
		o.Syncs = []string{SyncAlways, SyncDefault}
	default:
		problems = append(problems, fmt.Sprintf("-sync must be always, default or both, not %q", *syncFlag))
	}
	rates, err := ParseRates(o.RatesText)
	if err != nil {
		problems = append(problems, err.Error())
	}
	o.Rates = rates
	if o.TelemetryRounds < 0 || (o.TelemetryRounds > 0 && o.TelemetryDuration <= 0) || o.TelemetryRate < 0 || o.TelemetrySample < 0 || o.TelemetrySample > 1 {
		problems = append(problems, "-telemetry-rounds and -telemetry-rate must not be negative, -telemetry-duration positive, -telemetry-sample 0 to 1")
	}
	if o.TraceText != "" {
		if o.TraceRates, err = ParseRates(o.TraceText); err != nil {
			problems = append(problems, "-trace: "+err.Error())
		}
	}
	if o.Duration <= 0 || o.OpenDuration <= 0 || o.Warmup < 0 || o.SagaTimeout <= 0 {
		problems = append(problems, "durations must be positive")
	}
	if o.Workers < 1 || o.Customers < 1 || o.SKUs < 3 {
		problems = append(problems, "-workers and -customers must be at least 1, -skus at least 3")
	}
	if o.Raw.BatchSize < 1 || o.Raw.BatchSize > 1000 || o.Raw.Concurrency < 1 || o.Raw.Concurrency > 50 {
		problems = append(problems, "-raw-batch must be 1..1000 and -raw-batch-concurrency 1..50")
	}
	if len(problems) > 0 {
		return o, errors.New(strings.Join(problems, "; "))
	}
	if o.Repo == "" {
		if o.Repo, err = stack.FindRepo("."); err != nil {
			return o, fmt.Errorf("%w (use -repo)", err)
		}
	}
	if o.Repo, err = filepath.Abs(o.Repo); err != nil {
		return o, err
	}
	if o.Out == "" {
		o.Out = filepath.Join(o.Repo, "bench")
	}
	if o.Bin == "" {
		o.Bin = filepath.Join(o.Repo, "bin")
	}
	if o.WorkDir == "" {
		// git-ignored, and on the same file system as a `make run`'s data/
		o.WorkDir = filepath.Join(o.Repo, "bench", "out")
	}
	return o, nil
}

// EventStreams are the platform's event streams (the contract's section 3).
var EventStreams = []string{"ORDER_EVENTS", "PAYMENT_EVENTS", "INVENTORY_EVENTS", "SHIPPING_EVENTS"}

type streamCount struct{ Msgs, Bytes uint64 }

func streamCounts(ctx context.Context, js jetstream.JetStream) (map[string]streamCount, error) {
	out := map[string]streamCount{}
	for _, name := range append(slices.Clone(EventStreams), "DLQ") {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		s, err := js.Stream(cctx, name)
		if err == nil {
			var info *jetstream.StreamInfo
			if info, err = s.Info(cctx); err == nil {
				out[name] = streamCount{info.State.Msgs, info.State.Bytes}
			}
		}
		cancel()
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", name, err)
		}
	}
	return out, nil
}

// quiesce waits until the streams stop growing for a second (the trailing
// compensations of the last sagas), at most limit.
func quiesce(ctx context.Context, js jetstream.JetStream, limit time.Duration) (map[string]streamCount, bool) {
	deadline := time.Now().Add(limit)
	var last map[string]streamCount
	stable := 0
	for time.Now().Before(deadline) && ctx.Err() == nil {
		cur, err := streamCounts(ctx, js)
		if err == nil && last != nil && mapsEqual(cur, last) {
			stable++
			if stable >= 4 {
				return cur, true
			}
		} else {
			stable = 0
		}
		if err == nil {
			last = cur
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
	return last, false
}

func mapsEqual(a, b map[string]streamCount) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// snapshot is the counters a phase is measured between.
type snapshot struct {
	at      time.Time
	streams map[string]streamCount
	usage   map[string]stack.Usage
	commits map[string]int64
}

func takeSnapshot(ctx context.Context, st *stack.Stack, js jetstream.JetStream) (snapshot, error) {
	sn := snapshot{at: time.Now(), usage: st.Usage(), commits: boltTxIDs(st)}
	if self, err := stack.ReadUsage(0); err == nil {
		sn.usage["bench"] = self
	}
	var err error
	sn.streams, err = streamCounts(ctx, js)
	return sn, err
}

// newLoader connects to st twice (requests, and the terminal events the
// tracker follows) and returns a Loader of a new workload whose ids start
// with prefix (make it unique: nuid), the JetStream context of its connection, and what closes it
// all (once, however often it is called).
func newLoader(st *stack.Stack, name, prefix string, o Options, prog *Progress) (*Loader, jetstream.JetStream, func(), error) {
	var closers []func()
	closeAll := sync.OnceFunc(func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	})
	// In the secure profile the load goes as the client identity, and the
	// events and stream counts are read as the observer; in the plain one
	// both are the same anonymous user.
	connect := func(name, identity string) (*nats.Conn, error) {
		opts, err := st.ConnectOptions(identity)
		if err != nil {
			return nil, err
		}
		nc, err := nats.Connect(st.URL(), append(opts, nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectBufSize(64<<20))...)
		if err == nil {
			closers = append(closers, nc.Close)
		}
		return nc, err
	}
	nc, err := connect(name, natsauth.Client)
	if err != nil {
		return nil, nil, nil, err
	}
	ncEv, err := connect(name+" events", natsauth.Observer)
	if err != nil {
		closeAll()
		return nil, nil, nil, err
	}
	js, err := jetstream.New(ncEv)
	if err != nil {
		closeAll()
		return nil, nil, nil, err
	}
	tracker, err := NewTracker(ncEv)
	if err != nil {
		closeAll()
		return nil, nil, nil, err
	}
	closers = append(closers, tracker.Close)
	w := &Workload{Prefix: prefix, Customers: o.Customers, SKUs: o.SKUs}
	return &Loader{NC: nc, Tracker: tracker, Workload: w, TerminalWait: o.SagaTimeout + 30*time.Second, Progress: prog}, js, closeAll, nil
}

// Run runs the whole benchmark once, for one sync setting: start the stack,
// set up customers and stock, measure the raw ceiling, the closed loop and
// the open-loop rates, stop the stack and read its files.
func Run(ctx context.Context, o Options, mode string, prog *Progress) (*Results, error) {
	return run(ctx, o, mode, false, prog)
}

// RunSecure is Run in the secure profile (stack.Config.Secure): TLS, the
// load generator as the client identity and its event tracker and stream
// counts as the observer. The raw ceiling is not measured there: no
// identity may create a stream outside the platform's.
func RunSecure(ctx context.Context, o Options, mode string, prog *Progress) (*Results, error) {
	return run(ctx, o, mode, true, prog)
}

func run(ctx context.Context, o Options, mode string, secure bool, prog *Progress) (*Results, error) {
	selfStart, _ := stack.ReadUsage(0) // the load generator's CPU so far (an earlier run's, say)
	// The traced phases' order ids start with the prefix the services record
	// the stages of (their files go to the run directory's stages/).
	prefix := "b" + nuid.Next()[16:]
	st, err := stack.New(stack.Config{Repo: o.Repo, Bin: o.Bin, WorkDir: o.WorkDir, Sync: mode, Keep: o.Keep, Secure: secure,
		Nodes: o.Nodes, Partitions: o.Partitions,
		Env: []string{"CHOREO_SAGA_TIMEOUT=" + o.SagaTimeout.String(), "CHOREO_SHIPPING_COUNTRIES=" + strings.Join(ServedCountries, ","),
			"CHOREO_STAGES_DIR=" + stagesDir, "CHOREO_STAGES_PREFIX=" + prefix + "-" + tracedPhase}})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	stopped := false
	defer func() {
		if !stopped {
			st.StopAll(10 * time.Second)
		}
	}()
	var pprof map[string]string
	if o.Profile != "" {
		if pprof, err = servePprof(st); err != nil {
			return nil, err
		}
	}
	if o.Keep {
		prog.Logf("run directory: %s", st.Dir())
	}
	if err := st.StartAll(ctx); err != nil {
		return nil, err
	}
	peaks := sampleRSS(ctx, st)
	res := &Results{Sync: mode, Profile: ProfilePlain, Machine: machine(o.Repo), Config: RunConfig{
		DurationSec: o.Duration.Seconds(), Workers: o.Workers, OpenDurationSec: o.OpenDuration.Seconds(),
		Rates: o.RatesText, SagaTimeout: o.SagaTimeout.String(), Customers: o.Customers, SKUs: o.SKUs,
		Nodes: max(1, o.Nodes), Partitions: max(1, o.Partitions),
	}}
	if secure {
		res.Profile = ProfileSecure
	}
	warn := func(format string, args ...any) {
		res.Warnings = append(res.Warnings, fmt.Sprintf(format, args...))
	}
	loader, js, closeLoader, err := newLoader(st, "choreo bench", prefix, o, prog)
	if err != nil {
		return nil, err
	}
	defer closeLoader()
	nc, w := loader.NC, loader.Workload
	// Stock for a generous 10,000 sagas/s over every phase, 2 lines of 2 units each on average.
	total := o.Warmup + o.Duration + time.Duration(len(o.Rates))*o.OpenDuration
	perSKU := int64(10_000*total.Seconds()*4) / int64(o.SKUs)
	prog.Logf("setup: %d customers funded, %d SKUs stocked with %d units each", o.Customers, o.SKUs, perSKU)
	if res.Config.SetupCommands, err = w.Setup(ctx, nc, perSKU); err != nil {
		return nil, err
	}
	// One saga all the way through proves the whole chain before any measurement.
	if status, err := loader.One(ctx, "ready"); err != nil {
		return nil, fmt.Errorf("first saga: %w", err)
	} else if status != "completed" {
		return nil, fmt.Errorf("first saga ended %s, want completed", status)
	}
	totalSagas := 1

	// The floor and the raw ceiling make streams of their own: no identity
	// of the secure profile may.
	var chain *Chain
	if !secure && !o.NoFloor {
		prog.Logf("the floor: fdatasync on the data directory's disk, JetStream synchronous publishes, the raw chain")
		connect := func(name string) (*nats.Conn, error) {
			return nats.Connect(st.URL(), nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectBufSize(64<<20))
		}
		if chain, err = measureFloor(ctx, st, connect, nc, res); err != nil {
			return nil, err
		}
		defer chain.Close()
	}
	if !secure {
		prog.Logf("raw JetStream ceiling on %s: async publish, then atomic batches of %d (%v each)", RawStream, o.Raw.BatchSize, o.Raw.Duration)
		async, batch, err := RawCeiling(ctx, nc, o.Raw)
		if err != nil {
			return nil, err
		}
		res.Raw.Async, res.Raw.Batch = async, batch
		res.RawAsyncPerSec, res.RawBatchPerSec = async.PerSec, batch.PerSec
		prog.Logf("raw: async %.0f msg/s, atomic batch %.0f msg/s", async.PerSec, batch.PerSec)
		if async.Errors > 0 || batch.Errors > 0 {
			warn("raw publish errors: async %d, batch %d", async.Errors, batch.Errors)
		}
	}

	if o.Warmup > 0 {
		wr := loader.ClosedLoop(ctx, "warm-up", o.Workers, o.Warmup, nil)
		totalSagas += wr.Placed
	}
	if _, ok := quiesce(ctx, js, time.Minute); !ok {
		warn("streams still growing a minute after the warm-up")
	}
	if err := st.Dead(); err != nil {
		return nil, err
	}

	// Closed loop.
	before, err := takeSnapshot(ctx, st, js)
	if err != nil {
		return nil, err
	}
	var atEnd snapshot
	var endErr error
	var endOnce sync.WaitGroup
	endOnce.Add(1)
	waitProfiles := func() error { return nil }
	if o.Profile != "" {
		dir := filepath.Join(o.Profile, mode)
		if secure {
			dir += "-secure"
		}
		waitProfiles = profileServices(ctx, pprof, dir, o.Duration)
		prog.Logf("CPU profiles of the closed loop: %s", dir)
	}
	cl := loader.ClosedLoop(ctx, "closed loop", o.Workers, o.Duration, func() {
		defer endOnce.Done()
		atEnd, endErr = takeSnapshot(ctx, st, js)
	})
	endOnce.Wait()
	if endErr != nil {
		return nil, endErr
	}
	if err := waitProfiles(); err != nil {
		warn("%v", err)
	}
	totalSagas += cl.Placed
	after, ok := quiesce(ctx, js, time.Minute)
	if !ok {
		warn("streams still growing a minute after the closed loop")
	}
	afterCommits := boltTxIDs(st)
	res.ClosedLoop = cl
	res.SagasPerSec, res.CompletedPerSec = cl.AchievedPerSec, cl.CompletedPerSec
	accepted := float64(cl.Placed - cl.PlaceErrors)
	var evWindow, evAll, bytesAll float64
	res.EventsPerSagaByStream = map[string]float64{}
	for _, s := range EventStreams {
		evWindow += float64(atEnd.streams[s].Msgs - before.streams[s].Msgs)
		n := float64(after[s].Msgs - before.streams[s].Msgs)
		evAll += n
		bytesAll += float64(after[s].Bytes - before.streams[s].Bytes)
		res.EventsPerSagaByStream[s] = round(n/max(accepted, 1), 3)
	}
	if d := after["DLQ"].Msgs - before.streams["DLQ"].Msgs; d > 0 {
		warn("%d messages went to the DLQ during the closed loop", d)
	}
	res.EventsPerSaga = round(evAll/max(accepted, 1), 3)
	res.BytesPerSaga = round(bytesAll/max(accepted, 1), 0)
	res.EventsPublishedPerSec = round(evWindow/atEnd.at.Sub(before.at).Seconds(), 0)
	if best := max(res.RawAsyncPerSec, res.RawBatchPerSec); best > 0 {
		res.RatioToRaw = round(res.EventsPublishedPerSec/best, 3)
	}
	res.CPUMsPerSaga = map[string]float64{}
	var cpuTotal float64
	for name, u := range atEnd.usage {
		d := u.CPUSeconds - before.usage[name].CPUSeconds
		res.CPUMsPerSaga[name] = round(d*1000/max(float64(cl.InWindow), 1), 3)
		if name != "bench" {
			cpuTotal += d
		}
	}
	res.CPUMsPerSaga["total"] = round(cpuTotal*1000/max(float64(cl.InWindow), 1), 3)
	res.BboltCommitsPerSaga = map[string]float64{}
	var commitsTotal int64
	for name, tx := range afterCommits {
		d := tx - before.commits[name]
		commitsTotal += d
		res.BboltCommitsPerSaga[name] = round(float64(d)/max(accepted, 1), 3)
	}
	res.BboltCommitsPerSaga["total"] = round(float64(commitsTotal)/max(accepted, 1), 3)
	if cl.PlaceErrors > 0 || cl.Unfinished > 0 || cl.Unexpected > 0 {
		warn("closed loop: %d place errors, %d sagas without a terminal event, %d ended otherwise than meant (cancel reasons %v)",
			cl.PlaceErrors, cl.Unfinished, cl.Unexpected, cl.Reasons)
	}
	if err := st.Dead(); err != nil {
		return nil, err
	}

	// Open loop: at each rate the saga, then the raw chain.
	traced := resolveRates(o.TraceRates, res.SagasPerSec)
	spans := map[float64]map[string]span{}
	for _, p := range resolveRates(o.Rates, res.SagasPerSec) {
		name := fmt.Sprintf("open %.0f/s", p.OfferedPerSec)
		phase := "o" + strconv.Itoa(int(p.OfferedPerSec))
		var keep map[string]span
		if slices.ContainsFunc(traced, func(q PhaseResult) bool { return q.OfferedPerSec == p.OfferedPerSec }) {
			phase = tracedPhase + strconv.Itoa(int(p.OfferedPerSec))
			keep = map[string]span{}
			spans[p.OfferedPerSec] = keep
		}
		r, err := loader.openLoop(ctx, name, phase, p.OfferedPerSec, o.OpenDuration, keep)
		if err != nil {
			return nil, err
		}
		r.Label = p.Label
		totalSagas += r.Placed
		res.OpenLoop = append(res.OpenLoop, r)
		if r.OfferedPerSec == 500 {
			p50, p99 := r.Latency.P50, r.Latency.P99
			res.P50At500, res.P99At500 = &p50, &p99
		}
		if r.PlaceErrors > 0 || r.Unfinished > 0 || r.Unexpected > 0 {
			warn("open loop %.0f/s: %d place errors, %d sagas without a terminal event, %d ended otherwise than meant (cancel reasons %v)",
				r.OfferedPerSec, r.PlaceErrors, r.Unfinished, r.Unexpected, r.Reasons)
		}
		if _, ok := quiesce(ctx, js, time.Minute); !ok {
			warn("streams still growing a minute after open loop %.0f/s", r.OfferedPerSec)
		}
		if err := st.Dead(); err != nil {
			return nil, err
		}
		if chain != nil {
			cr, err := chain.OpenLoop(ctx, nc, fmt.Sprintf("chain %.0f/s", p.OfferedPerSec), p.OfferedPerSec, o.OpenDuration, rawPayload(o.Raw.MsgBytes), prog)
			if err != nil {
				return nil, err
			}
			cr.Label = p.Label
			res.Floor.Chain = append(res.Floor.Chain, cr)
			if cr.Unfinished > 0 || cr.PlaceErrors > 0 {
				warn("raw chain %.0f/s: %d sends failed, %d messages never came out of the fifth hop", cr.OfferedPerSec, cr.PlaceErrors, cr.Unfinished)
			}
		}
	}
	if chain != nil {
		if n, err := chain.Errors(); n > 0 {
			warn("raw chain: %d failed batches, first: %v", n, err)
		}
	}
	res.Config.TotalSagas = totalSagas
	if n := loader.Tracker.stray.Load(); n > 0 {
		warn("%d terminal events for sagas no one was waiting for (duplicates or late ends)", n)
	}

	// Final usage, then stop and read the bbolt files.
	final := st.Usage()
	if self, err := stack.ReadUsage(0); err == nil {
		self.CPUSeconds -= selfStart.CPUSeconds
		final["bench"] = self
	}
	res.CPUSeconds, res.MaxRSSMiB = map[string]float64{}, map[string]float64{}
	for name, u := range final {
		res.CPUSeconds[name] = round(u.CPUSeconds, 2)
		res.MaxRSSMiB[name] = round(u.PeakRSSMiB, 1)
	}
	res.MaxAnonRSSMiB, res.MaxFileRSSMiB = peaks()
	if chain != nil {
		chain.Close()
	}
	closeLoader()
	stopped = true
	res.Exits = map[string]int{}
	for _, ex := range st.StopAll(30 * time.Second) {
		res.Exits[ex.Name] = ex.Code
		if ex.Killed || ex.Code != 0 || ex.Err != nil {
			warn("%s: exit code %d after SIGTERM (killed: %v, %v)", ex.Name, ex.Code, ex.Killed, ex.Err)
		}
	}
	if res.BboltCommits, err = boltCommits(st); err != nil {
		warn("read bbolt commits: %v", err)
	}
	if len(spans) > 0 {
		idx, err := readStages(filepath.Join(st.Dir(), stagesDir))
		if err != nil {
			warn("read the services' stages: %v", err)
		}
		for _, p := range res.OpenLoop {
			if sp, ok := spans[p.OfferedPerSec]; ok {
				b := idx.breakdown(p, sp)
				if b.Sagas == 0 {
					warn("open loop %.0f/s: no saga with every stage recorded (services built without stage recording?)", p.OfferedPerSec)
					continue
				}
				res.Breakdowns = append(res.Breakdowns, b)
			}
		}
	}
	res.Machine.LoadAvgEnd = loadAvg()
	if busy := float64(res.Machine.CPUs) / 2; res.Machine.LoadAvgStart > busy || res.Machine.LoadAvgEnd > float64(res.Machine.CPUs)*2 {
		warn("the machine was busy (load average %.2f before the run, %.2f after, on %d CPUs): other work skews these figures",
			res.Machine.LoadAvgStart, res.Machine.LoadAvgEnd, res.Machine.CPUs)
	}
	res.checkTargets()
	return res, nil
}

// loadAvg is the 1-minute load average (0 where /proc/loadavg is missing).
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func machine(repo string) Machine {
	m := Machine{Date: time.Now().UTC().Format(time.RFC3339), GoVersion: runtime.Version(),
		OSArch: runtime.GOOS + "/" + runtime.GOARCH, CPUs: runtime.NumCPU(), LoadAvgStart: loadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if _, rest, ok := strings.Cut(string(b), "MemTotal:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				kib, _ := strconv.ParseInt(f[0], 10, 64) // "MemTotal:  16303848 kB"
				m.MemoryMiB = kib / 1024
			}
		}
	}
	if out, err := exec.Command("git", "-C", repo, "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "-C", repo, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
			m.Commit += "-dirty"
		}
	}
	return m
}

// sampleRSS records, every 200ms until the returned function is called, the
// highest anonymous and file-backed RSS of each process of st. The kernel
// keeps a high-water mark of the whole RSS only (VmHWM), and the two parts
// say different things: the anonymous part is what the process allocated,
// the file-backed part mostly bbolt's mapped pages, which are page cache.
func sampleRSS(ctx context.Context, st *stack.Stack) (stop func() (anon, file map[string]float64)) {
	ctx, cancel := context.WithCancel(ctx)
	anon, file := map[string]float64{}, map[string]float64{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			for name, u := range st.Usage() {
				anon[name] = max(anon[name], round(u.AnonRSSMiB, 1))
				file[name] = max(file[name], round(u.FileRSSMiB, 1))
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() (map[string]float64, map[string]float64) {
		cancel()
		<-done
		return anon, file
	}
}
