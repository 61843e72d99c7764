// Package config reads a service's settings from the environment (the
// contract's variables) and sets up its logger. Only the mains in cmd/ call
// it; everything else receives plain values.
package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/choreo-dev/choreo/shared/partition"
	"github.com/rs/zerolog"
)

// Config is what every Choreo service reads from its environment. A
// service's own settings (a saga timeout, the countries it serves) it reads
// itself, through an Env.
type Config struct {
	NATSURL   string        // NATS_URL
	DataDir   string        // CHOREO_DATA_DIR
	LogLevel  zerolog.Level // CHOREO_LOG_LEVEL
	PprofAddr string        // CHOREO_PPROF_ADDR: net/http/pprof on host:port, off if empty
	// NATSCreds is the identity's credentials (an nkey seed file, or a JWT
	// .creds file): NATS_CREDS, none if empty.
	NATSCreds string
	// NATSTLSCA is the CA that signed nats-server's certificate: NATS_TLS_CA.
	// With it the connection requires TLS.
	NATSTLSCA string
	// Provisioning is CHOREO_PROVISIONING: ProvisionSelf (the service
	// creates and updates its streams and durables) or ProvisionExternal
	// (`choreo provision` does; the service only checks they exist).
	// Default: external with NATS_CREDS, self without.
	Provisioning string
	// Partition is CHOREO_PARTITION ("i/n"): this instance is partition i of
	// a service run as n partitions. Default: the whole service.
	Partition partition.Partition
	// StreamReplicas is CHOREO_STREAM_REPLICAS: each stream's replication
	// factor (3 in a three-node cluster). Default 1.
	StreamReplicas int
	// HTTPAddr is CHOREO_HTTP_ADDR: host:port of the service's /metrics,
	// /healthz and /readyz, "off" for none, empty if unset (the service's
	// own default then applies).
	HTTPAddr string
	// CHOREO_STAGES_DIR and CHOREO_STAGES_PREFIX: record the stages of the
	// sagas whose order id starts with the prefix (package stages) to a file
	// in the directory. The benchmark's latency breakdown; off if unset.
	StagesDir, StagesPrefix string
}

// The values of CHOREO_PROVISIONING.
const (
	ProvisionSelf     = "self"
	ProvisionExternal = "external"
)

// Defaults are the contract's defaults.
func Defaults() Config {
	return Config{
		NATSURL:  "nats://127.0.0.1:4222",
		DataDir:  "./data",
		LogLevel: zerolog.InfoLevel,
	}
}

// FromEnv reads the environment through getenv (os.Getenv in production),
// starting from Defaults, and reports every problem at once.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Defaults()
	var errs []error
	if v := getenv("NATS_URL"); v != "" {
		c.NATSURL = v
	}
	if v := getenv("CHOREO_DATA_DIR"); v != "" {
		c.DataDir = v
	}
	if v := getenv("CHOREO_LOG_LEVEL"); v != "" {
		lvl, err := zerolog.ParseLevel(strings.ToLower(v))
		if err != nil || lvl == zerolog.NoLevel {
			errs = append(errs, fmt.Errorf("CHOREO_LOG_LEVEL: %q is not one of trace, debug, info, warn, error", v))
		} else {
			c.LogLevel = lvl
		}
	}
	c.NATSCreds, c.NATSTLSCA = getenv("NATS_CREDS"), getenv("NATS_TLS_CA")
	c.Provisioning = ProvisionSelf
	if c.NATSCreds != "" {
		// An identity of the secure profile may not create streams or
		// consumers: someone else provisions them.
		c.Provisioning = ProvisionExternal
	}
	switch v := getenv("CHOREO_PROVISIONING"); v {
	case "":
	case ProvisionSelf, ProvisionExternal:
		c.Provisioning = v
	default:
		errs = append(errs, fmt.Errorf("CHOREO_PROVISIONING: %q is not %s or %s", v, ProvisionSelf, ProvisionExternal))
	}
	c.Partition = partition.Whole
	if v := getenv("CHOREO_PARTITION"); v != "" {
		if p, err := partition.Parse(v); err != nil {
			errs = append(errs, fmt.Errorf("CHOREO_PARTITION: %w", err))
		} else {
			c.Partition = p
		}
	}
	c.StreamReplicas = 1
	if v := getenv("CHOREO_STREAM_REPLICAS"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 5 {
			errs = append(errs, fmt.Errorf("CHOREO_STREAM_REPLICAS: %q is not a replication factor from 1 to 5", v))
		} else {
			c.StreamReplicas = n
		}
	}
	if v := getenv("CHOREO_HTTP_ADDR"); v != "" {
		if _, port, err := net.SplitHostPort(v); v != "off" && (err != nil || port == "") {
			errs = append(errs, fmt.Errorf("CHOREO_HTTP_ADDR: %q is not host:port or off", v))
		} else {
			c.HTTPAddr = v
		}
	}
	if v := getenv("CHOREO_PPROF_ADDR"); v != "" {
		if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("CHOREO_PPROF_ADDR: %q is not host:port", v))
		} else {
			c.PprofAddr = v
		}
	}
	c.StagesDir, c.StagesPrefix = getenv("CHOREO_STAGES_DIR"), getenv("CHOREO_STAGES_PREFIX")
	if (c.StagesDir == "") != (c.StagesPrefix == "") {
		errs = append(errs, errors.New("CHOREO_STAGES_DIR and CHOREO_STAGES_PREFIX are set together or not at all"))
	}
	return c, errors.Join(errs...)
}

// Logger returns the zerolog JSON logger on w (stderr in production) for a
// service, at the configured level.
func (c Config) Logger(w io.Writer, service string) zerolog.Logger {
	if w == nil {
		w = os.Stderr
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	return zerolog.New(w).Level(c.LogLevel).With().Timestamp().Str("service", service).Logger()
}

// Env reads a service's own settings from the environment and collects
// every problem, so that a service reports them all at once.
type Env struct {
	getenv func(string) string
	errs   []error
}

// NewEnv reads through getenv (os.Getenv in production).
func NewEnv(getenv func(string) string) *Env { return &Env{getenv: getenv} }

// Duration reads a positive duration ("30s"), def if unset.
func (e *Env) Duration(key string, def time.Duration) time.Duration {
	v := e.getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		e.errs = append(e.errs, fmt.Errorf("%s: %w", key, err))
	case d <= 0:
		e.errs = append(e.errs, fmt.Errorf("%s must be positive, got %s", key, v))
	default:
		return d
	}
	return def
}

// List reads a comma-separated list, def if unset. parse checks and
// normalises each non-empty element; an element it refuses is reported and
// left out.
func (e *Env) List(key string, def []string, parse func(string) (string, error)) []string {
	v := e.getenv(key)
	if v == "" {
		return def
	}
	var out []string
	for _, el := range strings.Split(v, ",") {
		if el = strings.TrimSpace(el); el == "" {
			continue
		}
		p, err := parse(el)
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("%s: %w", key, err))
			continue
		}
		out = append(out, p)
	}
	return out
}

// Err returns every problem found so far, nil if none.
func (e *Env) Err() error { return errors.Join(e.errs...) }
