package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/choreo-dev/choreo/shared/deadletter"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const dlqHelp = `
A consumer that gives up on a message copies it to the DLQ stream, subject
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
      becomes redrive.<dlq seq>.<original msg id> and Choreo-Redriven-From
      is set to the DLQ sequence; once JetStream acknowledges it, the letter
      is deleted from the DLQ stream.
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
created.`

func dlq(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 {
		fmt.Fprintf(c.stderr, "usage: choreo dlq ls|show|redrive|purge ...\n")
		return usagef("dlq: no subcommand given")
	}
	switch args[0] {
	case "ls", "list":
		return dlqList(ctx, c, args[1:])
	case "show":
		return dlqShow(ctx, c, args[1:])
	case "redrive":
		return dlqRedrive(ctx, c, args[1:])
	case "purge":
		return dlqPurge(ctx, c, args[1:])
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(c.stdout, strings.TrimSpace(dlqHelp))
		return nil
	}
	return usagef("dlq: unknown subcommand %q (ls, show, redrive or purge)", args[0])
}

func dlqList(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("dlq ls", "[-service S]")
	service := serviceFlag(fs)
	if _, err := c.parse(fs, args, 0, 0); err != nil {
		return err
	}
	if err := checkService(*service); err != nil {
		return err
	}
	js, err := c.jetStream()
	if err != nil {
		return err
	}
	rows := [][]string{{"SEQ", "SUBJECT", "ORIGINAL", "DELIVERIES", "TIME", "ERROR"}}
	err = deadletter.Scan(ctx, js, *service, func(l deadletter.Letter) error {
		if c.json {
			return c.printLetterJSON(l)
		}
		rows = append(rows, []string{
			strconv.FormatUint(l.Seq, 10), l.Subject, fmt.Sprintf("%s/%d", l.Stream, l.StreamSeq),
			strconv.FormatUint(l.Deliveries, 10), stamp(l.Time), l.Error,
		})
		return nil
	})
	if err != nil {
		return dlqError(err)
	}
	switch {
	case c.json:
	case len(rows) == 1:
		fmt.Fprintln(c.stdout, "no dead letters")
	default:
		table(c.stdout, rows...)
	}
	return nil
}

func dlqShow(ctx context.Context, c *cli, args []string) error {
	pos, err := c.parse(c.flags("dlq show", "SEQ"), args, 1, 1)
	if err != nil {
		return err
	}
	seq, err := parseSeq(pos[0])
	if err != nil {
		return err
	}
	js, err := c.jetStream()
	if err != nil {
		return err
	}
	octx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	l, err := deadletter.Get(octx, js, seq)
	if err != nil {
		return dlqError(err)
	}
	if c.json {
		return c.printLetterJSON(l)
	}
	fmt.Fprintf(c.stdout, "seq %d  %s  %s\n\n", l.Seq, l.Subject, stamp(l.Time))
	keys := make([]string, 0, len(l.Header))
	for k := range l.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range l.Header[k] {
			fmt.Fprintf(c.stdout, "%s: %s\n", k, v)
		}
	}
	fmt.Fprintln(c.stdout)
	var body bytes.Buffer
	if json.Indent(&body, l.Data, "", "  ") != nil {
		body.Reset()
		body.Write(l.Data)
	}
	fmt.Fprintf(c.stdout, "%s\n", body.Bytes())
	return nil
}

func dlqRedrive(ctx context.Context, c *cli, args []string) error {
	seq, service, err := c.selection("dlq redrive", "SEQ|-all [-service S]", args, nil)
	if err != nil {
		return err
	}
	js, err := c.jetStream()
	if err != nil {
		return err
	}
	n := 0
	err = c.eachLetter(ctx, js, seq, service, func(octx context.Context, l deadletter.Letter) error {
		ack, err := deadletter.Redrive(octx, js, l)
		if err != nil {
			return err
		}
		n++
		if c.json {
			return json.NewEncoder(c.stdout).Encode(map[string]any{
				"seq": l.Seq, "subject": l.OriginalSubject, "msg_id": l.RedriveMsgID(),
				"stream": ack.Stream, "stream_seq": ack.Sequence, "duplicate": ack.Duplicate,
			})
		}
		dup := ""
		if ack.Duplicate {
			dup = " (already republished: duplicate dropped)"
		}
		fmt.Fprintf(c.stdout, "redriven %d: %s -> %s/%d as %s%s\n",
			l.Seq, l.OriginalSubject, ack.Stream, ack.Sequence, l.RedriveMsgID(), dup)
		return nil
	})
	if !c.json && seq == 0 {
		fmt.Fprintf(c.stdout, "%d dead letter(s) redriven\n", n)
	}
	return err
}

func dlqPurge(ctx context.Context, c *cli, args []string) error {
	var yes bool
	seq, service, err := c.selection("dlq purge", "SEQ|-all [-service S] -yes", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&yes, "yes", false, "really delete")
	})
	if err != nil {
		return err
	}
	if !yes {
		return usagef("dlq purge deletes dead letters for good: add -yes")
	}
	js, err := c.jetStream()
	if err != nil {
		return err
	}
	n := 0
	err = c.eachLetter(ctx, js, seq, service, func(octx context.Context, l deadletter.Letter) error {
		if err := deadletter.Delete(octx, js, l.Seq); err != nil {
			return err
		}
		n++
		if !c.json {
			fmt.Fprintf(c.stdout, "purged %d: %s\n", l.Seq, l.Subject)
		}
		return nil
	})
	if c.json {
		json.NewEncoder(c.stdout).Encode(map[string]int{"purged": n})
	} else if seq == 0 {
		fmt.Fprintf(c.stdout, "%d dead letter(s) purged\n", n)
	}
	return err
}

// selection parses "SEQ|-all [-service S]" plus any extra flags; seq is 0
// for -all.
func (c *cli) selection(name, usage string, args []string, extra func(*flag.FlagSet)) (seq uint64, service string, err error) {
	fs := c.flags(name, usage)
	all := fs.Bool("all", false, "every dead letter (of -service)")
	svc := serviceFlag(fs)
	if extra != nil {
		extra(fs)
	}
	pos, err := c.parse(fs, args, 0, 1)
	if err != nil {
		return 0, "", err
	}
	switch {
	case *all == (len(pos) == 1):
		fs.Usage()
		return 0, "", usagef("%s: give either SEQ or -all", name)
	case len(pos) == 1 && *svc != "":
		return 0, "", usagef("%s: -service goes with -all", name)
	case len(pos) == 1:
		if seq, err = parseSeq(pos[0]); err != nil {
			return 0, "", err
		}
	}
	if err := checkService(*svc); err != nil {
		return 0, "", err
	}
	return seq, *svc, nil
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

func (c *cli) printLetterJSON(l deadletter.Letter) error {
	var data any = json.RawMessage(l.Data)
	if !json.Valid(l.Data) {
		data = string(l.Data)
	}
	return json.NewEncoder(c.stdout).Encode(struct {
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
		Data            any         `json:"data"`
	}{l.Seq, l.Subject, l.Service, l.Stream, l.StreamSeq, l.OriginalSubject, l.Deliveries, l.Error, l.MsgID, l.Time, l.Header, data})
}

func serviceFlag(fs *flag.FlagSet) *string {
	return fs.String("service", "", "only the dead letters of this `service` (order, payment, inventory, shipping)")
}

func checkService(s string) error {
	if strings.ContainsAny(s, ".*> \t") {
		return usagef("-service %q is not a service name", s)
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

// dlqError explains the errors an operator can act on.
func dlqError(err error) error {
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("%w (no DLQ stream: has a service started?)", err)
	}
	return err
}
