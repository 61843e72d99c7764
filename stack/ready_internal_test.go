package stack

import "testing"

// Only a log line whose message is "service started" makes a service ready.
func TestLoggedReady(t *testing.T) {
	t.Parallel()
	for log, want := range map[string]bool{
		`{"level":"info","service":"order","message":"service started"}` + "\n":    true,
		`{"level":"info","msg":"service started"}`:                                 true,
		"{\"message\":\"connected to NATS\"}\n{\"message\":\"service started\"}\n": true,
		`{"level":"info","message":"cannot tell","detail":"service started"}`:      false,
		`service started`: false,
		`{"level":"info","message":"service started later"}`:                                   false,
		`=== stack: starting order (bin/order) at 2026-01-01T00:00:00Z ===` + "\n" + `{"a":1}`: false,
	} {
		if got := loggedReady(log); got != want {
			t.Errorf("loggedReady(%q) = %v, want %v", log, got, want)
		}
	}
}
