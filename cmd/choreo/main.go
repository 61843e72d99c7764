// Command choreo is the command-line client of the Choreo contract: it tops
// up wallets and stock, places, cancels and inspects orders, watches the
// event streams and manages the dead-letter queue.
//
//	choreo [-server URL] [-timeout D] [-json] COMMAND [ARGS]
//
// "choreo help" lists the commands, "choreo help COMMAND" describes one.
// Output is meant for people; -json prints the services' raw JSON replies
// instead (error replies are reported on stderr either way). Exit status: 0 on success, 1 on an error reply (its contract code
// and message are printed) or any other failure, 2 on a usage error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/choreo-dev/choreo/bench"
	"github.com/choreo-dev/choreo/client"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(report(os.Stderr, err))
}

// command is one subcommand. run gets the arguments after its name.
type command struct {
	name, args, summary string
	// help, if set, is printed under the usage line by "choreo help NAME".
	help string
	run  func(ctx context.Context, c *cli, args []string) error
}

// commands in the order "choreo help" lists them.
var commands = []command{
	{name: "deposit", args: "CUSTOMER AMOUNT_CENTS", summary: "add money to a customer's wallet", run: deposit},
	{name: "balance", args: "CUSTOMER", summary: "show a customer's wallet", run: balance},
	{name: "restock", args: "SKU QTY", summary: "add stock of a SKU", run: restock},
	{name: "stock", args: "SKU", summary: "show a SKU's stock", run: stock},
	{name: "place", args: placeUsage, summary: "place an order", help: placeHelp, run: place},
	{name: "cancel", args: "ORDER_ID [-reason TEXT]", summary: "cancel an order", run: cancel},
	{name: "get", args: "ORDER_ID", summary: "show an order", run: get},
	{name: "list", args: "[-customer C] [-status S] [-limit N]", summary: "list orders, newest first", run: list},
	{name: "history", args: "ORDER_ID", summary: "show an order's stored events", run: history},
	{name: "payment", args: "ORDER_ID", summary: "show an order's payment", run: payment},
	{name: "shipment", args: "ORDER_ID", summary: "show an order's shipment", run: shipment},
	{name: "watch", args: "[SUBJECT]", summary: "print events as they are published (default *.events.>)", help: watchHelp, run: watch},
	{name: "dlq", args: "ls|show|redrive|purge ...", summary: "inspect, redrive or purge dead letters", help: dlqHelp, run: dlq},
	{name: "bench", args: "[-sync always|default|both] [-duration D] ...", summary: "benchmark the whole stack, started from the Procfile (make bench)",
		run: func(ctx context.Context, c *cli, args []string) error {
			return bench.Main(ctx, args, c.stdout, c.stderr)
		}},
}

func lookup(name string) (command, bool) {
	for _, cmd := range commands {
		if cmd.name == name {
			return cmd, true
		}
	}
	return command{}, false
}

// cli is one invocation's settings and its lazily opened connection.
type cli struct {
	stdout, stderr io.Writer
	server         string
	timeout        time.Duration
	json           bool

	nc *nats.Conn
}

// run is the whole program but for the process: it parses args, runs the
// command and returns its error, which report turns into the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := &cli{stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("choreo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := os.Getenv("NATS_URL")
	if server == "" {
		server = nats.DefaultURL
	}
	fs.StringVar(&c.server, "server", server, "NATS server `URL` ($NATS_URL if set)")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Second, "how long to wait for a reply (and for place -wait)")
	fs.BoolVar(&c.json, "json", false, "print raw JSON replies")
	fs.Usage = func() { printUsage(stderr, fs) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if c.timeout <= 0 {
		return usagef("-timeout must be positive")
	}
	if fs.NArg() == 0 {
		printUsage(stderr, fs)
		return usagef("no command given")
	}
	name, rest := fs.Arg(0), fs.Args()[1:]
	if name == "help" {
		return c.help(fs, rest)
	}
	cmd, ok := lookup(name)
	if !ok {
		return usagef("unknown command %q (see choreo help)", name)
	}
	defer c.close()
	if err := cmd.run(ctx, c, rest); !errors.Is(err, errHelp) {
		return err
	}
	return nil
}

