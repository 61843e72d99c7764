// Command choreo is the command-line client of the Choreo contract: it tops
// up wallets and stock, places, cancels and inspects orders, watches the
// event streams and manages the dead-letter queue; `choreo console` serves
// the web console.
//
//	choreo [-s URL] [-timeout D] [-o text|json] COMMAND [ARGS]
//
// "choreo help" lists the commands, "choreo help COMMAND" describes one,
// "choreo completion bash|zsh|fish" prints a shell completion script.
// Flags take one dash or two (-wait, --wait) and go anywhere on the line.
// Output is meant for people; -o json prints machine-readable JSON instead:
// the services' replies, a JSON array for listings, and JSON lines for
// watch. Exit status: 0 on success, 1 on an error reply (its contract code
// and message are printed on stderr) or any other failure, 2 on a usage
// error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/shared/natscreds"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
)

func init() {
	cobra.EnableCommandSorting = false // help lists the commands in the order added
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(report(os.Stderr, err))
}

// cli is one invocation's settings and its lazily opened connection.
type cli struct {
	stdout, stderr io.Writer
	server         string
	creds, tlsCA   string // the identity's credentials and the CA (secure profile)
	timeout        time.Duration
	output         string // text or json
	json           bool   // -json, the older spelling of -o json

	nc *nats.Conn
}

// run is the whole program but for the process: it parses args, runs the
// command and returns its error, which report turns into the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := &cli{stdout: stdout, stderr: stderr}
	defer c.close()
	root := c.root()
	root.SetOut(stdout)
	root.SetErr(stderr)
	// canonical needs the whole tree: add what cobra adds on Execute.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	args, early := canonical(root, args)
	if err := root.PersistentFlags().Parse(early); err != nil {
		return usageError{err.Error()}
	}
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

const rootHelp = `choreo talks to a running Choreo over NATS: it tops up wallets and stock,
places, cancels and inspects orders, watches the event streams and manages
the dead-letter queue. choreo console serves the web console.

Flags take one dash or two (-wait, --wait) and go anywhere on the line. Output
is meant for people; -o json prints machine-readable JSON instead: the
services' replies, a JSON array for listings, and JSON lines for watch.

Exit status: 0 on success, 1 on an error reply (its contract code and message
are printed on stderr) or any other failure, 2 on a usage error.`

// root builds the command tree.
func (c *cli) root() *cobra.Command {
	root := &cobra.Command{
		Use:           "choreo",
		Short:         "The command-line client of the Choreo contract",
		Long:          rootHelp,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          unknownCommand,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_ = cmd.Usage()
			return usagef("no command given")
		},
		PersistentPreRunE: func(*cobra.Command, []string) error { return c.check() },
	}
	server := os.Getenv("NATS_URL")
	if server == "" {
		server = nats.DefaultURL
	}
	pf := root.PersistentFlags()
	pf.StringVarP(&c.server, "server", "s", server, "NATS server `URL` ($NATS_URL if set)")
	pf.StringVar(&c.creds, "creds", os.Getenv("NATS_CREDS"), "the identity's nkey seed or credentials `file` ($NATS_CREDS): secure profile")
	pf.StringVar(&c.tlsCA, "tlsca", os.Getenv("NATS_TLS_CA"), "the CA `file` nats-server's certificate is verified with ($NATS_TLS_CA); TLS is then required")
	pf.DurationVar(&c.timeout, "timeout", 5*time.Second, "how long to wait for a reply (and for place -wait)")
	pf.StringVarP(&c.output, "output", "o", "text", "output `format`: text or json")
	pf.BoolVar(&c.json, "json", false, "same as -o json")
	_ = pf.MarkHidden("json")
	_ = root.RegisterFlagCompletionFunc("output", fixed("text", "json"))
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err.Error()} })
	root.SuggestionsMinimumDistance = 2
	root.AddCommand(
		c.depositCmd(), c.balanceCmd(), c.restockCmd(), c.stockCmd(),
		c.placeCmd(), c.cancelCmd(), c.getCmd(), c.listCmd(), c.historyCmd(), c.paymentCmd(), c.shipmentCmd(),
		c.traceCmd(), c.stuckCmd(), c.watchCmd(), c.dlqCmd(), c.provisionCmd(), c.secureCmd(), c.clusterCmd(), c.publishCmd(), c.benchCmd(),
		c.checkCmd(), c.parkedCmd(), c.consoleCmd(),
	)
	return root
}

// check validates the global flags.
func (c *cli) check() error {
	switch {
	case c.timeout <= 0:
		return usagef("--timeout must be positive")
	case c.output != "text" && c.output != "json":
		return usagef("--output must be text or json, not %q", c.output)
	}
	if c.json {
		c.output = "json"
	}
	return nil
}

// unknownCommand is root's argument check: any argument is a command root
// does not have.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q (see choreo help)", args[0])
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usageError{msg}
}

// args checks that a command has between lo and hi arguments.
func args(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usagef("%s: wrong number of arguments (usage: %s)", cmd.CommandPath(), cmd.UseLine())
		}
		return nil
	}
}

// fixed completes a flag or argument from a fixed list.
func fixed(values ...string) cobra.CompletionFunc {
	return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
}

// isJSON reports whether -o json was asked for.
func (c *cli) isJSON() bool { return c.output == "json" }

func (c *cli) conn() (*nats.Conn, error) {
	if c.nc != nil {
		return c.nc, nil
	}
	opts, err := c.identity()
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(c.server, append(opts, nats.Name("choreo-cli"), nats.Timeout(c.timeout))...)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", c.server, err)
	}
	c.nc = nc
	return nc, nil
}

// identity is the connection options of -creds and -tlsca (natscreds).
func (c *cli) identity() ([]nats.Option, error) {
	opts, _, err := natscreds.Options(c.creds, c.tlsCA)
	if err != nil {
		return nil, fmt.Errorf("%w (or -creds, -tlsca)", err)
	}
	return opts, nil
}

// client returns a contract client on the connection; each request waits at
// most -timeout.
func (c *cli) client() (*client.Client, error) {
	nc, err := c.conn()
	if err != nil {
		return nil, err
	}
	return client.New(nc, client.WithTimeout(c.timeout)), nil
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

// show prints v as JSON with -o json, else calls human.
func (c *cli) show(v any, human func()) error {
	if c.isJSON() {
		return c.printJSON(v)
	}
	human()
	return nil
}

// printJSON prints v as one line of JSON.
func (c *cli) printJSON(v any) error { return jsonLine(c.stdout, v) }

// query runs one contract call and prints its reply with show.
func query[V any](ctx context.Context, c *cli, call func(context.Context, *client.Client) (V, error), human func(V)) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	v, err := call(ctx, cl)
	if err != nil {
		return err
	}
	return c.show(v, func() { human(v) })
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
