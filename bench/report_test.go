package bench_test

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/choreo-dev/choreo/bench"
)

func sampleResults() *bench.Results {
	p50, p99 := 4.2, 18.5
	r := &bench.Results{
		Sync: bench.SyncAlways, SagasPerSec: 1234.4, CompletedPerSec: 1111, P50At500: &p50, P99At500: &p99,
		EventsPerSaga: 6.9, BytesPerSaga: 4700, RawAsyncPerSec: 6000, RawBatchPerSec: 26000,
		EventsPublishedPerSec: 8500, RatioToRaw: 0.327,
		MaxRSSMiB:           map[string]float64{"nats": 100, "order": 50, "payment": 30, "inventory": 30, "shipping": 20, "bench": 20},
		CPUSeconds:          map[string]float64{"nats": 10, "order": 9, "payment": 3, "inventory": 3, "shipping": 2, "bench": 1},
		CPUMsPerSaga:        map[string]float64{"nats": 1, "order": 1, "payment": 0.5, "inventory": 0.5, "shipping": 0.4, "bench": 0.1, "total": 3.4},
		BboltCommitsPerSaga: map[string]float64{"order": 0.6, "total": 1.3},
		ClosedLoop:          bench.PhaseResult{Name: "closed loop", Workers: 256, WindowSec: 30},
		OpenLoop: []bench.PhaseResult{
			{OfferedPerSec: 100, AchievedPerSec: 99, Latency: bench.Latency{Count: 1000, P50: 3, P95: 5, P99: 8, Max: 12}},
			{OfferedPerSec: 500, AchievedPerSec: 497, Latency: bench.Latency{Count: 5000, P50: 4.2, P95: 10, P99: 18.5, Max: 40}},
			{OfferedPerSec: 2000, AchievedPerSec: 900, Label: "80% of max", Latency: bench.Latency{Count: 9000, P50: 2000, P95: 5000, P99: 6000, Max: 7000}},
		},
		Exits: map[string]int{"nats": 0, "order": 0},
	}
	return r
}

// results.json holds the keys issue 4 says scripts compare runs by.
func TestWriteResults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := sampleResults()
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"sagas_per_sec", "p50_ms_at_500", "p99_ms_at_500", "events_per_saga",
		"raw_async_publish_per_sec", "raw_batch_publish_per_sec", "ratio_to_raw", "max_rss_mib", "sync",
		"cpu_seconds", "bytes_per_saga", "bbolt_commits_per_saga", "open_loop", "machine"} {
		if _, ok := m[k]; !ok {
			t.Errorf("results.json has no %q", k)
		}
	}
	if m["sync"] != "always" {
		t.Errorf("sync = %v", m["sync"])
	}
	if _, ok := m["max_rss_mib"].(map[string]any)["order"]; !ok {
		t.Errorf("max_rss_mib is not per process: %v", m["max_rss_mib"])
	}
	md, err := os.ReadFile(filepath.Join(dir, "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| closed loop, 256 workers, 30 s", "**1234**", "| 500 | 497 |", "80% of max", "latency.svg"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("results.md lacks %q:\n%s", want, md)
		}
	}
	svg, err := os.Open(filepath.Join(dir, "latency.svg"))
	if err != nil {
		t.Fatal(err)
	}
	defer svg.Close()
	dec := xml.NewDecoder(svg)
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("latency.svg is not well-formed XML: %v", err)
		}
	}

	r.Sync = bench.SyncDefault
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"results-default-sync.json", "results-default-sync.md", "latency-default-sync.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}
