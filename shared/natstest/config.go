package natstest

import (
	"fmt"
	"net"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

// RunConfigFile starts nats-server on the configuration file at path (the
// secure profile's, with TLS and its users, say), without logs or signal
// handlers, shut down in t.Cleanup, and returns its client URL. The file
// says where it listens (port -1 for a free one) and where JetStream keeps
// its files.
func RunConfigFile(t testing.TB, path string) string {
	t.Helper()
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("natstest: nats-server refuses %s: %v", path, err)
	}
	opts.NoLog, opts.NoSigs = true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	t.Cleanup(s.Shutdown)
	if !s.ReadyForConnections(readyTimeout) {
		t.Fatal("natstest: nats-server not ready")
	}
	return fmt.Sprintf("nats://127.0.0.1:%d", s.Addr().(*net.TCPAddr).Port)
}
