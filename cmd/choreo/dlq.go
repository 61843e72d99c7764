package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/choreo-dev/choreo/client/dlq"
	"github.com/choreo-dev/choreo/shared/deadletter"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
)

const dlqHelp = `A consumer that gives up on a message copies it to the DLQ stream, subject
dlq.<service>.<original subject>, with headers that say where it came from.

  choreo dlq ls [-service S]
      List the dead letters (of service S): DLQ sequence, subject, original
      stream and sequence, deliveries, when, and the error.
  choreo dlq show SEQ
      Print one dead letter's headers and body.
  choreo dlq redrive SEQ|-all [-service S]
      Send dead letters back, once their cause is fixed. Each letter's
      original body is republished on its original subject (expecting its
      original stream) with its original headers, except that Nats-Msg-Id
      becomes redrive.<dlq seq>.<original msg id> (redrive.<dlq seq> if the
      original had none) and Choreo-Redriven-From is set to the DLQ
      sequence; once JetStream acknowledges it, the letter is deleted from
      the DLQ stream.
      The new message id is needed because JetStream would drop the original
      id as a duplicate within its window. Every consumer of the original
      stream receives the event again: those that handled it before find its
      envelope id in their inbox and do nothing, and the one that gave up
      handles it now, once. If choreo stops between the publish and the
      delete, redriving again publishes the same id, which JetStream (within
      2 minutes) or the inboxes (after) drop.
      -all redrives the letters present when it starts; a letter that fails
      again comes back under a new sequence.
  choreo dlq purge SEQ|-all [-service S] -yes
      Delete dead letters without redriving them.

Dead letters are read with the stream's message-get API: no consumer is
created. With -o json, ls prints a JSON array of letters, show one letter,
redrive a JSON array of what it republished, and purge {"purged":N}.`

func (c *cli) dlqCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dlq ls|show|redrive|purge ...",
		Short: "inspect, redrive or purge dead letters",
		Long:  dlqHelp,
		Args:  cobra.ArbitraryArgs,
		RunE: func(_ *cobra.Command, a []string) error {
			if len(a) == 0 {
				return usagef("dlq: no subcommand given (ls, show, redrive or purge)")
			}
			return usagef("dlq: unknown subcommand %q (ls, show, redrive or purge)", a[0])
		},
	}
	cmd.AddCommand(c.dlqLsCmd(), c.dlqShowCmd(), c.dlqRedriveCmd(), c.dlqPurgeCmd())
	return cmd
}

// serviceFlag adds -service to cmd.
func serviceFlag(cmd *cobra.Command) *string {
	s := cmd.Flags().String("service", "", "only the dead letters of this `service` (order, payment, inventory, shipping)")
	_ = cmd.RegisterFlagCompletionFunc("service", fixed("order", "payment", "inventory", "shipping"))
	return s
}

func checkService(s string) error {
	if !dlq.ValidService(s) {
		return usagef("--service %q is not a service name", s)
	}
	return nil
}

func parseSeq(s string) (uint64, error) {
	seq, err := strconv.ParseUint(s, 10, 64)
	if err != nil || seq == 0 {
		return 0, usagef("SEQ must be a DLQ stream sequence (a positive integer), not %q", s)
	}
	return seq, nil
}

// selection is the letters a redrive or purge acts on: SEQ, or -all of
// -service.
type selection struct {
	all     bool
	service *string
}

func newSelection(cmd *cobra.Command) *selection {
	s := &selection{service: serviceFlag(cmd)}
	cmd.Flags().BoolVar(&s.all, "all", false, "every dead letter (of -service)")
	return s
}

// parse checks the arguments and returns the selection they make.
func (s *selection) parse(cmd *cobra.Command, a []string) (dlq.Selection, error) {
	name := cmd.CommandPath()
	switch {
	case s.all == (len(a) == 1):
		return dlq.Selection{}, usagef("%s: give either SEQ or -all", name)
	case len(a) == 1 && *s.service != "":
		return dlq.Selection{}, usagef("%s: -service goes with -all", name)
	case len(a) == 1:
		seq, err := parseSeq(a[0])
		return dlq.Selection{Seq: seq}, err
	}
	return dlq.Selection{All: true, Service: *s.service}, checkService(*s.service)
}

// eachLetter calls fn with each selected letter (dlq.Each), each with its
// own -timeout; with -all a failing letter is reported on stderr and the
// others still get their turn.
func (c *cli) eachLetter(ctx context.Context, js jetstream.JetStream, sel dlq.Selection, fn func(context.Context, deadletter.Letter) error) error {
	return dlq.Each(ctx, js, sel, c.timeout, fn, func(err error) { fmt.Fprintf(c.stderr, "choreo: %v\n", err) })
}
