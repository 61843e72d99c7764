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

// A tool's address is the last one it logged as listening on: a restart
// logs its own.
func TestLoggedAddr(t *testing.T) {
	t.Parallel()
	for log, want := range map[string]string{
		`{"level":"info","addr":"127.0.0.1:4000","message":"listening"}` + "\n":                                      "127.0.0.1:4000",
		`{"addr":"127.0.0.1:4000","message":"listening"}` + "\n" + `{"addr":"127.0.0.1:4001","message":"listening"}`: "127.0.0.1:4001",
		`{"addr":"127.0.0.1:4000","message":"not listening yet"}`:                                                    "",
		`{"message":"service started"}`:                                                                              "",
	} {
		if got := loggedAddr(log); got != want {
			t.Errorf("loggedAddr(%q) = %q, want %q", log, got, want)
		}
	}
}
