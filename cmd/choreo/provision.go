package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/choreo-dev/choreo/shared/provision"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/choreo-dev/choreo/stack"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
)

const provisionHelp = `Creates or updates what the services need on NATS: each service's event
stream, the DLQ, and every service's durable consumers, exactly as a
service makes them for itself when it may (the same configurations, from
the same declarations). The services are the Procfile's entries; each
program's -describe says what it publishes and hears, so the binaries must
be built (make build).

In the secure profile (make run-secure) the services may not create streams
or consumers: run this as the admin identity (NATS_CREDS=data/secure/admin.nk)
before they start, and again after an upgrade that adds an event type or a
reaction. It is idempotent; a durable that exists keeps its position.`

func (c *cli) provisionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:               "provision [-procfile FILE] [-wait D] [-replicas N]",
		Short:             "create or update the services' streams and durable consumers (the admin's job in the secure profile)",
		Long:              provisionHelp,
		Args:              args(0, 0),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	procfile := cmd.Flags().String("procfile", "Procfile", "the `Procfile` naming the services (their commands run from its directory)")
	wait := cmd.Flags().Duration("wait", 0, "wait up to this long for NATS to come up (0: fail at once)")
	replicas := cmd.Flags().Int("replicas", 1, "each stream's replicas: 1 on a single server, 3 in a cluster")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *replicas < 1 || *replicas > 5 {
			return usagef("--replicas must be between 1 and 5, not %d", *replicas)
		}
		if *wait < 0 {
			return usagef("--wait must not be negative")
		}
		descs, err := stack.Describe(cmd.Context(), *procfile, filepath.Dir(*procfile))
		if err != nil {
			return err
		}
		if err := c.connectWaiting(cmd.Context(), *wait); err != nil {
			return err
		}
		js, err := jetstream.New(c.nc)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), c.timeout) // the whole provisioning
		defer cancel()
		r, err := provision.Apply(ctx, js, descs, streams.Options{Replicas: *replicas})
		if err != nil {
			return fmt.Errorf("provision: %w", err)
		}
		return c.show(r, func() {
			for _, s := range r.Streams {
				fmt.Fprintf(c.stdout, "stream %s: ready\n", s)
			}
			for _, d := range r.Consumers {
				did := "updated"
				if d.Created {
					did = "created"
				}
				fmt.Fprintf(c.stdout, "durable %s on %s: %s\n", d.Name, d.Stream, did)
			}
		})
	}
	return cmd
}

// connectWaiting connects, retrying for up to wait while NATS is not there
// yet (the Procfile starts nats-server beside this command).
func (c *cli) connectWaiting(ctx context.Context, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		_, err := c.conn()
		if err == nil || time.Now().After(deadline) || !isNoServers(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func isNoServers(err error) bool { return errors.Is(err, nats.ErrNoServers) }
