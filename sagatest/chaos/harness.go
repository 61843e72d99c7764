// Package chaos runs Choreo as real OS processes — the repository's Procfile,
// the same programs `make run` starts, through package stack — for crash
// tests that kill, pause and restart them.
//
// # Basics
//
//	// once per test binary: stack.Build(ctx, repo, bin)
//	cl := chaos.New(t, bin, chaos.Options{SagaTimeout: 20 * time.Second})
//	cl.StartAll()                      // nats, then every service, each ready
//	nc := cl.Connect(t)
//	cl.Kill("payment")                 // SIGKILL, and wait for the process to end
//	cl.Start("payment")                // a new process on the same data directory
//	ex, _ := cl.Stop("order", 30*time.Second) // SIGTERM; ex.Code is the exit code
//
// A Cluster is a stack.Stack: every method of it is there. StartAll and
// Start fail the test instead of returning an error; call them from the
// test's goroutine, and the Stack's others (Launch, Kill, Stop, Pause,
// Cont, WaitReady, EnsureRunning) from any.
//
// Every process started is SIGKILLed in t.Cleanup, and on Linux also when the
// test binary dies. When the test failed, the tail of each process's log is
// attached to the test output.
package chaos

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/natsauth"
	"github.com/choreo-dev/choreo/stack"
	"github.com/nats-io/nats.go"
)

// Options tune a Cluster.
type Options struct {
	// SagaTimeout is CHOREO_SAGA_TIMEOUT. Default 20s.
	SagaTimeout time.Duration
	// Env adds KEY=value settings to the processes' environment.
	Env []string
	// NATSConfExtra is appended to the run's nats.conf (see stack.Config).
	NATSConfExtra string
	// Nodes and Partitions run a NATS cluster and partitioned services (see
	// stack.Config).
	Nodes, Partitions int
	// Secure runs the secure profile (stack.Config.Secure): TLS, an identity
	// per service, provisioning by the admin. Default: CHOREO_CHAOS_SECURE=1
	// in the environment (make chaos SECURE=1).
	Secure bool
}

// Cluster is the Procfile's processes, run for one test.
type Cluster struct {
	*stack.Stack
	t testing.TB
}

// New prepares a cluster in a fresh temp dir, on two free ports, running
// the binaries in bin. Nothing is started yet.
func New(t testing.TB, bin string, opts Options) *Cluster {
	t.Helper()
	if opts.SagaTimeout <= 0 {
		opts.SagaTimeout = 20 * time.Second
	}
	repo, err := stack.FindRepo(".")
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("CHOREO_CHAOS_SECURE") == "1" {
		opts.Secure = true
	}
	s, err := stack.New(stack.Config{Repo: repo, Bin: bin, WorkDir: t.TempDir(), Secure: opts.Secure, Env: append([]string{
		"CHOREO_SAGA_TIMEOUT=" + opts.SagaTimeout.String(),
		"CHOREO_SHIPPING_COUNTRIES=US,CA,GB,DE,FR,NL,JP,AU",
	}, opts.Env...), NATSConfExtra: opts.NATSConfExtra,
		Nodes: opts.Nodes, Partitions: opts.Partitions})
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Stack: s, t: t}
	// Registered after the temp dir, so it runs before that is removed.
	t.Cleanup(c.cleanup)
	return c
}

func (c *Cluster) cleanup() {
	if c.t.Failed() {
		seen := map[string]bool{}
		for _, p := range c.Procs() {
			if !seen[p.Log] {
				seen[p.Log] = true
				c.t.Logf("--- last lines of %s ---\n%s", filepath.Base(p.Log), p.Tail(40))
			}
		}
	}
	if err := c.Close(); err != nil {
		c.t.Error(err)
	}
}

// StartAll starts nats-server and then every service, and waits until each
// is ready; it fails the test otherwise.
func (c *Cluster) StartAll() {
	c.t.Helper()
	if err := c.Stack.StartAll(context.Background()); err != nil {
		c.t.Fatal(err)
	}
}

// Start launches a process and waits until it is ready; it fails the test
// otherwise.
func (c *Cluster) Start(name string) {
	c.t.Helper()
	if err := c.Stack.Start(context.Background(), name); err != nil {
		c.t.Fatal(err)
	}
}

// DBPath is a service's bbolt file.
func (c *Cluster) DBPath(name string) string { return filepath.Join(c.DataDir(), name+".db") }

// Connect returns a client that reconnects forever, closed in t.Cleanup;
// in the secure profile it is the client identity (the contract's requests).
func (c *Cluster) Connect(t testing.TB, opts ...nats.Option) *nats.Conn {
	t.Helper()
	return c.ConnectAs(t, natsauth.Client, opts...)
}

// ConnectAs is Connect as the named identity of the secure profile
// (natsauth.Admin to inspect and change streams and durables, say); outside
// it, every identity is the same anonymous user.
func (c *Cluster) ConnectAs(t testing.TB, identity string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	identityOpts, err := c.ConnectOptions(identity)
	if err != nil {
		t.Fatal(err)
	}
	defaults := append(identityOpts,
		nats.Name(t.Name()),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(50*time.Millisecond),
		nats.ReconnectJitter(0, 0),
		nats.ReconnectBufSize(16<<20),
	)
	nc, err := nats.Connect(c.URL(), append(defaults, opts...)...)
	if err != nil {
		t.Fatalf("chaos: connect %s: %v", c.URL(), err)
	}
	t.Cleanup(nc.Close)
	return nc
}
