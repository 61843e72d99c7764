package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/spf13/cobra"
)

const parkedHelp = `An event a service stored but JetStream refuses for good — larger than the
server's max_payload — is parked: moved out of the service's outbox, so it
never holds up the events behind it, and kept until an operator acts. The
service says so on its readiness check "outbox.parked".

  choreo parked ls -service S
      List S's parked entries: outbox sequence, subject, event id, size, why.
  choreo parked retry SEQ -service S
      Put it back in the outbox (after raising the server's max_payload, say):
      it is published next, with its original id.
  choreo parked drop SEQ -service S -yes
      Delete it: the event stays in S's log but is never published.`

func (c *cli) parkedCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "parked ls|retry|drop ...",
		Short: "list, retry or drop the outbox entries a service parked",
		Long:  parkedHelp,
		Args:  cobra.ArbitraryArgs,
		RunE: func(_ *cobra.Command, a []string) error {
			if len(a) == 0 {
				return usagef("parked: no subcommand given (ls, retry or drop)")
			}
			return usagef("parked: unknown subcommand %q (ls, retry or drop)", a[0])
		},
	}
	var service string
	cmd.PersistentFlags().StringVar(&service, "service", "", "the service whose outbox it is (required)")
	need := func() error {
		if service == "" {
			return usagef("parked: -service is required")
		}
		return nil
	}
	ls := &cobra.Command{
		Use: "ls -service S", Short: "list a service's parked outbox entries", Args: args(0, 0),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := need(); err != nil {
				return err
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			es, err := cl.Parked(cmd.Context(), service)
			if err != nil {
				return err
			}
			return c.show(es, func() {
				if len(es) == 0 {
					fmt.Fprintf(c.stdout, "%s has nothing parked\n", service)
				}
				for _, e := range es {
					fmt.Fprintf(c.stdout, "%d  %s  %s  %d bytes  %s  %s\n", e.Seq, e.Subject, e.EventID, e.Bytes,
						e.ParkedAt.Format(time.RFC3339), e.Reason)
				}
			})
		},
	}
	retry := &cobra.Command{
		Use: "retry SEQ -service S", Short: "put a parked entry back in the outbox", Args: args(1, 1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, a []string) error {
			return c.parkedAct(cmd, a, service, "requeued", (*client.Client).RetryParked)
		},
	}
	var yes bool
	drop := &cobra.Command{
		Use: "drop SEQ -service S -yes", Short: "delete a parked entry (its event is never published)", Args: args(1, 1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, a []string) error {
			if !yes {
				return usagef("parked drop deletes the entry for good: add -yes")
			}
			return c.parkedAct(cmd, a, service, "dropped", (*client.Client).DropParked)
		},
	}
	drop.Flags().BoolVar(&yes, "yes", false, "really delete")
	cmd.AddCommand(ls, retry, drop)
	return cmd
}

// parkedAct runs act on the parked entry a[0] of service.
func (c *cli) parkedAct(cmd *cobra.Command, a []string, service, what string,
	act func(*client.Client, context.Context, string, uint64) error) error {
	if service == "" {
		return usagef("parked: -service is required")
	}
	seq, err := strconv.ParseUint(a[0], 10, 64)
	if err != nil || seq == 0 {
		return usagef("parked: SEQ must be a positive integer, got %q", a[0])
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	if err := act(cl, cmd.Context(), service, seq); err != nil {
		return err
	}
	return c.show(map[string]any{"service": service, "seq": seq, what: true}, func() {
		fmt.Fprintf(c.stdout, "%s: parked entry %d %s\n", service, seq, what)
	})
}
