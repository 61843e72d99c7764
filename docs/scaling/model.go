//go:build ignore

// The scaling model of docs/scaling.md: projects Choreo's sagas/s against
// cores, partitions and NATS nodes from one benchmark run's measurements.
//
//	go run docs/scaling/model.go -results docs/scaling/results/r2-results-p2.json -cores 8 -nodes 3 -r3-cost 1
//
// With -table it prints instead the measured scaling table of the results
// files named after the flags (one row each):
//
//	go run docs/scaling/model.go -table bench/results.json bench/results-p2.json …
//
// What it takes from the results file (choreo bench -o json, or the
// results*.json it writes): each service's CPU per saga (summed over its
// partitions), the broker's CPU per saga, the events per saga on each
// stream, and the raw atomic-batch publish rate of one stream. What it
// assumes, and nothing more: CPU per saga stays what was measured; a
// service's partitions spread over cores without contention; each stream's
// leader takes at most the raw rate measured (divided by -r3-cost when
// replicated); the broker's CPU per saga, times -r3-cpu when replicated,
// spreads over the nodes.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
)

type results struct {
	CPUMsPerSaga map[string]float64 `json:"cpu_ms_per_saga"`
	BboltCommits map[string]float64 `json:"bbolt_commits_per_saga"`
	OpenLoop     []struct {
		Label   string  `json:"label"`
		Offered float64 `json:"offered_per_sec"`
		Latency struct {
			P50 float64 `json:"p50_ms"`
			P99 float64 `json:"p99_ms"`
		} `json:"latency"`
	} `json:"open_loop"`
	Machine struct {
		LoadStart float64 `json:"load_avg_start"`
		LoadEnd   float64 `json:"load_avg_end"`
	} `json:"machine"`
	EventsPerStream map[string]float64 `json:"events_per_saga_by_stream"`
	RawBatchPerSec  float64            `json:"raw_batch_publish_per_sec"`
	SagasPerSec     float64            `json:"sagas_per_sec"`
	Config          struct {
		Nodes      int `json:"nodes"`
		Partitions int `json:"partitions"`
	} `json:"config"`
}

