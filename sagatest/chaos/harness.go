// Package chaos runs Choreo as real OS processes — nats-server with the
// repository's nats.conf and the four service binaries, the same programs the
// Procfile starts — and kills, pauses and restarts them, for crash tests.
//
// # Basics
//
//	bin := ... // once per test binary: chaos.Build(dir)
//	cl := chaos.New(t, bin, chaos.Options{SagaTimeout: 20 * time.Second})
//	cl.StartAll()             // nats, then the four services, each ready
//	nc := cl.Connect(t)
//	cl.Kill("payment")        // SIGKILL, and wait for the process to end
//	cl.Start("payment")       // a new process on the same data directory
//	code, _ := cl.Term("order") // SIGTERM; the exit code
//
// Every process started is SIGKILLed in t.Cleanup, and on Linux also when the
// test binary dies (Pdeathsig). When the test failed, the tail of each
// process's log is attached to the test output.
//
// # Caveats
//
// nats-server runs with `-c nats.conf -p PORT -m PORT` in a directory of its
// own: nats.conf names its store directory relatively (data/nats), and
// nats-server refuses `-sd` alongside a store_dir in the file ("Duplicate
// 'store_dir' configuration"), so the working directory is what moves the
// store into the test's temp dir. The ports are chosen once, so clients
// reconnect across restarts; another process could in principle take one
// while nats-server is down.
//
// Methods that do not take a testing.TB (Launch, Kill, Term, Stop, Cont,
// WaitReady) report errors instead of failing the test, so a chaos goroutine
// may call them.
package chaos

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// Services are the four service processes, by their Procfile names.
var Services = []string{"order", "payment", "inventory", "shipping"}

// NATS is nats-server's process name.
const NATS = "nats"

// readyTimeout bounds how long a process may take to become ready.
const readyTimeout = 30 * time.Second

// Build builds the four service binaries and nats-server into dir, from the
// module's own sources and go.sum (nats-server is a tool dependency).
func Build(dir string) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	run := func(args ...string) error {
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	pkgs := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, s := range Services {
		pkgs = append(pkgs, "./cmd/"+s)
	}
	if err := run(pkgs...); err != nil {
		return err
	}
	return run("build", "-o", filepath.Join(dir, "nats-server"), "github.com/nats-io/nats-server/v2")
}

// RepoRoot is the directory of the main module's go.mod.
func RepoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("chaos: not inside a Go module")
	}
	return filepath.Dir(mod), nil
}

// Options tune a Cluster.
type Options struct {
	// SagaTimeout is CHOREO_SAGA_TIMEOUT. Default 20s.
	SagaTimeout time.Duration
	// Env adds KEY=value settings to the services' environment.
	Env []string
}

// Cluster is nats-server and the four services as OS processes. Its methods
// are safe for concurrent use.
type Cluster struct {
	t        testing.TB
	bin      string
	conf     string // the repository's nats.conf
	natsDir  string // nats-server's working directory
	dataDir  string // CHOREO_DATA_DIR
	logDir   string
	port     int
	httpPort int
	opts     Options

	mu    sync.Mutex
	procs map[string]*Proc // the current process of each name
	all   []*Proc          // every process started, for the cleanup
}

// Proc is one run of a process.
type Proc struct {
	Name string
	cmd  *exec.Cmd
	log  string
	from int64 // where this run's output starts in log
	done chan struct{}
	err  error // Wait's
}

