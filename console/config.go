package console

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Endpoint is a service the overview shows: its name and the address of
// its HTTP endpoint (/readyz, /metrics), "" or "off" when it serves none.
type Endpoint struct {
	Name     string
	HTTPAddr string
}

// Served reports whether the service has an HTTP endpoint to ask.
func (e Endpoint) Served() bool { return e.HTTPAddr != "" && e.HTTPAddr != "off" }

// DefaultServices are the contract's four services on their default HTTP
// addresses (docs/contract.md, section 1).
var DefaultServices = []Endpoint{
	{"order", "127.0.0.1:9101"},
	{"payment", "127.0.0.1:9102"},
	{"inventory", "127.0.0.1:9103"},
	{"shipping", "127.0.0.1:9104"},
}

// DefaultAddr is where the console listens unless told otherwise.
const DefaultAddr = "127.0.0.1:8080"

// Config is the console's settings. The zero value of each field but
// Services means its default.
type Config struct {
	// Addr is where it listens; default DefaultAddr. Off loopback, anyone
	// who reaches it may read everything and redrive dead letters: put it
	// behind an authenticating proxy.
	Addr string
	// Services are the services whose readiness and metrics the overview
	// shows; default DefaultServices.
	Services []Endpoint
	// StuckAfter is how long a saga may be in flight before it counts as
	// stuck (CHOREO_STUCK_AFTER); default 10s.
	StuckAfter time.Duration
	// Every is how often the overview is read again and pushed to the
	// pages; default 2s.
	Every time.Duration
	// Window is how far back the charts go; default 10 minutes.
	Window time.Duration
	// Timeout bounds each request the console makes (to NATS, to a
	// service's HTTP endpoint); default 3s.
	Timeout time.Duration
	// Logger logs the console's actions (redrives, purges) and trouble;
	// default none.
	Logger zerolog.Logger
}

// withDefaults fills in the defaults of the unset fields.
func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Services == nil {
		c.Services = DefaultServices
	}
	if c.StuckAfter == 0 {
		c.StuckAfter = 10 * time.Second
	}
	if c.Every == 0 {
		c.Every = 2 * time.Second
	}
	if c.Window == 0 {
		c.Window = 10 * time.Minute
	}
	if c.Timeout == 0 {
		c.Timeout = 3 * time.Second
	}
	return c
}

// Validate reports every problem at once, each naming its field.
func (c Config) Validate() error {
	var errs []error
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		errs = append(errs, fmt.Errorf("Addr: %q is not host:port", c.Addr))
	}
	seen := map[string]bool{}
	for i, e := range c.Services {
		switch {
		case !validID(e.Name):
			errs = append(errs, fmt.Errorf("Services[%d]: %q is not a service name", i, e.Name))
		case seen[e.Name]:
			errs = append(errs, fmt.Errorf("Services[%d]: %s twice", i, e.Name))
		}
		seen[e.Name] = true
		if e.Served() {
			if _, port, err := net.SplitHostPort(e.HTTPAddr); err != nil || port == "" {
				errs = append(errs, fmt.Errorf("Services[%d]: %s's HTTP address %q is not host:port or off", i, e.Name, e.HTTPAddr))
			}
		}
	}
	for name, d := range map[string]time.Duration{"StuckAfter": c.StuckAfter, "Every": c.Every, "Window": c.Window, "Timeout": c.Timeout} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %v", name, d))
		}
	}
	if c.Window > 0 && c.Window < time.Minute {
		errs = append(errs, fmt.Errorf("Window must be at least a minute, got %v", c.Window))
	}
	return errors.Join(errs...)
}

// ParseServices reads the services as CHOREO_CONSOLE_SERVICES writes them:
// name=host:port (or name=off), comma-separated.
func ParseServices(s string) ([]Endpoint, error) {
	var out []Endpoint
	var errs []error
	for _, el := range strings.Split(s, ",") {
		if el = strings.TrimSpace(el); el == "" {
			continue
		}
		name, addr, ok := strings.Cut(el, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("%q is not name=host:port or name=off", el))
			continue
		}
		out = append(out, Endpoint{Name: strings.TrimSpace(name), HTTPAddr: strings.TrimSpace(addr)})
	}
	return out, errors.Join(errs...)
}
