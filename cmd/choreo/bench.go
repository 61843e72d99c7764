package main

import (
	"github.com/choreo-dev/choreo/bench"
	"github.com/spf13/cobra"
)

func (c *cli) benchCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "bench [-sync always|default|both] [-duration D] ...",
		Short: "benchmark the whole stack, started from the Procfile (make bench)",
		Long: `Starts nats-server and the four services from the Procfile, measures them
and writes results*.json, results*.md and latency*.svg. "choreo bench -h"
lists its flags; with -o json it prints the results as JSON instead of
Markdown.`,
		// bench has its own flags (Go's flag package); it gets the rest of
		// the line as it was typed.
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, a []string) error {
			if c.isJSON() {
				a = append([]string{"-o", "json"}, a...)
			}
			return bench.Main(cmd.Context(), a, c.stdout, c.stderr)
		},
	}
}