// New prepares a cluster in fresh temp dirs, on two free ports, running the
// binaries in bin (see Build). Nothing is started yet.
func New(t testing.TB, bin string, opts Options) *Cluster {
	t.Helper()
	if opts.SagaTimeout <= 0 {
		opts.SagaTimeout = 20 * time.Second
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	port, httpPort := freePort(t), freePort(t)
	for httpPort == port {
		httpPort = freePort(t)
	}
	c := &Cluster{
		t: t, bin: bin, conf: filepath.Join(root, "nats.conf"),
		natsDir: t.TempDir(), dataDir: t.TempDir(), logDir: t.TempDir(),
		port: port, httpPort: httpPort, opts: opts,
		procs: map[string]*Proc{},
	}
	// Registered after the temp dirs, so it runs before they are removed.
	t.Cleanup(c.cleanup)
	return c
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (c *Cluster) cleanup() {
	c.mu.Lock()
	all := c.all
	c.mu.Unlock()
	for _, p := range all {
		_ = p.signal(syscall.SIGKILL)
		p.wait(10 * time.Second)
	}
	if !c.t.Failed() {
		return
	}
	seen := map[string]bool{}
	for _, p := range all {
		if seen[p.log] {
			continue
		}
		seen[p.log] = true
		c.t.Logf("--- last lines of %s ---\n%s", filepath.Base(p.log), tail(p.log, 40))
	}
}

// URL is the NATS client URL; it stays the same across restarts.
func (c *Cluster) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(c.port) }

// MonitorURL is nats-server's HTTP monitoring endpoint.
func (c *Cluster) MonitorURL() string { return "http://127.0.0.1:" + strconv.Itoa(c.httpPort) }

// DataDir is the services' CHOREO_DATA_DIR.
func (c *Cluster) DataDir() string { return c.dataDir }

// DBPath is a service's bbolt file.
func (c *Cluster) DBPath(name string) string { return filepath.Join(c.dataDir, name+".db") }

// NATSStoreDir is where nats.conf's store_dir lands: JetStream's files.
func (c *Cluster) NATSStoreDir() string { return filepath.Join(c.natsDir, "data", "nats") }

// Connect returns a client that reconnects forever, closed in t.Cleanup.
func (c *Cluster) Connect(t testing.TB, opts ...nats.Option) *nats.Conn {
	t.Helper()
	defaults := []nats.Option{
		nats.Name(t.Name()),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(50 * time.Millisecond),
		nats.ReconnectJitter(0, 0),
		nats.ReconnectBufSize(16 << 20),
	}
	nc, err := nats.Connect(c.URL(), append(defaults, opts...)...)
	if err != nil {
		t.Fatalf("chaos: connect %s: %v", c.URL(), err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// StartAll starts nats-server and then the four services, and waits until
// each is ready.
func (c *Cluster) StartAll() {
	c.t.Helper()
	c.Start(NATS)
	for _, s := range Services {
		c.Start(s)
	}
}

// Start launches a process and waits until it is ready; it fails the test
// otherwise. Call it from the test's goroutine.
func (c *Cluster) Start(name string) {
	c.t.Helper()
	if _, err := c.Launch(name); err != nil {
		c.t.Fatal(err)
	}
	if err := c.WaitReady(name); err != nil {
		c.t.Fatal(err)
	}
}

// Restart kills the process if it runs, then starts it again.
func (c *Cluster) Restart(name string) {
	c.t.Helper()
	if c.Running(name) {
		if err := c.Kill(name); err != nil {
			c.t.Fatal(err)
		}
	}
	c.Start(name)
}

// EnsureRunning launches every process that is not running and waits until
// all of them are ready. It does not fail the test.
func (c *Cluster) EnsureRunning() error {
	for _, name := range append([]string{NATS}, Services...) {
		if !c.Running(name) {
			if _, err := c.Launch(name); err != nil {
				return err
			}
		}
	}
	var errs []error
	for _, name := range append([]string{NATS}, Services...) {
		errs = append(errs, c.WaitReady(name))
	}
	return errors.Join(errs...)
}

// Launch starts the named process (nats or a service) without waiting for
// it to be ready. It is an error if one of that name is already running.
func (c *Cluster) Launch(name string) (*Proc, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.procs[name]; p != nil && !p.Exited() {
		return nil, fmt.Errorf("chaos: %s is already running (pid %d)", name, p.Pid())
	}
	p, err := c.spawn(name, name)
	if err != nil {
		return nil, err
	}
	c.procs[name] = p
	return p, nil
}

// LaunchExtra starts another process of a service, logging as id, outside
// the cluster's bookkeeping (Kill, Term … do not see it); it is still killed
// in the cleanup. For "a second instance on the same data" tests.
func (c *Cluster) LaunchExtra(id, service string) (*Proc, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.spawn(id, service)
}

// spawn starts a process; c.mu is held.
func (c *Cluster) spawn(id, name string) (*Proc, error) {
	var cmd *exec.Cmd
	if name == NATS {
		cmd = exec.Command(filepath.Join(c.bin, "nats-server"), "-c", c.conf,
			"-p", strconv.Itoa(c.port), "-m", strconv.Itoa(c.httpPort))
		cmd.Dir = c.natsDir
		cmd.Env = os.Environ()
	} else {
		cmd = exec.Command(filepath.Join(c.bin, name))
		cmd.Dir = c.dataDir
		cmd.Env = c.serviceEnv()
	}
	logPath := filepath.Join(c.logDir, id+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	from, err := f.Seek(0, io.SeekEnd) // this run's output begins here
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(f, "=== chaos: starting %s at %s ===\n", id, time.Now().Format(time.RFC3339Nano))
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("chaos: start %s: %w", id, err)
	}
	p := &Proc{Name: id, cmd: cmd, log: logPath, from: from, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	c.all = append(c.all, p)
	return p, nil
}

// serviceEnv is the environment of a service: the test's, without any
// Choreo or NATS setting, plus the cluster's.
func (c *Cluster) serviceEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CHOREO_") || strings.HasPrefix(kv, "NATS_URL=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"NATS_URL="+c.URL(),
		"CHOREO_DATA_DIR="+c.dataDir,
		"CHOREO_SAGA_TIMEOUT="+c.opts.SagaTimeout.String(),
		"CHOREO_SHIPPING_COUNTRIES=US,CA,GB,DE,FR,NL,JP,AU",
		"CHOREO_LOG_LEVEL=info",
	)
	return append(env, c.opts.Env...)
}

// Proc returns the current process of a name (nil if never started).
func (c *Cluster) Proc(name string) *Proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.procs[name]
}

// Running reports whether the named process is running (or stopped).
func (c *Cluster) Running(name string) bool {
	p := c.Proc(name)
	return p != nil && !p.Exited()
}

// WaitReady waits until the named process is ready: nats-server's /healthz
// answers ok (JetStream included), or a service has logged "service started"
// (its endpoints serve and its consumers are bound).
func (c *Cluster) WaitReady(name string) error {
	p := c.Proc(name)
	if p == nil {
		return fmt.Errorf("chaos: %s was never started", name)
	}
	deadline := time.Now().Add(readyTimeout)
	for {
		if p.Exited() {
			return fmt.Errorf("chaos: %s exited before it was ready (%v):\n%s", name, p.err, tail(p.log, 20))
		}
		if name == NATS {
			if healthy(c.MonitorURL()) {
				return nil
			}
		} else if strings.Contains(p.Output(), `"message":"service started"`) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("chaos: %s not ready within %v:\n%s", name, readyTimeout, tail(p.log, 20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func healthy(base string) bool {
	cl := http.Client{Timeout: time.Second}
	resp, err := cl.Get(base + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Kill sends SIGKILL to the named process and waits for it to end.
func (c *Cluster) Kill(name string) error {
	p := c.Proc(name)
	if p == nil || p.Exited() {
		return fmt.Errorf("chaos: kill %s: not running", name)
	}
	if err := p.signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("chaos: kill %s: %w", name, err)
	}
	if !p.wait(10 * time.Second) {
		return fmt.Errorf("chaos: %s did not die after SIGKILL", name)
	}
	return nil
}

// Term sends SIGTERM to the named process, waits up to 30s for it to exit
// and returns its exit code (-1 if a signal ended it).
func (c *Cluster) Term(name string) (int, error) {
	p := c.Proc(name)
	if p == nil || p.Exited() {
		return 0, fmt.Errorf("chaos: term %s: not running", name)
	}
	if err := p.signal(syscall.SIGTERM); err != nil {
		return 0, fmt.Errorf("chaos: term %s: %w", name, err)
	}
	if !p.wait(30 * time.Second) {
		return 0, fmt.Errorf("chaos: %s did not exit within 30s of SIGTERM", name)
	}
	return p.ExitCode(), nil
}

// Stop pauses the named process with SIGSTOP.
func (c *Cluster) Stop(name string) error { return c.signal(name, syscall.SIGSTOP) }

// Cont resumes a paused process with SIGCONT.
func (c *Cluster) Cont(name string) error { return c.signal(name, syscall.SIGCONT) }

func (c *Cluster) signal(name string, sig syscall.Signal) error {
	p := c.Proc(name)
	if p == nil || p.Exited() {
		return fmt.Errorf("chaos: %v to %s: not running", sig, name)
	}
	return p.signal(sig)
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

func (p *Proc) signal(sig syscall.Signal) error {
	if p.Exited() {
		return nil
	}
	err := p.cmd.Process.Signal(sig)
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits up to timeout for the process to end and reports whether it did.
func (p *Proc) Wait(timeout time.Duration) bool { return p.wait(timeout) }

func (p *Proc) wait(timeout time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// ExitCode is the exit code of an ended process, -1 if a signal ended it or
// it has not ended.
func (p *Proc) ExitCode() int {
	if !p.Exited() {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// Output is what this run of the process has logged so far.
func (p *Proc) Output() string {
	f, err := os.Open(p.log)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(p.from, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	b = bytes.TrimRight(b, "\n")
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
