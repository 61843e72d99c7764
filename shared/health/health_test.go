package health_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/health"
	"github.com/choreo-dev/choreo/shared/syncbuf"
	"github.com/rs/zerolog"
)

// The operator is told once per episode: one line when a check fails, none
// while it keeps failing for the same reason, one when the reason changes,
// one when it passes again.
func TestLogsOncePerEpisode(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	c := health.New(zerolog.New(&buf))
	c.SetSettle(0)
	c.Expect("store", "not opened yet")
	if c.Report().Ready {
		t.Fatal("ready before the check passed")
	}
	c.Pass("store")
	if !c.Report().Ready || buf.Len() != 0 {
		t.Fatalf("first pass: ready=%v, logged %q", c.Report().Ready, buf.String())
	}
	for range 10 {
		c.Fail("store", "disk full", errors.New("write /data/x.db: no space left on device"))
	}
	c.Fail("store", "I/O error", errors.New("input/output error"))
	c.Pass("store")
	c.Pass("store")
	c.Fail("store", "disk full", errors.New("no space left on device"))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{"not ready: store: disk full", "not ready: store: I/O error", "ready again: store", "not ready: store: disk full"}
	if len(lines) != len(want) {
		t.Fatalf("logged %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d = %s, want %q", i, lines[i], w)
		}
	}
	r := c.Report()
	if r.Ready || len(r.Checks) != 1 || r.Checks[0].Reason != "disk full" || !strings.Contains(r.Checks[0].Error, "no space") {
		t.Fatalf("report %+v", r)
	}
}

func TestOnChangeAndNil(t *testing.T) {
	t.Parallel()
	var nilChecks *health.Checks
	nilChecks.Fail("x", "y", nil) // a component without checks ignores them
	nilChecks.Pass("x")
	c := health.New(zerolog.Nop())
	c.SetSettle(0)
	var seen []string
	c.OnChange(func(s health.Status) {
		seen = append(seen, s.Name+":"+map[bool]string{true: "ok", false: s.Reason}[s.OK])
	})
	c.Fail("nats", "disconnected", nil)
	c.Fail("nats", "disconnected", nil)
	c.Pass("nats")
	if strings.Join(seen, ",") != "nats:disconnected,nats:ok" {
		t.Fatalf("changes %v", seen)
	}
	if f := c.Failing(); len(f) != 0 {
		t.Fatalf("failing %v", f)
	}
}

// A check that flaps — a nearly full disk lets some writes through — is one
// episode: it passes again only after passing for the settle time.
func TestFlappingIsOneEpisode(t *testing.T) {
	t.Parallel()
	var mu syncbuf.Buffer
	c := health.New(zerolog.New(&mu))
	c.SetSettle(50 * time.Millisecond)
	for range 20 {
		c.Fail("consumer", "disk full", errors.New("no space left on device"))
		c.Pass("consumer")
	}
	if c.Report().Ready {
		t.Fatal("ready while flapping")
	}
	// Ready again, and said so (the line follows the state change).
	deadline := time.Now().Add(5 * time.Second)
	for !c.Report().Ready || !strings.Contains(mu.String(), "ready again") {
		if time.Now().After(deadline) {
			t.Fatal("never ready again after it kept passing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSpace(mu.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "not ready: consumer: disk full") || !strings.Contains(lines[1], "ready again: consumer") {
		t.Fatalf("logged:\n%s", mu.String())
	}
}
