package main

import (
	"fmt"
	"net"
	"os"
	"time"

	"github.com/choreo-dev/choreo/console"
	"github.com/choreo-dev/choreo/shared/config"
	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"
)

const consoleHelp = `Serves the web console on -addr (CHOREO_CONSOLE_ADDR, default
127.0.0.1:8080): open http://127.0.0.1:8080 in a browser.

  Overview      each service's readiness (with the failing checks' reasons),
                sagas per second and their outcomes, each durable's backlog,
                each outbox's depth, the dead letters — and, on top, in
                words, what is wrong
  Sagas         the orders by status, customer or stuck, newest first, live;
                a search by order id
  One saga      its timeline as swimlanes, with an arrow from each event to
                the one that caused it; the order, payment, stock and
                shipment; where it waits, in words
  Dead letters  each letter's headers and body; redrive and purge, after a
                confirmation

It reads only through the contract (requests, JetStream's stream and
consumer info, the DLQ stream, events as they are published, the services'
/readyz and /metrics) and keeps working while a service or NATS is down:
what cannot be read says so. It listens on loopback unless told otherwise;
off loopback anyone who reaches it may redrive and purge dead letters.

Environment: NATS_URL (or -s), NATS_CREDS and NATS_TLS_CA (the console
identity in the secure profile), CHOREO_CONSOLE_SERVICES (the services'
HTTP endpoints, name=host:port or name=off, comma-separated; default the
four services on 127.0.0.1:9101-9104), CHOREO_STUCK_AFTER (default 10s),
CHOREO_LOG_LEVEL. It logs JSON on stderr, "listening" with its address once
it serves, and stops on SIGINT or SIGTERM.`

func (c *cli) consoleCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:               "console [-addr host:port]",
		Short:             "serve the web console (overview, sagas, one saga, dead letters)",
		Long:              consoleHelp,
		Args:              args(0, 0),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	def := os.Getenv("CHOREO_CONSOLE_ADDR")
	if def == "" {
		def = console.DefaultAddr
	}
	addr := cmd.Flags().String("addr", def, "where to listen, `host:port` ($CHOREO_CONSOLE_ADDR)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := consoleConfig(os.Getenv)
		if err != nil {
			return err
		}
		cfg.Addr = *addr
		env, err := config.FromEnv(os.Getenv)
		if err != nil {
			return err
		}
		cfg.Logger = env.Logger(c.stderr, "console")
		opts, err := c.identity()
		if err != nil {
			return err
		}
		// NATS may come up after the console (goreman starts all at once)
		// and go away: the console keeps trying and says so meanwhile.
		log := cfg.Logger
		nc, err := nats.Connect(c.server, append(opts, nats.Name("choreo-console"), nats.Timeout(c.timeout),
			nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second),
			nats.ConnectHandler(func(nc *nats.Conn) { log.Info().Str("url", nc.ConnectedUrlRedacted()).Msg("connected to NATS") }),
			nats.ReconnectHandler(func(nc *nats.Conn) { log.Info().Str("url", nc.ConnectedUrlRedacted()).Msg("reconnected to NATS") }),
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
				if err != nil {
					log.Warn().Err(err).Msg("disconnected from NATS")
				}
			}),
			// A permission the console lacks is refused asynchronously
			// (and a burst of events it cannot keep up with dropped): say
			// so, or the page only shows a timeout.
			nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
				ev := log.Error().Err(err)
				if sub != nil {
					ev = ev.Str("subject", sub.Subject)
				}
				ev.Msg("NATS error")
			}))...)
		if err != nil {
			return fmt.Errorf("connect to %s: %w", c.server, err)
		}
		defer nc.Close()
		srv, err := console.New(cfg, nc)
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", cfg.Addr)
		if err != nil {
			return fmt.Errorf("console: %w", err)
		}
		err = srv.Run(cmd.Context(), ln)
		cfg.Logger.Info().Msg("stopped")
		return err
	}
	return cmd
}

// consoleConfig reads the console's settings from the environment, every
// problem at once.
func consoleConfig(getenv func(string) string) (console.Config, error) {
	var cfg console.Config
	env := config.NewEnv(getenv)
	cfg.StuckAfter = env.Duration("CHOREO_STUCK_AFTER", 10*time.Second)
	err := env.Err()
	if v := getenv("CHOREO_CONSOLE_SERVICES"); v != "" {
		svcs, perr := console.ParseServices(v)
		if perr != nil {
			return cfg, fmt.Errorf("CHOREO_CONSOLE_SERVICES: %w", perr)
		}
		cfg.Services = svcs
	}
	return cfg, err
}
