package stack

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/choreo-dev/choreo/shared/partition"
)

// nodeConfs returns the nats-server configuration of each node of the run
// (one unless Nodes > 1), its client URL and its monitoring URL, rewritten
// for free loopback ports: nats.conf for a single server; for a cluster,
// each node's own configuration (Config.ClusterConfs) with a store
// directory of its own, a server name and routes to every other node.
func nodeConfs(conf string, cfg Config, nodes int) (confs, urls, monitors []string, err error) {
	free, err := freePortsN(3 * nodes)
	if err != nil {
		return nil, nil, nil, err
	}
	ports := make([][3]int, nodes) // client, monitoring, cluster
	for i := range ports {
		ports[i] = [3]int{free[3*i], free[3*i+1], free[3*i+2]}
	}
	var routes []string
	for _, p := range ports {
		routes = append(routes, "    nats-route://127.0.0.1:"+strconv.Itoa(p[2]))
	}
	for i, p := range ports {
		src, name := conf, cfg.NATSConf
		o := confOptions{Sync: cfg.Sync, Listen: "127.0.0.1:" + strconv.Itoa(p[0]), HTTP: "127.0.0.1:" + strconv.Itoa(p[1])}
		if nodes > 1 {
			name = cfg.ClusterConfs[i]
			b, err := os.ReadFile(name)
			if err != nil {
				return nil, nil, nil, err
			}
			src = string(b)
			o.StoreDir = "data/nats-" + strconv.Itoa(i+1)
			o.Cluster = fmt.Sprintf("server_name: n%d\ncluster {\n  name: choreo\n  listen: 127.0.0.1:%d\n  routes: [\n%s\n  ]\n}\n",
				i+1, p[2], strings.Join(routes, "\n"))
		}
		rc, err := runConf(src, o)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		if cfg.NATSConfExtra != "" {
			rc += "\n# added for this run\n" + cfg.NATSConfExtra + "\n"
		}
		confs = append(confs, rc)
		urls = append(urls, "nats://"+o.Listen)
		monitors = append(monitors, "http://"+o.HTTP)
	}
	return confs, urls, monitors, nil
}

// nodeConfName is the file node i's configuration is written to in the run
// directory: nats.conf's own name for a single server, nats-<i>.conf for a
// cluster's nodes.
func nodeConfName(natsConf string, i, nodes int) string {
	if nodes == 1 {
		return filepath.Base(natsConf)
	}
	return "nats-" + strconv.Itoa(i+1) + ".conf"
}

// Expand returns the processes of a run from the Procfile's entries: the
// nats-server entry as each node whose configuration file nodeConfs names
// (its command naming that file instead of natsConf; a single node, or
// none named, keeps the entry as written), and each service as each of its
// partitions (<service>-p<i>, Env CHOREO_PARTITION=i/n) when there is more
// than one; a tool stays one entry. nodes are the names of the nats-server entries, in order. The
// test harness and `choreo cluster init` both run a cluster this way.
func Expand(entries []Entry, natsConf string, nodeConfs []string, partitions int) (out []Entry, nodes []string, err error) {
	confName := filepath.Base(natsConf)
	for _, e := range entries {
		switch {
		case e.NATS() && len(nodeConfs) <= 1:
			out = append(out, e)
			nodes = append(nodes, e.Name)
		case e.NATS():
			f := strings.Fields(e.Command)
			at := -1
			for i, tok := range f {
				if filepath.Base(tok) == confName {
					at = i
				}
			}
			if at < 0 {
				return nil, nil, fmt.Errorf("Procfile entry %s: its command does not name %s, which a cluster's nodes replace", e.Name, confName)
			}
			for i, conf := range nodeConfs {
				f[at] = conf
				n := Entry{Name: e.Name + strconv.Itoa(i+1), Command: strings.Join(f, " ")}
				out = append(out, n)
				nodes = append(nodes, n.Name)
			}
		case partitions <= 1 || e.Tool():
			out = append(out, e) // a tool is one process, whatever the partitions
		default:
			for i := range partitions {
				p := partition.Partition{Index: i, Count: partitions}
				out = append(out, Entry{Name: e.Name + p.Suffix(), Command: e.Command,
					Env: append(e.Env[:len(e.Env):len(e.Env)], "CHOREO_PARTITION="+p.String())})
			}
		}
	}
	if len(nodes) == 0 {
		return nil, nil, fmt.Errorf("the Procfile has no nats-server entry")
	}
	return out, nodes, nil
}

