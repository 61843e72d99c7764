package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/console"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/syncbuf"
)

// choreo console serves the console, logs where it listens, reads the
// stack, and stops on the signal (its context).
func TestConsoleCommand(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	ok(t, s, "deposit", "ada", "10000")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-server", s.NATS.URL(), "console", "-addr", "127.0.0.1:0"}, &out, &errOut)
	}()
	var addr string
	natstest.Eventually(t, wait, func() error {
		for line := range strings.Lines(errOut.String()) {
			var rec struct{ Message, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Message == "listening" {
				addr = rec.Addr
				return nil
			}
		}
		return fmt.Errorf("no listening line in %q", errOut.String())
	})
	var o console.Overview
	natstest.Eventually(t, wait, func() error {
		resp, err := http.Get("http://" + addr + "/api/overview")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&o); err != nil {
			return err
		}
		if !o.NATS.Connected || len(o.Streams) == 0 {
			return fmt.Errorf("overview: %+v", o)
		}
		return nil
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("console: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("the console did not stop")
	}
	contains(t, "console log", errOut.String(), `"service":"console"`, `"message":"connected to NATS"`, `"message":"stopped"`)
}

func TestConsoleConfig(t *testing.T) {
	t.Parallel()
	env := map[string]string{"CHOREO_CONSOLE_SERVICES": "order=127.0.0.1:1,payment=off", "CHOREO_STUCK_AFTER": "1m"}
	cfg, err := consoleConfig(func(k string) string { return env[k] })
	if err != nil || cfg.StuckAfter != time.Minute || len(cfg.Services) != 2 || cfg.Services[1].Served() {
		t.Errorf("config = %+v, %v", cfg, err)
	}
	env = map[string]string{"CHOREO_CONSOLE_SERVICES": "order", "CHOREO_STUCK_AFTER": "soon"}
	if _, err := consoleConfig(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "CHOREO_CONSOLE_SERVICES") {
		t.Errorf("bad services: %v", err)
	}
	if r := choreo(t, nil, "console", "-addr", "nowhere"); r.code != 1 || !strings.Contains(r.err, `Addr: "nowhere"`) {
		t.Errorf("console -addr nowhere: %+v", r)
	}
}
