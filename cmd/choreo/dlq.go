package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/choreo-dev/choreo/shared/deadletter"
	"github.com/nats-io/nats.go"
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

// letterJSON is a dead letter as -o json prints it.
type letterJSON struct {
	Seq             uint64      `json:"seq"`
	Subject         string      `json:"subject"`
	Service         string      `json:"service"`
	Stream          string      `json:"stream"`
	StreamSeq       uint64      `json:"stream_seq"`
	OriginalSubject string      `json:"original_subject"`
	Deliveries      uint64      `json:"deliveries"`
	Error           string      `json:"error"`
	MsgID           string      `json:"msg_id"`
	Time            time.Time   `json:"time"`
	Headers         nats.Header `json:"headers"`
	Data            any         `json:"data"` // the body, as JSON if it is, else as a string
}

func toJSON(l deadletter.Letter) letterJSON {
	var data any = json.RawMessage(l.Data)
	if !json.Valid(l.Data) {
		data = string(l.Data)
	}
	return letterJSON{l.Seq, l.Subject, l.Service, l.Stream, l.StreamSeq, l.OriginalSubject, l.Deliveries, l.Error, l.MsgID, l.Time, l.Header, data}
}

// serviceFlag adds -service to cmd.
func serviceFlag(cmd *cobra.Command) *string {
	s := cmd.Flags().String("service", "", "only the dead letters of this `service` (order, payment, inventory, shipping)")
	_ = cmd.RegisterFlagCompletionFunc("service", fixed("order", "payment", "inventory", "shipping"))
	return s
}

func checkService(s string) error {
	if strings.ContainsAny(s, ".*> \t") {
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

// seq checks the arguments; it returns 0 for -all.
func (s *selection) seq(cmd *cobra.Command, a []string) (uint64, error) {
	name := cmd.CommandPath()
	switch {
	case s.all == (len(a) == 1):
		return 0, usagef("%s: give either SEQ or -all", name)
	case len(a) == 1 && *s.service != "":
		return 0, usagef("%s: -service goes with -all", name)
	case len(a) == 1:
		return parseSeq(a[0])
	}
	return 0, checkService(*s.service)
}

// eachLetter calls fn with the letter at seq, or with every letter of
// service if seq is 0, each with its own -timeout. With -all a failing letter
// is reported and the others still get their turn.
func (c *cli) eachLetter(ctx context.Context, js jetstream.JetStream, seq uint64, service string, fn func(context.Context, deadletter.Letter) error) error {
	if seq != 0 {
		octx, cancel := context.WithTimeout(ctx, c.timeout)
		defer cancel()
		l, err := deadletter.Get(octx, js, seq)
		if err != nil {
			return dlqError(err)
		}
		return dlqError(fn(octx, l))
	}
	var errs []error
	err := deadletter.Scan(ctx, js, service, func(l deadletter.Letter) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		octx, cancel := context.WithTimeout(ctx, c.timeout)
		defer cancel()
		if err := fn(octx, l); err != nil {
			fmt.Fprintf(c.stderr, "choreo: %v\n", err)
			errs = append(errs, err)
		}
		return nil
	})
	if err != nil {
		return dlqError(err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d dead letter(s) failed", len(errs))
	}
	return nil
}

// dlqError explains the errors an operator can act on.
func dlqError(err error) error {
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("%w (no DLQ stream: has a service started?)", err)
	}
	return err
}
