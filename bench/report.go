package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Results is one run of the benchmark: what results.json holds. The first
// block of fields are the ones scripts compare runs by.
type Results struct {
	Sync string `json:"sync"`
	// Profile is ProfilePlain (make run's: no authentication) or
	// ProfileSecure (make run-secure's: TLS, an identity per process).
	Profile               string             `json:"profile"`
	SagasPerSec           float64            `json:"sagas_per_sec"`
	CompletedPerSec       float64            `json:"completed_sagas_per_sec"`
	P50At500              *float64           `json:"p50_ms_at_500"`
	P99At500              *float64           `json:"p99_ms_at_500"`
	EventsPerSaga         float64            `json:"events_per_saga"`
	BytesPerSaga          float64            `json:"bytes_per_saga"`
	BboltCommitsPerSaga   map[string]float64 `json:"bbolt_commits_per_saga"`
	RawAsyncPerSec        float64            `json:"raw_async_publish_per_sec"`
	RawBatchPerSec        float64            `json:"raw_batch_publish_per_sec"`
	EventsPublishedPerSec float64            `json:"events_published_per_sec"`
	RatioToRaw            float64            `json:"ratio_to_raw"`
	MaxRSSMiB             map[string]float64 `json:"max_rss_mib"`
	// The peaks of the two parts of RSS, sampled every 200ms: what the Go
	// process allocates, and the file pages it maps (mostly bbolt's).
	MaxAnonRSSMiB map[string]float64 `json:"max_anon_rss_mib"`
	MaxFileRSSMiB map[string]float64 `json:"max_file_rss_mib"`
	CPUSeconds    map[string]float64 `json:"cpu_seconds"`
	CPUMsPerSaga  map[string]float64 `json:"cpu_ms_per_saga"`

	EventsPerSagaByStream map[string]float64 `json:"events_per_saga_by_stream"`
	BboltCommits          map[string]int64   `json:"bbolt_commits"`
	ClosedLoop            PhaseResult        `json:"closed_loop"`
	OpenLoop              []PhaseResult      `json:"open_loop"`
	Raw                   struct {
		Async RawResult `json:"async"`
		Batch RawResult `json:"batch"`
	} `json:"raw"`
	// SecureCost compares a secure run with the plain run of the same
	// invocation (sync always): what TLS and authentication cost.
	SecureCost *SecureCost    `json:"secure_cost,omitempty"`
	Targets    []Target       `json:"targets"`
	Exits      map[string]int `json:"exit_codes"`
	Warnings   []string       `json:"warnings,omitempty"`
	Machine    Machine        `json:"machine"`
	Config     RunConfig      `json:"config"`

	// Floor is the raw chain and what it is made of; Breakdowns where the
	// traced phases' milliseconds go.
	Floor      Floor       `json:"floor"`
	Breakdowns []Breakdown `json:"breakdowns,omitempty"`
}

// Machine says where and when a run happened.
type Machine struct {
	Date      string `json:"date"`
	GoVersion string `json:"go_version"`
	OSArch    string `json:"os_arch"`
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model,omitempty"`
	MemoryMiB int64  `json:"memory_mib,omitempty"`
	Commit    string `json:"commit,omitempty"`
	// LoadAvg is the 1-minute load average at the start and at the end of
	// the run: anything else running on the machine skews every figure.
	LoadAvgStart float64 `json:"load_avg_start"`
	LoadAvgEnd   float64 `json:"load_avg_end"`
}

// RunConfig is how the run was set up.
type RunConfig struct {
	DurationSec     float64 `json:"closed_loop_s"`
	Workers         int     `json:"workers"`
	OpenDurationSec float64 `json:"open_loop_s"`
	Rates           string  `json:"rates"`
	SagaTimeout     string  `json:"saga_timeout"`
	Customers       int     `json:"customers"`
	SKUs            int     `json:"skus"`
	Nodes           int     `json:"nodes,omitempty"`
	Partitions      int     `json:"partitions,omitempty"`
	SetupCommands   int     `json:"setup_commands"`
	TotalSagas      int     `json:"total_sagas"`
}

// Target is one of issue 4's goals, checked against the run.
type Target struct {
	Name  string  `json:"name"`
	Goal  string  `json:"goal"`
	Value float64 `json:"value"`
	Met   bool    `json:"met"`
}

