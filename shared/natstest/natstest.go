// Package natstest runs an embedded NATS server with JetStream for tests,
// the way nats-server's own test harness does: a random port on 127.0.0.1,
// a temporary store directory, no logging, no signal handlers, and shutdown
// in t.Cleanup.
//
// # Basics
//
//	s := natstest.RunJetStream(t)
//	js := s.JetStream(t)            // client closed in t.Cleanup
//	...
//	s.Restart(t)                    // same port, same store: clients reconnect, streams survive
//	natstest.Eventually(t, 5*time.Second, func() error { ... })
//
// # Caveats
//
// Restart reuses the port the first server was given. Another process could in
// principle grab it in between; Restart then fails the test rather than moving
// to a new port, because a new port would not let existing clients reconnect.
//
// Eventually calls t.Fatalf, so, like every testing.TB failure, it must run on
// the test's own goroutine.
package natstest

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// readyTimeout bounds how long a server may take to accept connections.
const readyTimeout = 10 * time.Second

// Option changes how RunJetStream configures the server.
type Option func(*config)

type config struct {
	storeDir   string
	syncAlways bool
	maxPayload int32
}

// WithStoreDir keeps JetStream's files in dir instead of a fresh t.TempDir().
// Use it to start a second server over the files a first one left behind.
func WithStoreDir(dir string) Option {
	return func(c *config) { c.storeDir = dir }
}

// WithSyncAlways makes JetStream fsync every write before acknowledging it,
// the equivalent of `sync_interval: always` in a server config file.
func WithSyncAlways() Option {
	return func(c *config) { c.syncAlways = true }
}

// WithMaxPayload sets the server's max_payload (default 1 MiB).
func WithMaxPayload(n int32) Option {
	return func(c *config) { c.maxPayload = n }
}

// Server is an embedded nats-server with JetStream enabled. Its methods are
// safe for concurrent use.
type Server struct {
	cfg config

	life sync.Mutex // serialises Shutdown and Restart

	mu   sync.Mutex
	port int            // -1 until the first server has bound one
	srv  *server.Server // nil while shut down
}

// RunJetStream starts a JetStream-enabled server on 127.0.0.1 and a random
// port, storing its files under t.TempDir() unless WithStoreDir says
// otherwise. The server is shut down, and waited for, in t.Cleanup.
func RunJetStream(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.storeDir == "" {
		cfg.storeDir = t.TempDir()
	}
	s := &Server{cfg: cfg, port: -1}
	// Registered after t.TempDir, so it runs before the directory is removed.
	t.Cleanup(s.Shutdown)
	s.start(t)
	return s
}

// start runs a new server on s.port (random when -1) and records its port.
func (s *Server) start(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	port := s.port
	s.mu.Unlock()
	srv, err := server.NewServer(&server.Options{
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   s.cfg.storeDir,
		SyncAlways: s.cfg.syncAlways,
		MaxPayload: s.cfg.maxPayload,
		NoLog:      true,
		NoSigs:     true,
	})
	if err != nil {
		t.Fatalf("natstest: new server: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(readyTimeout) {
		srv.Shutdown()
		srv.WaitForShutdown()
		t.Fatalf("natstest: server on port %d not ready for connections within %v", port, readyTimeout)
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		t.Fatalf("natstest: server on port %d started without JetStream", port)
	}
	s.mu.Lock()
	s.port = srv.Addr().(*net.TCPAddr).Port
	s.srv = srv
	s.mu.Unlock()
}

// URL is the client URL, e.g. nats://127.0.0.1:53127. It stays the same
// across Restart.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "nats://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// StoreDir is the directory JetStream keeps its files in.
func (s *Server) StoreDir() string { return s.cfg.storeDir }

// Shutdown stops the server and waits until it has stopped. Connected clients
// see a disconnect and, if they were made by Connect, keep trying to
// reconnect. It is a no-op when the server is already down.
func (s *Server) Shutdown() {
	s.life.Lock()
	defer s.life.Unlock()
	s.stop()
}

func (s *Server) stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	srv.Shutdown()
	srv.WaitForShutdown()
}

// Restart shuts the server down (if it is running) and starts a new one on
// the same port over the same store directory, so clients reconnect and every
// file-backed stream and consumer survives. It is the in-process stand-in for
// a NATS crash and restart in the middle of a test.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.life.Lock()
	defer s.life.Unlock()
	s.stop()
	s.start(t)
}

// RestartWiped shuts the server down, deletes everything JetStream stored
// (streams, consumers, messages) and starts it again on the same port: an
// operator's worst day, a broker that lost its state.
func (s *Server) RestartWiped(t testing.TB) {
	t.Helper()
	s.life.Lock()
	defer s.life.Unlock()
	s.stop()
	entries, err := os.ReadDir(s.cfg.storeDir)
	if err != nil {
		t.Fatalf("natstest: wipe: %v", err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(s.cfg.storeDir, e.Name())); err != nil {
			t.Fatalf("natstest: wipe: %v", err)
		}
	}
	s.start(t)
}

// Connect returns a client connected to the server, closed in t.Cleanup. It
// retries reconnecting forever with a short wait, so it survives Restart;
// opts are applied after those defaults.
func (s *Server) Connect(t testing.TB, opts ...nats.Option) *nats.Conn {
	t.Helper()
	defaults := []nats.Option{
		nats.Name(t.Name()),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(20 * time.Millisecond),
		nats.ReconnectJitter(0, 0),
	}
	nc, err := nats.Connect(s.URL(), append(defaults, opts...)...)
	if err != nil {
		t.Fatalf("natstest: connect %s: %v", s.URL(), err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// JetStream returns a JetStream context over a new connection from Connect.
func (s *Server) JetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(s.Connect(t))
	if err != nil {
		t.Fatalf("natstest: jetstream: %v", err)
	}
	return js
}

// Eventually calls f every 20ms until it returns nil, and fails the test with
// f's last error if that has not happened within timeout. Tests wait with it,
// never with time.Sleep. Like nats-server's checkFor.
func Eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	const every = 20 * time.Millisecond
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = f(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(every)
	}
	t.Fatalf("natstest: still failing after %v: %v", timeout, err)
}
