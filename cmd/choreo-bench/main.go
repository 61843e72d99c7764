// Command choreo-bench benchmarks the whole Choreo stack, started from the
// Procfile as real processes: closed-loop throughput, open-loop latency, the
// raw JetStream ceiling, CPU, memory, events and bbolt commits per saga.
// `make bench` runs it with -sync both; -h lists the flags.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/choreo-dev/choreo/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench.Main(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "choreo-bench:", err)
		os.Exit(1)
	}
}
