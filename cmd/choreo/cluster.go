package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/choreo-dev/choreo/stack"
	"github.com/spf13/cobra"
)

const clusterHelp = `Choreo past one machine's limits: a three-node JetStream cluster with
replicated (R3) streams, and every service as partitions (docs/scaling.md).

  choreo cluster init [-partitions N] [-procfile Procfile] [-nodes 'cluster/nats-*.conf'] [-dir data/cluster]
      Writes DIR/Procfile: a nats-server for each node configuration, and
      each service of the Procfile as N partitions (<service>-p<i>,
      CHOREO_PARTITION=i/N), told every node's address, streams of three
      replicas and DIR for its bbolt file. make run-cluster PARTITIONS=N
      runs it, then goreman on DIR/Procfile. A partition's HTTP endpoint is
      its service's port plus 100 per partition index (order-p1 on 9201).`

func (c *cli) clusterCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster init ...",
		Short: "generate the Procfile of a three-node cluster with partitioned services",
		Long:  clusterHelp,
		Args:  cobra.ArbitraryArgs,
		RunE: func(_ *cobra.Command, a []string) error {
			if len(a) == 0 {
				return usagef("cluster: no subcommand given (init)")
			}
			return usagef("cluster: unknown subcommand %q (init)", a[0])
		},
	}
	initCmd := &cobra.Command{
		Use:               "init [-partitions N] [-procfile FILE] [-nodes GLOB] [-dir DIR]",
		Short:             "write the cluster's Procfile",
		Args:              args(0, 0),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	partitions := initCmd.Flags().Int("partitions", 2, "how many partitions each service runs as, 1 to 64")
	procfile := initCmd.Flags().String("procfile", "Procfile", "the `Procfile` naming nats-server and the services")
	nodes := initCmd.Flags().String("nodes", filepath.Join("cluster", "nats-*.conf"), "the nodes' nats-server configurations (a glob)")
	dir := initCmd.Flags().String("dir", filepath.Join("data", "cluster"), "where the Procfile and the services' bbolt files go")
	initCmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *partitions < 1 || *partitions > 64 {
			return usagef("cluster init: -partitions must be from 1 to 64, not %d", *partitions)
		}
		entries, err := stack.ReadProcfile(*procfile)
		if err != nil {
			return err
		}
		confs, err := filepath.Glob(*nodes)
		if err != nil {
			return usagef("cluster init: -nodes %q: %v", *nodes, err)
		}
		sort.Strings(confs)
		pf, url, err := stack.ClusterProcfile(entries, "nats.conf", confs, *partitions, *dir)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(*dir, 0o755); err != nil {
			return err
		}
		path := filepath.Join(*dir, "Procfile")
		if err := os.WriteFile(path, []byte(pf), 0o644); err != nil {
			return err
		}
		out := map[string]any{"procfile": path, "nodes": confs, "partitions": *partitions, "nats_url": url}
		return c.show(out, func() {
			fmt.Fprintf(c.stdout, "cluster of %d nodes, services in %d partition(s): %s\n  goreman -f %s start\n",
				len(confs), *partitions, path, path)
			fmt.Fprintf(c.stdout, "as a client, to reach whichever node is up: export NATS_URL=%s\n", url)
		})
	}
	cmd.AddCommand(initCmd)
	return cmd
}