// checkTargets evaluates the speed and memory goals.
func (r *Results) checkTargets() {
	r.Targets = []Target{{Name: "sagas_per_sec", Goal: ">= 2000", Value: r.SagasPerSec, Met: r.SagasPerSec >= 2000}}
	if r.P99At500 != nil {
		r.Targets = append(r.Targets, Target{Name: "p99_ms_at_500", Goal: "<= 25", Value: *r.P99At500, Met: *r.P99At500 <= 25})
	}
	for _, name := range sortedKeys(r.MaxRSSMiB) {
		if name == "nats" || name == "bench" {
			continue
		}
		v := r.MaxRSSMiB[name]
		r.Targets = append(r.Targets, Target{Name: "max_rss_mib." + name, Goal: "< 128", Value: v, Met: v < 128})
	}
}

// The profiles a run can be of (Results.Profile).
const (
	ProfilePlain  = "plain"
	ProfileSecure = "secure"
)

// SecureCost is what the secure profile costs: the plain and the secure
// run's figures side by side, from one invocation on one machine.
type SecureCost struct {
	PlainSagasPerSec      float64            `json:"plain_sagas_per_sec"`
	SecureSagasPerSec     float64            `json:"secure_sagas_per_sec"`
	PlainCompletedPerSec  float64            `json:"plain_completed_sagas_per_sec"`
	SecureCompletedPerSec float64            `json:"secure_completed_sagas_per_sec"`
	PlainP99At500         *float64           `json:"plain_p99_ms_at_500"`
	SecureP99At500        *float64           `json:"secure_p99_ms_at_500"`
	PlainCPUMsPerSaga     map[string]float64 `json:"plain_cpu_ms_per_saga"`
	SecureCPUMsPerSaga    map[string]float64 `json:"secure_cpu_ms_per_saga"`
}

// CompareSecure compares a secure run with a plain one.
func CompareSecure(plain, secure *Results) *SecureCost {
	return &SecureCost{
		PlainSagasPerSec: plain.SagasPerSec, SecureSagasPerSec: secure.SagasPerSec,
		PlainCompletedPerSec: plain.CompletedPerSec, SecureCompletedPerSec: secure.CompletedPerSec,
		PlainP99At500: plain.P99At500, SecureP99At500: secure.P99At500,
		PlainCPUMsPerSaga: plain.CPUMsPerSaga, SecureCPUMsPerSaga: secure.CPUMsPerSaga,
	}
}

// Suffix is the file name suffix of a sync setting: results.json is for
// always, results-default-sync.json for the default.
func Suffix(sync string) string {
	if sync == SyncAlways {
		return ""
	}
	return "-" + sync + "-sync"
}

// FileSuffix is the suffix of r's files: Suffix of its sync setting,
// -secure for the secure profile (results-secure.json), -n<nodes> for a
// cluster and -p<partitions> for partitioned services (results-n3-p2.json).
func (r *Results) FileSuffix() string {
	sfx := Suffix(r.Sync)
	if r.Profile == ProfileSecure {
		sfx = "-secure" + sfx
	}
	if r.Config.Nodes > 1 {
		sfx += fmt.Sprintf("-n%d", r.Config.Nodes)
	}
	if r.Config.Partitions > 1 {
		sfx += fmt.Sprintf("-p%d", r.Config.Partitions)
	}
	return sfx
}

