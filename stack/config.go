package stack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config says what a Stack runs and how. Only Repo is required.
type Config struct {
	// Repo is the repository root. Its Procfile and nats.conf are run, unless
	// Procfile or NATSConf name others.
	Repo string
	// Procfile is the process list; default Repo/Procfile.
	Procfile string
	// NATSConf is nats-server's configuration, rewritten for each run (see
	// Sync); default Repo/nats.conf.
	NATSConf string
	// Bin is the directory of the binaries the Procfile names as bin/...;
	// default Repo/bin (`make build`; Build makes one too). The run directory
	// gets a `bin` symlink to it.
	Bin string
	// WorkDir is where the run directory is made; default os.TempDir().
	WorkDir string
	// Sync is JetStream's sync setting for the run: SyncAsWritten (the
	// default: nats.conf's own), SyncAlways or SyncDefault.
	Sync string
	// Nodes, above 1, runs the Procfile's nats-server entry as a JetStream
	// cluster of that many nodes on loopback (entries nats1, nats2, …, each
	// with its own ports, store directory and routes to the others), and
	// the services with every node's URL and streams of min(Nodes, 3)
	// replicas. Default 1.
	Nodes int
	// ClusterConfs are the nodes' own nats-server configurations when
	// Nodes > 1, rewritten for the run like NATSConf; default
	// Repo/cluster/nats-1.conf, nats-2.conf, … (what make run-cluster runs).
	ClusterConfs []string
	// Partitions, above 1, runs every service as that many partitions
	// (entries <service>-p0, <service>-p1, …, CHOREO_PARTITION=i/n; see
	// package partition). Default 1.
	Partitions int
	// NATSConfExtra is appended to the run's nats.conf at the top level
	// ("max_payload: 64KB", say).
	NATSConfExtra string
	// LogLevel is the processes' CHOREO_LOG_LEVEL: trace, debug or info (the
	// default). A coarser level would hide the "service started" line a
	// service is ready on.
	LogLevel string
	// Env adds KEY=value settings to every process's environment, after the
	// stack's own (so one here overrides it); Stack.Setenv adds to one
	// process's.
	Env []string
	// ReadyTimeout bounds each wait for a process to become ready; default
	// 30s.
	ReadyTimeout time.Duration
	// Keep leaves the run directory (data, logs) in place after Close.
	Keep bool
	// Tools runs the Procfile's tools too (entries whose program is choreo:
	// the console), and then gives every service an HTTP endpoint on a free
	// loopback port (HTTPAddr) and tells the tools where they are. Default
	// off: the crash suite and the benchmark run and measure the services
	// alone.
	Tools bool
	// Secure runs the secure profile, as `make run-secure` does: New
	// describes each service (its program's -describe), generates a CA, a
	// server certificate and an nkey seed per identity in data/secure
	// (package natsauth) and adds TLS and the identities' permissions to
	// the run's nats.conf; each service runs with NATS_CREDS (its own
	// identity) and NATS_TLS_CA, so it provisions nothing itself, and
	// StartAll provisions as the admin identity before starting them.
	// ConnectOptions connects as an identity.
	Secure bool
}

// withDefaults fills in the defaults of the unset fields.
func (c Config) withDefaults() Config {
	if c.Repo != "" {
		if c.Procfile == "" {
			c.Procfile = filepath.Join(c.Repo, "Procfile")
		}
		if c.NATSConf == "" {
			c.NATSConf = filepath.Join(c.Repo, "nats.conf")
		}
		if c.Bin == "" {
			c.Bin = filepath.Join(c.Repo, "bin")
		}
		if c.Nodes > 1 && len(c.ClusterConfs) == 0 {
			for i := range c.Nodes {
				c.ClusterConfs = append(c.ClusterConfs, filepath.Join(c.Repo, "cluster", fmt.Sprintf("nats-%d.conf", i+1)))
			}
		}
	}
	if c.WorkDir == "" {
		c.WorkDir = os.TempDir()
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = 30 * time.Second
	}
	return c
}

// Validate reports every problem of the config at once, each naming its
// field.
func (c Config) Validate() error {
	var errs []error
	if c.Repo == "" && (c.Procfile == "" || c.NATSConf == "" || c.Bin == "") {
		errs = append(errs, errors.New("Repo is required (or all of Procfile, NATSConf and Bin)"))
	}
	if c.Nodes > 1 && c.Secure {
		errs = append(errs, errors.New("Nodes: a cluster in the secure profile is not supported"))
	}
	if c.Partitions > 1 && c.Secure {
		// The identities' permissions know neither a partition's request
		// subjects nor its durables.
		errs = append(errs, errors.New("Partitions: partitions in the secure profile are not supported"))
	}
	if c.Nodes < 0 || c.Nodes > 7 {
		errs = append(errs, fmt.Errorf("Nodes must be from 1 to 7, not %d", c.Nodes))
	}
	if c.Nodes > 1 && len(c.ClusterConfs) != c.Nodes {
		errs = append(errs, fmt.Errorf("ClusterConfs: %d node configurations for %d nodes", len(c.ClusterConfs), c.Nodes))
	}
	if c.Partitions < 0 || c.Partitions > 64 {
		errs = append(errs, fmt.Errorf("Partitions must be from 1 to 64, not %d", c.Partitions))
	}
	switch c.Sync {
	case SyncAsWritten, SyncAlways, SyncDefault:
	default:
		errs = append(errs, fmt.Errorf("Sync must be %q, %q or empty (as nats.conf says), not %q", SyncAlways, SyncDefault, c.Sync))
	}
	switch strings.ToLower(c.LogLevel) {
	case "", "trace", "debug", "info":
	default:
		errs = append(errs, fmt.Errorf(`LogLevel must be trace, debug or info, not %q: a service is ready once it logs "service started" at info`, c.LogLevel))
	}
	if err := checkEnv("Env", c.Env); err != nil {
		errs = append(errs, err)
	}
	if c.ReadyTimeout < 0 {
		errs = append(errs, fmt.Errorf("ReadyTimeout must not be negative, got %v", c.ReadyTimeout))
	}
	return errors.Join(errs...)
}

// checkEnv reports the settings of field that are not KEY=value.
func checkEnv(field string, env []string) error {
	var errs []error
	for i, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			errs = append(errs, fmt.Errorf("%s[%d]: %q is not KEY=value", field, i, kv))
		}
	}
	return errors.Join(errs...)
}