func main() {
	file := flag.String("results", "docs/scaling/results/r2-results-p2.json", "a choreo bench results file")
	cores := flag.Int("cores", 8, "cores per machine")
	nodes := flag.Int("nodes", 3, "NATS nodes (each on a machine of its own)")
	split := flag.Bool("split-streams", false, "project step 4 of docs/scaling.md: a stream per service partition, each with a leader of its own")
	r3 := flag.Float64("r3-cost", 1.5, "how much slower a stream leader appends with three replicas than with one (measure it: choreo bench -nodes 3)")
	r3CPU := flag.Float64("r3-cpu", 2.3, "how much more broker CPU a saga costs with three replicas than with one, over all nodes (measured here: 2.3)")
	table := flag.Bool("table", false, "print the measured scaling table of the results files named as arguments")
	flag.Parse()
	if *table {
		printTable(flag.Args())
		return
	}

	r := read(*file)
	services := map[string]float64{} // service -> CPU ms per saga, over its partitions
	broker := 0.0
	for proc, ms := range r.CPUMsPerSaga {
		switch {
		case proc == "total" || proc == "bench":
		case strings.HasPrefix(proc, "nats"):
			broker += ms
		default:
			base, _, _ := strings.Cut(proc, "-p")
			services[base] += ms
		}
	}
	if len(services) == 0 || r.RawBatchPerSec == 0 {
		fail(fmt.Errorf("%s: no per-process CPU or raw publish rate", *file))
	}
	names := make([]string, 0, len(services))
	for s := range services {
		names = append(names, s)
	}
	sort.Strings(names)

	// The busiest stream bounds the saga rate: its leader appends every
	// event of its service, whatever the partitions.
	busiest, perSaga := "", 0.0
	for s, n := range r.EventsPerStream {
		if n > perSaga {
			busiest, perSaga = s, n
		}
	}
	replicated := 1.0
	if *nodes > 1 {
		replicated = *r3
	}
	streamCap := r.RawBatchPerSec / replicated / perSaga
	brokerFactor := 1.0 // R3: every node stores every event
	if *nodes > 1 && r.Config.Nodes <= 1 {
		brokerFactor = *r3CPU
	}

	fmt.Printf("measured (%s, %d node(s), %d partition(s)): %.0f sagas/s on this machine\n",
		*file, max(1, r.Config.Nodes), max(1, r.Config.Partitions), r.SagasPerSec)
	fmt.Printf("CPU ms per saga:")
	for _, s := range names {
		fmt.Printf(" %s %.2f", s, services[s])
	}
	fmt.Printf(", broker %.2f (x%.1f for R3)\n", broker, brokerFactor)
	fmt.Printf("one stream leader: %.0f events/s raw, /%.1f for R3 -> %s (%.1f events/saga) caps at %.0f sagas/s\n\n",
		r.RawBatchPerSec, replicated, busiest, perSaga, streamCap)

	fmt.Printf("%-11s %-8s %-14s %-14s %-14s %s\n", "partitions", "cores", "services cap", "broker cap", "stream cap", "projected sagas/s (limit)")
	for _, p := range []int{1, 2, 4, 8, 16, 32} {
		// Each partition of each service gets a core; a machine of -cores
		// cores hosts -cores partitions.
		svcCap, limit := math.Inf(1), ""
		for _, s := range names {
			c := float64(p) * 1000 / services[s]
			if c < svcCap {
				svcCap, limit = c, s
			}
		}
		brokerCap := float64(*nodes**cores) * 1000 / (broker * brokerFactor)
		streamCap := streamCap
		if *split {
			streamCap *= float64(p)
		}
		proj := min(svcCap, brokerCap, streamCap)
		switch proj {
		case brokerCap:
			limit = "broker CPU"
		case streamCap:
			limit = busiest + " leader"
		default:
			limit += " CPU"
		}
		machines := int(math.Ceil(float64(p*len(names))/float64(*cores))) + *nodes
		fmt.Printf("%-11d %-8d %-14.0f %-14.0f %-14.0f %.0f (%s; %d machines of %d cores)\n",
			p, p*len(names), svcCap, brokerCap, streamCap, proj, limit, machines, *cores)
	}
}

func read(file string) results {
	b, err := os.ReadFile(file)
	if err != nil {
		fail(err)
	}
	var r results
	if err := json.Unmarshal(b, &r); err != nil {
		fail(fmt.Errorf("%s: %w", file, err))
	}
	return r
}

// printTable prints one Markdown row per results file: what a deployment
// of that shape did on the machine the file was measured on.
func printTable(files []string) {
	fmt.Println("| NATS nodes | partitions | sagas/s (closed loop) | per partition | CPU ms/saga, all | of it nats-server | bbolt commits/saga | p50 / p99 at 100/s, ms | p50 / p99 at 50% of max, ms | load avg |")
	fmt.Println("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, f := range files {
		r := read(f)
		nats := 0.0
		for proc, ms := range r.CPUMsPerSaga {
			if strings.HasPrefix(proc, "nats") {
				nats += ms
			}
		}
		at := func(label string, offered float64) string {
			for _, o := range r.OpenLoop {
				if (label != "" && strings.Contains(o.Label, label)) || (label == "" && o.Offered == offered) {
					return fmt.Sprintf("%.0f / %.0f", o.Latency.P50, o.Latency.P99)
				}
			}
			return "–"
		}
		p := max(1, r.Config.Partitions)
		fmt.Printf("| %d | %d | %.0f | %.0f | %.2f | %.2f | %.2f | %s | %s | %.1f–%.1f |\n",
			max(1, r.Config.Nodes), p, r.SagasPerSec, r.SagasPerSec/float64(p), r.CPUMsPerSaga["total"], nats,
			r.BboltCommits["total"], at("", 100), at("50%", 0), r.Machine.LoadStart, r.Machine.LoadEnd)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "model:", err)
	os.Exit(1)
}