// Write puts results<suffix>.json, results<suffix>.md and latency<suffix>.svg
// in dir.
func (r *Results) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	sfx := r.FileSuffix()
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	svg := "latency" + sfx + ".svg"
	md := r.Markdown() + "\n![latency versus throughput](" + svg + ")\n"
	for name, data := range map[string][]byte{
		"results" + sfx + ".json": append(js, '\n'),
		"results" + sfx + ".md":   []byte(md),
		svg:                       []byte(LatencySVG(r)),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// scaleLabel says how the stack ran when it ran past one process each.
func scaleLabel(c RunConfig) string {
	var parts []string
	if c.Nodes > 1 {
		parts = append(parts, fmt.Sprintf("a %d-node cluster, streams of %d replicas", c.Nodes, min(3, c.Nodes)))
	}
	if c.Partitions > 1 {
		parts = append(parts, fmt.Sprintf("each service as %d partitions", c.Partitions))
	}
	if len(parts) == 0 {
		return ""
	}
	return " · " + strings.Join(parts, ", ")
}

// Markdown is the run as Markdown tables.
func (r *Results) Markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m := r.Machine
	w("## Choreo benchmark — JetStream sync: %s%s%s\n\n", syncLabel(r.Sync), profileLabel(r.Profile), scaleLabel(r.Config))
	w("%s · %s · %s · %d CPUs (%s) · %d MiB · commit %s · load average %.2f at the start, %.2f at the end\n\n",
		m.Date, m.GoVersion, m.OSArch, m.CPUs, m.CPUModel, m.MemoryMiB, m.Commit, m.LoadAvgStart, m.LoadAvgEnd)
	w("| metric | value | goal |\n| --- | --: | --- |\n")
	cl := r.ClosedLoop
	w("| closed loop, %d workers, %.0f s: sagas/s (completed/s) | **%.0f** (%.0f) | %s |\n",
		cl.Workers, cl.WindowSec, r.SagasPerSec, r.CompletedPerSec, r.goal("sagas_per_sec"))
	w("| closed loop latency p50 / p99 | %s / %s ms | |\n", num(cl.Latency.P50), num(cl.Latency.P99))
	if r.P50At500 != nil {
		w("| open loop at 500/s: p50 / p99 | %s / **%s** ms | %s |\n", num(*r.P50At500), num(*r.P99At500), r.goal("p99_ms_at_500"))
	}
	w("| events per saga | %.2f | |\n", r.EventsPerSaga)
	w("| bytes per saga (stream storage) | %.0f | |\n", r.BytesPerSaga)
	w("| bbolt commits per saga (all services) | %.2f | |\n", r.BboltCommitsPerSaga["total"])
	if r.Profile == ProfileSecure {
		w("| raw JetStream ceiling | not measured: no identity of the secure profile may create a stream outside the platform's | |\n")
		w("| events published/s during the closed loop | %.0f | |\n", r.EventsPublishedPerSec)
	} else {
		w("| raw JetStream async publish (window %d, %d B) | %.0f msg/s | |\n", r.Raw.Async.Window, r.Raw.Async.MsgBytes, r.RawAsyncPerSec)
		w("| raw JetStream atomic batch publish (%d/batch, %d in flight) | %.0f msg/s | |\n", r.Raw.Batch.BatchSize, r.Raw.Batch.Concurrency, r.RawBatchPerSec)
		w("| events published/s during the closed loop | %.0f | |\n", r.EventsPublishedPerSec)
		w("| ratio to raw (events/s ÷ best raw msg/s) | **%.3f** | |\n", r.RatioToRaw)
	}
	w("\n### Open loop (latency from the scheduled `order.place` to `OrderCompleted`/`OrderCancelled`)\n\n")
	w("| offered/s | achieved/s | p50 ms | p95 ms | p99 ms | max ms | sagas | cancelled | unexpected | errors | unfinished | drain s |\n")
	w("| --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |\n")
	for _, p := range r.OpenLoop {
		w("| %s | %.0f | %s | %s | %s | %s | %d | %d | %d | %d | %d | %.1f |\n", rateLabel(p.OfferedPerSec, p.Label), p.AchievedPerSec,
			num(p.Latency.P50), num(p.Latency.P95), num(p.Latency.P99), num(p.Latency.Max),
			p.Placed, p.Cancelled, p.Unexpected, p.PlaceErrors, p.Unfinished, p.DrainSec)
	}
	r.floorMarkdown(&b)
	w("\n### Processes\n\n")
	w("| process | CPU s (whole run) | CPU ms per saga (closed loop) | peak RSS MiB | peak anon / file-backed RSS MiB | bbolt commits per saga | exit |\n")
	w("| --- | --: | --: | --: | --: | --: | --: |\n")
	names := sortedKeys(r.CPUSeconds)
	slices.SortStableFunc(names, func(a, b string) int { return procRank(a) - procRank(b) })
	for _, n := range names {
		commits, exit := "", ""
		if v, ok := r.BboltCommitsPerSaga[n]; ok {
			commits = fmt.Sprintf("%.2f", v)
		}
		if v, ok := r.Exits[n]; ok {
			exit = fmt.Sprint(v)
		}
		parts := ""
		if a, ok := r.MaxAnonRSSMiB[n]; ok {
			parts = fmt.Sprintf("%.0f / %.0f", a, r.MaxFileRSSMiB[n])
		}
		w("| %s | %.1f | %.2f | %.0f | %s | %s | %s |\n", n, r.CPUSeconds[n], r.CPUMsPerSaga[n], r.MaxRSSMiB[n], parts, commits, exit)
	}
	w("| **all** | %.1f | %.2f | | | %.2f | |\n", sum(r.CPUSeconds, "bench"), r.CPUMsPerSaga["total"], r.BboltCommitsPerSaga["total"])
	if len(r.MaxAnonRSSMiB) > 0 {
		w("\nPeak RSS is the kernel's high-water mark (VmHWM). Its parts, sampled every 200 ms: anonymous memory (Go heap,\n" +
			"stacks, runtime) and file-backed pages (the binary, and the pages of bbolt's memory-mapped file the process has\n" +
			"read: page cache, shared and reclaimable).\n")
	}
	if c := r.SecureCost; c != nil {
		w("\n### Cost of TLS and authentication (against the plain profile of the same invocation, sync always)\n\n")
		w("| | plain | secure | change |\n| --- | --: | --: | --: |\n")
		w("| closed loop sagas/s | %.0f | %.0f | %s |\n", c.PlainSagasPerSec, c.SecureSagasPerSec, change(c.PlainSagasPerSec, c.SecureSagasPerSec))
		w("| closed loop completed/s | %.0f | %.0f | %s |\n", c.PlainCompletedPerSec, c.SecureCompletedPerSec, change(c.PlainCompletedPerSec, c.SecureCompletedPerSec))
		if c.PlainP99At500 != nil && c.SecureP99At500 != nil {
			w("| open loop at 500/s: p99 ms | %s | %s | %s |\n", num(*c.PlainP99At500), num(*c.SecureP99At500), change(*c.PlainP99At500, *c.SecureP99At500))
		}
		names := slices.DeleteFunc(sortedKeys(c.SecureCPUMsPerSaga), func(n string) bool { return n == "total" })
		slices.SortStableFunc(names, func(a, b string) int { return procRank(a) - procRank(b) })
		for _, n := range append(names, "total") {
			label := "CPU ms per saga: " + n
			if n == "total" {
				label = "**CPU ms per saga: all processes**"
			}
			w("| %s | %.3f | %.3f | %s |\n", label, c.PlainCPUMsPerSaga[n], c.SecureCPUMsPerSaga[n], change(c.PlainCPUMsPerSaga[n], c.SecureCPUMsPerSaga[n]))
		}
	}
	if len(r.Targets) > 0 {
		w("\n### Goals (issue 4)\n\n| goal | value | met |\n| --- | --: | --- |\n")
		for _, t := range r.Targets {
			w("| %s %s | %s | %s |\n", t.Name, t.Goal, num(t.Value), yesNo(t.Met))
		}
	}
	warnings(&b, r.Warnings)
	return b.String()
}

