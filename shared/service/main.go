package service

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/choreo-dev/choreo/shared/config"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/natscreds"
	"github.com/choreo-dev/choreo/shared/partition"
	"github.com/choreo-dev/choreo/shared/stages"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/choreo-dev/choreo/shared/tracing"
	"github.com/nats-io/nats.go"
)

// The services' garbage collector settings, unless GOMEMLIMIT or GOGC say
// otherwise. A service's live heap is small (a few MiB of cached states and
// buffers) but it allocates fast, so with Go's default GOGC=100 it collects
// very often: about 15% of its CPU under load went to the collector. GOGC=400
// lets the heap grow to five times the live heap between collections, and
// the soft limit of 64 MiB bounds that growth. Measured with `bin/choreo
// bench` (GOGC 100 vs 400, 15s closed loops, twice each): CPU per saga over
// all processes 2.96, 2.90 ms vs 2.24, 2.48 ms; the services' anonymous RSS
// rose from 10–22 MiB to 22–43 MiB.
const (
	defaultMemoryLimit = 64 << 20
	defaultGCPercent   = 400
)

// Main is the whole main function of a service binary: it reads the
// environment (the shared settings, and the service's own through the Env
// its spec function reads), sets up the logger, runs the service until
// SIGINT or SIGTERM, and exits 0 after a clean drain, 1 if the service could
// not start or a component failed, 2 on bad configuration.
//
// Flags: -rebuild-projections empties the service's read models and replays
// its event log into them, then exits (run it with the service stopped);
// -describe prints the service's saga declaration as JSON and exits (what
// `choreo check` and provisioning read).
func Main(spec func(*config.Env) Spec) {
	os.Exit(main(spec, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func main(specFn func(*config.Env) Spec, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	env := config.NewEnv(getenv)
	spec := specFn(env)
	name := spec.Name()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	rebuild := fs.Bool("rebuild-projections", false, "rebuild the read models from the event log, then exit")
	describe := fs.Bool("describe", false, "print the service's saga declaration as JSON, then exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.FromEnv(getenv)
	log := cfg.Logger(stderr, name)
	if err = errors.Join(err, env.Err(), spec.Validate()); err != nil {
		log.Error().Err(err).Msg("bad configuration")
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	if *describe {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(spec.Describe()); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			return 1
		}
		return 0
	}
	if *rebuild {
		st, err := eventstore.Open(filepath.Join(cfg.DataDir, name+cfg.Partition.Suffix()+".db"), eventstore.Options{
			Service: name, Registry: spec.Registry, Projections: spec.Projections,
			ConsumedProjections: spec.ConsumedProjections, Logger: &log,
		})
		if err != nil {
			log.Error().Err(err).Msg("open event store")
			return 1
		}
		defer st.Close()
		// An interrupt rolls the rebuild back: the views stay as they were.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		n, err := st.RebuildProjections(ctx)
		if err != nil {
			log.Error().Err(err).Msg("rebuild projections")
			return 1
		}
		log.Info().Int("events", n).Msg("projections rebuilt from the event log")
		fmt.Fprintf(stderr, "%s: rebuilt projections from %d events\n", name, n)
		return 0
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if cfg.PprofAddr != "" {
		// Profiles of a live service (go tool pprof http://ADDR/debug/pprof/profile):
		// opt-in, and only where the operator points it, loopback say.
		go func() {
			srv := &http.Server{Addr: cfg.PprofAddr, Handler: pprofMux(), ReadHeaderTimeout: 5 * time.Second}
			log.Info().Str("addr", cfg.PprofAddr).Msg("pprof listening")
			if err := srv.ListenAndServe(); err != nil {
				log.Error().Err(err).Msg("pprof server stopped")
			}
		}()
	}
	if cfg.StagesDir != "" {
		// One file per process: partitions of a service write their own.
		stopStages, err := stages.Start(cfg.StagesDir, name+cfg.Partition.Suffix(), cfg.StagesPrefix)
		if err != nil {
			log.Error().Err(err).Msg("record stages")
			return 1
		}
		defer func() {
			if err := stopStages(); err != nil {
				log.Warn().Err(err).Msg("record stages")
			}
		}()
	}
	natsOpts, err := identityOptions(cfg, name)
	if err != nil {
		log.Error().Err(err).Msg("bad configuration")
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tp, err := tracing.FromEnv(ctx, name, getenv, log)
	if err != nil {
		log.Error().Err(err).Msg("bad configuration")
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tp.Shutdown(sctx); err != nil {
			log.Warn().Err(err).Msg("flush traces")
		}
	}()
	if tp.Enabled() {
		log.Info().Msg("tracing on: spans go to the OTLP exporter")
	}
	if err := Run(ctx, spec, Options{NATSURL: cfg.NATSURL, DataDir: cfg.DataDir, Logger: log,
		NATSOptions: natsOpts, ExternalProvisioning: cfg.Provisioning == config.ProvisionExternal,
		Partition: cfg.Partition, Streams: streams.Options{Replicas: cfg.StreamReplicas, Partitions: cfg.Partition.Count},
		HTTPAddr: httpAddr(cfg.HTTPAddr, spec.HTTPAddr, cfg.Partition), Tracer: tp.Tracer}); err != nil {
		log.Error().Err(err).Msg("service stopped with an error")
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}

// identityOptions are the connection options of NATS_CREDS and NATS_TLS_CA.
// Credentials made for another identity are refused: a service under
// another's identity could do nothing right.
func identityOptions(cfg config.Config, service string) ([]nats.Option, error) {
	opts, identity, err := natscreds.Options(cfg.NATSCreds, cfg.NATSTLSCA)
	if err != nil {
		return nil, err
	}
	if identity != "" && identity != service {
		return nil, fmt.Errorf("NATS_CREDS %s holds the identity of %s, not of %s", cfg.NATSCreds, identity, service)
	}
	return opts, nil
}

// httpAddr is where the HTTP endpoint listens: CHOREO_HTTP_ADDR if set
// ("off" included), else the service's own default — its port plus 100 per
// partition index, so the partitions of a service run side by side on one
// machine (order-p1 on 9201 beside order-p0 on 9101) — else off.
func httpAddr(configured, def string, p partition.Partition) string {
	switch {
	case configured != "":
		return configured
	case def == "":
		return HTTPOff
	case p.Index == 0:
		return def
	}
	host, port, err := net.SplitHostPort(def)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || n+100*p.Index > 65535 {
		return HTTPOff // a default that cannot be offset: none rather than a clash
	}
	return net.JoinHostPort(host, strconv.Itoa(n+100*p.Index))
}

// pprofMux serves net/http/pprof's handlers, on a mux of their own rather
// than http.DefaultServeMux.
func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