func printUsage(w io.Writer, global *flag.FlagSet) {
	fmt.Fprintf(w, "usage: choreo [-server URL] [-timeout D] [-json] COMMAND [ARGS]\n\ncommands:\n")
	for _, cmd := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprintf(w, "\nglobal flags:\n")
	global.SetOutput(w)
	global.PrintDefaults()
	fmt.Fprintf(w, "\nRun 'choreo help COMMAND' for a command's arguments.\n")
}

func (c *cli) help(global *flag.FlagSet, args []string) error {
	if len(args) == 0 {
		printUsage(c.stdout, global)
		return nil
	}
	cmd, ok := lookup(args[0])
	if !ok {
		return usagef("unknown command %q", args[0])
	}
	fmt.Fprintf(c.stdout, "usage: choreo %s %s\n\n%s\n", cmd.name, cmd.args, cmd.summary)
	if cmd.help != "" {
		fmt.Fprintf(c.stdout, "\n%s\n", strings.TrimSpace(cmd.help))
	}
	return nil
}

// flags returns a subcommand's flag set; every subcommand accepts -json too.
func (c *cli) flags(name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.BoolVar(&c.json, "json", c.json, "print raw JSON replies")
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "usage: choreo %s %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses a subcommand's flags, which may come before, between or after
// its positional arguments ("cancel ID -reason late"), and checks that there
// are between lo and hi positional ones.
func (c *cli) parse(fs *flag.FlagSet, args []string, lo, hi int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, usageError{err.Error()}
		}
		consumed := len(args) - fs.NArg()
		rest := fs.Args()
		if consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...) // everything after "--" is positional
			break
		}
		if len(rest) == 0 {
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	if len(pos) < lo || len(pos) > hi {
		fs.Usage()
		return nil, usagef("%s: wrong number of arguments", fs.Name())
	}
	return pos, nil
}

// errHelp is returned by parse for -h: the usage has been printed, and the
// command stops without an error.
var errHelp = errors.New("help requested")

func (c *cli) conn() (*nats.Conn, error) {
	if c.nc != nil {
		return c.nc, nil
	}
	nc, err := nats.Connect(c.server, nats.Name("choreo-cli"), nats.Timeout(c.timeout))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", c.server, err)
	}
	c.nc = nc
	return nc, nil
}

func (c *cli) jetStream() (jetstream.JetStream, error) {
	nc, err := c.conn()
	if err != nil {
		return nil, err
	}
	return jetstream.New(nc)
}

func (c *cli) close() {
	if c.nc != nil {
		c.nc.Close()
	}
}

// call sends req to subject and waits at most -timeout for the reply. A
// success reply's body is returned and, if resp is not nil, decoded into it;
// an error reply is returned as an *client.Error.
func (c *cli) call(ctx context.Context, subject string, req, resp any) ([]byte, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("%s: marshal request: %w", subject, err)
	}
	nc, err := c.conn()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	msg, err := nc.RequestWithContext(ctx, subject, body)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, fmt.Errorf("%s: no service answers (is it running?)", subject)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", subject, err)
	}
	if err := client.ReplyError(msg); err != nil {
		return nil, err
	}
	if resp != nil {
		if err := json.Unmarshal(msg.Data, resp); err != nil {
			return nil, fmt.Errorf("%s: unexpected reply: %w", subject, err)
		}
	}
	return msg.Data, nil
}

// query calls subject and prints the reply: raw with -json, else through
// human, which may use what call decoded into resp.
func (c *cli) query(ctx context.Context, subject string, req, resp any, human func()) error {
	raw, err := c.call(ctx, subject, req, resp)
	if err != nil {
		return err
	}
	if c.json {
		c.printRaw(raw)
	} else {
		human()
	}
	return nil
}

func (c *cli) printRaw(raw []byte) {
	fmt.Fprintf(c.stdout, "%s\n", raw)
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

// report prints err, if any, and returns the exit status.
func report(w io.Writer, err error) int {
	var ue usageError
	var re *client.Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(w, "choreo: %v\n", err)
		return 2
	case errors.As(err, &re):
		fmt.Fprintf(w, "choreo: %s (%d): %s\n", re.Code, re.Status, re.Message)
		return 1
	}
	fmt.Fprintf(w, "choreo: %v\n", err)
	return 1
}
