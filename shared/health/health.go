// Package health keeps what a service knows about its own readiness: a set
// of named checks (NATS connected, streams and consumers bound, the outbox
// publishing, the store writable), each passing or failing with a reason.
// /readyz reports them; metrics count them.
//
// The operator is told once, clearly: a check that starts failing logs one
// error line with its reason, and one info line when it passes again — not a
// line per retry, and not only the first time ever. A failing check whose
// reason changes (disk full, then an I/O error) logs the new reason. A check
// that failed counts as passing again only once it has kept passing for a
// while (Settle): a disk that is nearly full lets some writes through, and
// an operator wants one episode, not a flapping check.
package health

import (
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Status is one check's state.
type Status struct {
	Name   string    `json:"name"`
	OK     bool      `json:"ok"`
	Reason string    `json:"reason,omitempty"`
	Error  string    `json:"error,omitempty"`
	Since  time.Time `json:"since"`
}

// Report is every check's state; Ready is true when all pass.
type Report struct {
	Ready  bool     `json:"ready"`
	Checks []Status `json:"checks"`
}

// Checks is a service's set of checks. It is safe for concurrent use; the
// zero value is not: use New.
type Checks struct {
	mu       sync.Mutex
	checks   map[string]*Status
	passing  map[string]settling // failing checks that pass now, promoted after settle
	gen      uint64
	settle   time.Duration
	log      zerolog.Logger
	now      func() time.Time
	onChange []func(Status)
}

// settling is a failing check's pending promotion.
type settling struct {
	timer *time.Timer
	gen   uint64
}

// DefaultSettle is how long a check that failed must keep passing before it
// counts as passing again.
const DefaultSettle = 2 * time.Second

// New returns an empty set that logs transitions to log.
func New(log zerolog.Logger) *Checks {
	return &Checks{checks: map[string]*Status{}, passing: map[string]settling{}, settle: DefaultSettle, log: log, now: time.Now}
}

// SetSettle changes how long a check that failed must keep passing before it
// counts as passing again (tests shorten it).
func (c *Checks) SetSettle(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.settle = d
}

// OnChange calls f (outside the lock) after every transition: a metric that
// counts failures, say.
func (c *Checks) OnChange(f func(Status)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onChange = append(c.onChange, f)
}

// Expect registers a check that fails with reason until it first passes: a
// service is not ready before each of its parts has said it is.
func (c *Checks) Expect(name, reason string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.checks[name]; !ok {
		c.checks[name] = &Status{Name: name, Reason: reason, Since: c.now()}
	}
}

// Fail marks the check failing for reason (a short, stable summary: "disk
// full", "stream PAYMENT_EVENTS missing"); err carries the detail. It logs
// only when the check was passing or its reason changed.
func (c *Checks) Fail(name, reason string, err error) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if p, ok := c.passing[name]; ok {
		p.timer.Stop() // not passing for long enough
		delete(c.passing, name)
	}
	s, ok := c.checks[name]
	changed := !ok || s.OK || s.Reason != reason
	if !ok {
		s = &Status{Name: name}
		c.checks[name] = s
	}
	if changed {
		s.OK, s.Reason, s.Since = false, reason, c.now()
	}
	if err != nil {
		s.Error = err.Error()
	}
	st, hooks := *s, c.onChange
	c.mu.Unlock()
	if changed {
		c.log.Error().Err(err).Str("check", name).Str("reason", reason).Msg("not ready: " + name + ": " + reason)
		for _, f := range hooks {
			f(st)
		}
	}
}

// Pass marks the check passing. One that never failed with an error (only
// expected) passes at once, silently; one that did passes once it has kept
// passing for the settle time, and logs it once then.
func (c *Checks) Pass(name string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	s, ok := c.checks[name]
	if ok && s.OK {
		c.mu.Unlock()
		return
	}
	if ok && s.Error != "" && c.settle > 0 {
		if _, waiting := c.passing[name]; !waiting {
			c.gen++
			gen := c.gen
			c.passing[name] = settling{timer: time.AfterFunc(c.settle, func() { c.promote(name, gen) }), gen: gen}
		}
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.promote(name, 0)
}

// promote makes a check pass (if gen is not 0, only if it is still the
// check's pending promotion).
func (c *Checks) promote(name string, gen uint64) {
	c.mu.Lock()
	if gen != 0 {
		if p, ok := c.passing[name]; !ok || p.gen != gen {
			c.mu.Unlock()
			return
		}
		delete(c.passing, name)
	}
	s, ok := c.checks[name]
	if ok && s.OK {
		c.mu.Unlock()
		return
	}
	wasFailing := ok && s.Error != ""
	if !ok {
		s = &Status{Name: name}
		c.checks[name] = s
	}
	s.OK, s.Reason, s.Error, s.Since = true, "", "", c.now()
	st, hooks := *s, c.onChange
	c.mu.Unlock()
	if wasFailing {
		c.log.Info().Str("check", name).Msg("ready again: " + name)
	}
	for _, f := range hooks {
		f(st)
	}
}

// Report returns every check, sorted by name.
func (c *Checks) Report() Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := Report{Ready: true, Checks: make([]Status, 0, len(c.checks))}
	for _, s := range c.checks {
		r.Checks = append(r.Checks, *s)
		r.Ready = r.Ready && s.OK
	}
	slices.SortFunc(r.Checks, func(a, b Status) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return r
}

// Failing returns the failing checks.
func (c *Checks) Failing() []Status {
	var out []Status
	for _, s := range c.Report().Checks {
		if !s.OK {
			out = append(out, s)
		}
	}
	return out
}
