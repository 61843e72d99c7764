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
	"strings"
	"time"

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
	// CHOREO_STAGES_DIR and CHOREO_STAGES_PREFIX: record the stages of the
	// sagas whose order id starts with the prefix (package stages) to a file
	// in the directory. The benchmark's latency breakdown; off if unset.
	StagesDir, StagesPrefix string
}

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
