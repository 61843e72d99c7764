package stack_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/choreo-dev/choreo/stack"
)

func TestExpandRunsNodesAndPartitions(t *testing.T) {
	t.Parallel()
	entries := []stack.Entry{
		{Name: "nats", Command: "bin/nats-server -c nats.conf"},
		{Name: "order", Command: "bin/order"},
	}
	got, nodes, err := stack.Expand(entries, "nats.conf", []string{"n-1.conf", "n-2.conf"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []stack.Entry{
		{Name: "nats1", Command: "bin/nats-server -c n-1.conf"},
		{Name: "nats2", Command: "bin/nats-server -c n-2.conf"},
		{Name: "order-p0", Command: "bin/order", Env: []string{"CHOREO_PARTITION=0/2"}},
		{Name: "order-p1", Command: "bin/order", Env: []string{"CHOREO_PARTITION=1/2"}},
	}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(nodes, []string{"nats1", "nats2"}) {
		t.Errorf("Expand = %+v, nodes %v; want %+v, [nats1 nats2]", got, nodes, want)
	}

	// One node and one partition: the Procfile as written.
	got, nodes, err = stack.Expand(entries, "nats.conf", nil, 1)
	if err != nil || !reflect.DeepEqual(got, entries) || !reflect.DeepEqual(nodes, []string{"nats"}) {
		t.Errorf("Expand(no cluster) = %+v, %v, %v; want the entries, [nats]", got, nodes, err)
	}

	if _, _, err := stack.Expand(entries, "other.conf", []string{"a", "b"}, 1); err == nil || !strings.Contains(err.Error(), "other.conf") {
		t.Errorf("Expand with a command not naming the configuration: err = %v, want one naming other.conf", err)
	}
	if _, _, err := stack.Expand(entries[1:], "nats.conf", nil, 1); err == nil {
		t.Error("Expand without a nats-server entry: no error")
	}
}

// TestClusterProcfileOfTheRepository: make run-cluster's Procfile, from the
// repository's own Procfile and cluster configurations, parses as a
// Procfile, runs three nodes and each service as partitions told every
// node's address.
func TestClusterProcfileOfTheRepository(t *testing.T) {
	t.Parallel()
	entries, err := stack.ReadProcfile("../Procfile")
	if err != nil {
		t.Fatal(err)
	}
	confs, err := filepath.Glob("../cluster/nats-*.conf")
	if err != nil || len(confs) != 3 {
		t.Fatalf("cluster configurations: %v, %v; want three", confs, err)
	}
	pf, url, err := stack.ClusterProcfile(entries, "nats.conf", confs, 3, "data/cluster")
	if err != nil {
		t.Fatal(err)
	}
	if url != "nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224" {
		t.Errorf("NATS_URL = %q", url)
	}
	run, err := stack.ParseProcfile(strings.NewReader(pf))
	if err != nil {
		t.Fatalf("the generated Procfile does not parse: %v\n%s", err, pf)
	}
	services, tools := 0, 0
	for _, e := range entries {
		switch {
		case e.Service():
			services++
		case e.Tool():
			tools++
		}
	}
	if len(run) != 3+3*services+tools || tools != 1 {
		t.Fatalf("%d entries, want 3 nodes, %d service partitions and the console:\n%s", len(run), 3*services, pf)
	}
	for _, e := range run {
		switch {
		case e.NATS():
		case e.Tool():
			// One console, told where the nodes are and every partition's
			// HTTP endpoint.
			if e.Name != "console" || !strings.Contains(e.Command, "NATS_URL="+url+" ") || strings.Contains(e.Command, "CHOREO_PARTITION") ||
				!strings.Contains(e.Command, "order-p2=127.0.0.1:9301,") || !strings.HasSuffix(e.Command, " bin/choreo console") {
				t.Errorf("%s: %q", e.Name, e.Command)
			}
		default:
			for _, want := range []string{"NATS_URL=" + url, "CHOREO_STREAM_REPLICAS=3", "CHOREO_DATA_DIR=data/cluster", "CHOREO_PARTITION=", "CHOREO_HTTP_ADDR=127.0.0.1:9"} {
				if !strings.Contains(e.Command, want) {
					t.Errorf("%s: %q lacks %s", e.Name, e.Command, want)
				}
			}
		}
	}
}