// ClusterProcfile is the Procfile `make run-cluster` runs, from the
// repository's Procfile entries: a node for each of nodeConfs (nats-server
// configurations of one cluster, cluster/nats-*.conf), then every service
// as partitions partitions, each told every node's client address (NATS_URL,
// from each configuration's listen), streams of min(nodes, 3) replicas and
// dataDir for its bbolt file, kept apart from a single server's run; a tool
// (the console) is told the nodes' addresses.
//
// It returns the Procfile and NATS_URL, every node's client address.
func ClusterProcfile(entries []Entry, natsConf string, nodeConfs []string, partitions int, dataDir string) (procfile, natsURL string, err error) {
	if len(nodeConfs) < 2 {
		return "", "", fmt.Errorf("a cluster needs at least two node configurations, not %d", len(nodeConfs))
	}
	var urls []string
	for _, path := range nodeConfs {
		conf, err := os.ReadFile(path)
		if err != nil {
			return "", "", err
		}
		listen := topLevelValue(string(conf), "listen")
		if listen == "" {
			return "", "", fmt.Errorf("%s: no top-level listen: the services need each node's client address", path)
		}
		urls = append(urls, "nats://"+listen)
	}
	run, _, err := Expand(entries, natsConf, nodeConfs, partitions)
	if err != nil {
		return "", "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# A %d-node JetStream cluster and the services as %d partition(s), generated by\n", len(nodeConfs), partitions)
	b.WriteString("# `choreo cluster init` from the Procfile: do not edit (make run-cluster writes\n")
	b.WriteString("# it again). Run from the repository root.\n")
	common := []string{"NATS_URL=" + strings.Join(urls, ","),
		"CHOREO_STREAM_REPLICAS=" + strconv.Itoa(min(3, len(nodeConfs))), "CHOREO_DATA_DIR=" + dataDir}
	// Each partition's HTTP endpoint, so that the console can read every
	// one: the k-th service of the Procfile's partition i on 9101+k+100·i —
	// with the repository's Procfile, each service's default port plus 100
	// per partition.
	http := map[string]string{}
	var all []string
	k := 0
	for _, e := range entries {
		if !e.Service() {
			continue
		}
		for i := range partitions {
			name := e.Name
			if partitions > 1 {
				name += partition.Partition{Index: i, Count: partitions}.Suffix()
			}
			http[name] = fmt.Sprintf("127.0.0.1:%d", firstHTTPPort+k+100*i)
			all = append(all, name+"="+http[name])
		}
		k++
	}
	for _, e := range run {
		switch {
		case e.NATS():
			fmt.Fprintf(&b, "%s: %s\n", e.Name, e.Command)
		case e.Tool():
			fmt.Fprintf(&b, "%s: NATS_URL=%s CHOREO_CONSOLE_SERVICES=%s %s\n", e.Name, strings.Join(urls, ","), strings.Join(all, ","), e.Command)
		default:
			env := append(append(append([]string(nil), common...), e.Env...), "CHOREO_HTTP_ADDR="+http[e.Name])
			fmt.Fprintf(&b, "%s: %s %s\n", e.Name, strings.Join(env, " "), e.Command)
		}
	}
	return b.String(), strings.Join(urls, ","), nil
}

// firstHTTPPort is the first service's HTTP port in a cluster's Procfile:
// the order service's default.
const firstHTTPPort = 9101

// topLevelValue is the value of key outside every block of a nats-server
// configuration ("" if it has none).
func topLevelValue(conf, key string) string {
	depth := 0
	for _, line := range strings.Split(conf, "\n") {
		if depth == 0 && confKey(line) == key {
			return confValue(line, key)
		}
		o, c := braces(line)
		depth += o - c
	}
	return ""
}