// warnings appends a run's warnings, if any, as a Markdown section.
func warnings(b *strings.Builder, list []string) {
	if len(list) == 0 {
		return
	}
	b.WriteString("\n### Warnings\n\n")
	for _, s := range list {
		fmt.Fprintf(b, "- %s\n", s)
	}
}

func (r *Results) goal(name string) string {
	for _, t := range r.Targets {
		if t.Name == name {
			return t.Goal + " " + yesNo(t.Met)
		}
	}
	return ""
}

func syncLabel(s string) string {
	if s == SyncAlways {
		return "`sync_interval: always` (fsync before every PubAck)"
	}
	return "nats-server default (fsync every 2 min)"
}

func profileLabel(p string) string {
	if p == ProfileSecure {
		return " · secure profile (TLS, an nkey identity per process, least privilege)"
	}
	return ""
}

// change is the relative change from a to b, "+12.3%".
func change(a, b float64) string {
	if a == 0 {
		return ""
	}
	return fmt.Sprintf("%+.1f%%", (b-a)/a*100)
}

func yesNo(b bool) string {
	if b {
		return "✅"
	}
	return "❌"
}

func num(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	default:
		return fmt.Sprintf("%.2f", x)
	}
}

// procRank orders processes as the Procfile does, the load generator last.
func procRank(name string) int {
	switch name {
	case "nats":
		return 0
	case "order":
		return 1
	case "payment":
		return 2
	case "inventory":
		return 3
	case "shipping":
		return 4
	case "bench":
		return 9
	}
	return 5
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func sum(m map[string]float64, except ...string) float64 {
	var s float64
	for k, v := range m {
		if !slices.Contains(except, k) {
			s += v
		}
	}
	return s
}
