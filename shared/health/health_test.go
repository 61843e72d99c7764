package health_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/choreo-dev/choreo/shared/health"
	"github.com/rs/zerolog"
)

// The operator is told once per episode: one line when a check fails, none
// while it keeps failing for the same reason, one when the reason changes,
// one when it passes again.
func TestLogsOncePerEpisode(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	c := health.New(zerolog.New(&buf))
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
