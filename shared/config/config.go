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

// Config is what every Choreo service reads from its environment.
type Config struct {
	NATSURL           string        // NATS_URL
	DataDir           string        // CHOREO_DATA_DIR
	SagaTimeout       time.Duration // CHOREO_SAGA_TIMEOUT
	ShippingCountries []string      // CHOREO_SHIPPING_COUNTRIES
	LogLevel          zerolog.Level // CHOREO_LOG_LEVEL
	PprofAddr         string        // CHOREO_PPROF_ADDR: net/http/pprof on host:port, off if empty
}

// Defaults are the contract's defaults.
func Defaults() Config {
	return Config{
		NATSURL:           "nats://127.0.0.1:4222",
		DataDir:           "./data",
		SagaTimeout:       30 * time.Second,
		ShippingCountries: []string{"US", "CA", "GB", "DE", "FR", "NL", "JP", "AU"},
		LogLevel:          zerolog.InfoLevel,
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
	if v := getenv("CHOREO_SAGA_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("CHOREO_SAGA_TIMEOUT: %w", err))
		case d <= 0:
			errs = append(errs, fmt.Errorf("CHOREO_SAGA_TIMEOUT must be positive, got %s", v))
		default:
			c.SagaTimeout = d
		}
	}
	if v, ok := lookup(getenv, "CHOREO_SHIPPING_COUNTRIES"); ok {
		c.ShippingCountries = nil
		for _, cc := range strings.Split(v, ",") {
			cc = strings.ToUpper(strings.TrimSpace(cc))
			if cc == "" {
				continue
			}
			if len(cc) != 2 || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z' {
				errs = append(errs, fmt.Errorf("CHOREO_SHIPPING_COUNTRIES: %q is not a two-letter country code", cc))
				continue
			}
			c.ShippingCountries = append(c.ShippingCountries, cc)
		}
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
	return c, errors.Join(errs...)
}

func lookup(getenv func(string) string, key string) (string, bool) {
	if getenv == nil {
		return "", false
	}
	if v := getenv(key); v != "" {
		return v, true
	}
	return "", false
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
