package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Stack is the Procfile's processes running in a run directory of their
// own. Its methods are safe for concurrent use.
type Stack struct {
	cfg     Config
	dir     string
	entries []Entry // Procfile order
	nats    string  // the (first) nats-server entry's name
	url     string  // every node's client URL, comma-separated
	monitor string

	nodes   []string          // the nats-server entries: one, or a cluster's nodes
	nodeURL map[string]string // each node's client URL
	http    map[string]string // each service's HTTP endpoint, with Config.Tools

	mu     sync.Mutex
	secure *secure // the secure profile's, if Config.Secure

	env    map[string][]string // Setenv's, by entry name
	wrap   map[string]string   // Wrap's command prefixes, by entry name
	procs  map[string]*Proc    // the current run of each entry
	all    []*Proc             // every run started, for Close
	closed bool
}

// pollEvery is how often a wait looks again.
const pollEvery = 25 * time.Millisecond

// New reads the Procfile and nats.conf, picks two free loopback ports and
// makes the run directory: nats.conf rewritten for the run, an empty data/
// (CHOREO_DATA_DIR, and JetStream's store as nats.conf names it), logs/ and
// a bin symlink to Config.Bin. Nothing is started yet; Close removes it all.
func New(cfg Config) (*Stack, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("stack config: %w", err)
	}
	entries, err := ReadProcfile(cfg.Procfile)
	if err != nil {
		return nil, err
	}
	conf, err := os.ReadFile(cfg.NATSConf)
	if err != nil {
		return nil, err
	}
	nodes := max(1, cfg.Nodes)
	confs, urls, monitors, err := nodeConfs(string(conf), cfg, nodes)
	if err != nil {
		return nil, err
	}
	bin, err := filepath.Abs(cfg.Bin)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, err
	}
	prefix := "run-"
	if cfg.Sync != SyncAsWritten {
		prefix += cfg.Sync + "-"
	}
	dir, err := os.MkdirTemp(cfg.WorkDir, prefix)
	if err != nil {
		return nil, err
	}
	s := &Stack{cfg: cfg, dir: dir, url: strings.Join(urls, ","), monitor: monitors[0],
		env: map[string][]string{}, wrap: map[string]string{}, procs: map[string]*Proc{},
		nodeURL: map[string]string{}, http: map[string]string{}}
	var names []string
	if nodes > 1 {
		for i := range nodes {
			names = append(names, nodeConfName(cfg.NATSConf, i, nodes))
		}
	}
	s.entries, s.nodes, err = Expand(entries, cfg.NATSConf, names, max(1, cfg.Partitions))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	for i, n := range s.nodes {
		s.nodeURL[n] = urls[i]
	}
	if err := s.placeTools(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.nats = s.nodes[0]
	rc := confs[0]
	for _, step := range []func() error{
		func() error {
			for i, c := range confs {
				if err := os.WriteFile(filepath.Join(dir, nodeConfName(cfg.NATSConf, i, nodes)), []byte(c), 0o644); err != nil {
					return err
				}
			}
			return nil
		},
		func() error { return os.Mkdir(s.DataDir(), 0o755) },
		func() error { return os.Mkdir(filepath.Join(dir, "logs"), 0o755) },
		func() error { return os.Symlink(bin, filepath.Join(dir, "bin")) },
		s.checkPrograms,
		func() error {
			if !cfg.Secure {
				return nil
			}
			return s.makeSecure(rc)
		},
	} {
		if err := step(); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// checkPrograms makes sure every program the Procfile names by a path is
// there, so a missing build is reported as such and not as a process that
// exited before it was ready.
func (s *Stack) checkPrograms() error {
	var errs []error
	for _, e := range s.entries {
		prog := strings.Fields(e.Command)[0]
		if !strings.Contains(prog, "/") {
			continue // looked up in $PATH
		}
		if !filepath.IsAbs(prog) {
			prog = filepath.Join(s.dir, prog)
		}
		if _, err := os.Stat(prog); err != nil {
			errs = append(errs, fmt.Errorf("Procfile entry %s: %w (build the binaries into %s: make build, or stack.Build)", e.Name, err, s.cfg.Bin))
		}
	}
	return errors.Join(errs...)
}

// freePortsN returns n distinct free loopback ports. They are chosen once,
// so clients reconnect across restarts of nats-server; another program
// could in principle take one while nats-server is down.
func freePortsN(n int) ([]int, error) {
	var ports []int
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		defer l.Close() // held until all are picked, so they differ
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Dir is the run directory, every process's working directory.
func (s *Stack) Dir() string { return s.dir }

// DataDir is the services' CHOREO_DATA_DIR, Dir/data.
func (s *Stack) DataDir() string { return filepath.Join(s.dir, "data") }

// URL is the NATS client URL; it stays the same across restarts.
func (s *Stack) URL() string { return s.url }

// MonitorURL is nats-server's HTTP monitoring endpoint.
func (s *Stack) MonitorURL() string { return s.monitor }

// NATS is the name of the Procfile's nats-server entry (of a cluster's
// first node).
func (s *Stack) NATS() string { return s.nats }

// NATSNodes are the names of the nats-server entries: NATS, or a cluster's
// nodes (nats1, nats2, …).
func (s *Stack) NATSNodes() []string { return slices.Clone(s.nodes) }

// Services are the names of the services' entries (neither nats-server nor
// a tool), in Procfile order.
func (s *Stack) Services() []string {
	var out []string
	for _, e := range s.entries {
		if e.Service() {
			out = append(out, e.Name)
		}
	}
	return out
}

// Tools are the names of the tools' entries the stack runs (none unless
// Config.Tools), in Procfile order.
func (s *Stack) Tools() []string {
	var out []string
	for _, e := range s.entries {
		if e.Tool() {
			out = append(out, e.Name)
		}
	}
	return out
}

// placeTools drops the tools from the run unless Config.Tools; with it,
// it picks a free loopback port for each service's HTTP endpoint, the same
// across restarts.
func (s *Stack) placeTools() error {
	if !s.cfg.Tools {
		s.entries = slices.DeleteFunc(s.entries, Entry.Tool)
		return nil
	}
	services := s.Services()
	ports, err := freePortsN(len(services))
	if err != nil {
		return err
	}
	for i, name := range services {
		s.http[name] = "127.0.0.1:" + strconv.Itoa(ports[i])
	}
	return nil
}

// HTTPAddr is the address of a service's HTTP endpoint (/metrics, /healthz,
// /readyz): "" unless Config.Tools, the services' endpoints being off
// otherwise.
func (s *Stack) HTTPAddr(name string) string { return s.http[name] }

// Setenv adds KEY=value settings to the environment of the named entry's
// processes (a LaunchExtra of it included), from their next launch on.
func (s *Stack) Setenv(name string, kv ...string) error {
	if _, err := s.entry(name); err != nil {
		return err
	}
	if err := checkEnv("Setenv "+name, kv); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.env[name] = append(s.env[name], kv...)
	return nil
}

// Wrap runs the named entry's command behind prefix from its next launch on
// (`nsenter -t PID -m --`, say: a process in another mount namespace, whose
// data directory is a small tmpfs a test can fill). An empty prefix undoes
// it.
func (s *Stack) Wrap(name, prefix string) error {
	if _, err := s.entry(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wrap[name] = prefix
	return nil
}

func (s *Stack) entry(name string) (Entry, error) {
	for _, e := range s.entries {
		if e.Name == name {
			return e, nil
		}
	}
	return Entry{}, fmt.Errorf("%w: %q", ErrUnknown, name)
}

// StartAll starts nats-server and waits until it is ready, then starts every
// service and waits until each is ready.
//
// In the secure profile it provisions the streams and durables (Provision)
// between the two, as `make run-secure` does.
func (s *Stack) StartAll(ctx context.Context) error {
	// A cluster's nodes start together: JetStream is ready on none until a
	// majority is up.
	for _, n := range s.nodes {
		if _, err := s.Launch(n); err != nil {
			return err
		}
	}
	for _, n := range s.nodes {
		if err := s.WaitReady(ctx, n); err != nil {
			return err
		}
	}
	if err := s.Provision(ctx); err != nil {
		return err
	}
	return s.EnsureRunning(ctx)
}

// Start launches the named process and waits until it is ready.
func (s *Stack) Start(ctx context.Context, name string) error {
	if _, err := s.Launch(name); err != nil {
		return err
	}
	return s.WaitReady(ctx, name)
}

// Restart kills the named process if it runs, then starts it again.
func (s *Stack) Restart(ctx context.Context, name string) error {
	if s.Running(name) {
		if err := s.Kill(name); err != nil {
			return err
		}
	}
	return s.Start(ctx, name)
}

// EnsureRunning launches every Procfile entry that is not running, and waits
// until all are ready.
func (s *Stack) EnsureRunning(ctx context.Context) error {
	for _, e := range s.entries {
		if !s.Running(e.Name) {
			if _, err := s.Launch(e.Name); err != nil {
				return err
			}
		}
	}
	var errs []error
	for _, e := range s.entries {
		errs = append(errs, s.WaitReady(ctx, e.Name))
	}
	return errors.Join(errs...)
}

// Launch starts the named entry without waiting for it to be ready. It is
// an error if it is already running.
func (s *Stack) Launch(name string) (*Proc, error) {
	e, err := s.entry(name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.procs[name]; p != nil && !p.Exited() {
		return nil, fmt.Errorf("%s: %w (pid %d)", name, ErrRunning, p.Pid())
	}
	p, err := s.spawn(name, e)
	if err != nil {
		return nil, err
	}
	s.procs[name] = p
	return p, nil
}

// LaunchExtra starts another process of the named entry, logging as id,
// beside the current one: on the same data directory, with the same
// environment. The stack's other methods do not see it; Close kills it.
func (s *Stack) LaunchExtra(id, name string) (*Proc, error) {
	e, err := s.entry(name)
	if err != nil {
		return nil, err
	}
	if _, err := s.entry(id); err == nil || id == "" || strings.ContainsAny(id, " \t/") {
		return nil, fmt.Errorf("stack: extra process id %q must be a new name usable as a file name", id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spawn(id, e)
}

// spawn starts a process of e logging as id, through /bin/sh as goreman
// does (with exec, so the pid is the program's); s.mu is held.
func (s *Stack) spawn(id string, e Entry) (*Proc, error) {
	if s.closed {
		return nil, ErrClosed
	}
	logPath := filepath.Join(s.dir, "logs", id+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	from, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(f, "=== stack: starting %s (%s) at %s ===\n", id, e.Command, time.Now().Format(time.RFC3339Nano))
	command := e.Command
	if p := s.wrap[e.Name]; p != "" {
		command = p + " " + command
	}
	cmd := exec.Command("/bin/sh", "-c", "exec "+command)
	cmd.Dir = s.dir
	cmd.Env = s.environ(e.Name)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", id, e.Command, err)
	}
	p := &Proc{Name: id, Entry: e, Log: logPath, cmd: cmd, from: from, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	s.all = append(s.all, p)
	return p, nil
}

// environ is a process's environment: the harness's own without any Choreo,
// NATS_URL, NATS_CREDS, NATS_TLS_CA or OpenTelemetry setting (so a user's
// CHOREO_DATA_DIR cannot point a run at real data, nor their credentials
// leak into it, nor their OTEL_* send its spans anywhere), then the run's
// (in the secure profile, the entry's identity and the CA), Config.Env and
// the entry's Setenv; the last setting of a key wins. The services' HTTP
// endpoints are off unless a setting turns them on, or the stack runs its
// tools (each then has a free port of its own): their default ports would
// collide between stacks on one machine. A tool listens on a free port
// (its log says which: Addr) and is told where the services' endpoints
// are. s.mu is held.
func (s *Stack) environ(name string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CHOREO_") || strings.HasPrefix(kv, "NATS_URL=") || strings.HasPrefix(kv, "OTEL_") ||
			strings.HasPrefix(kv, "NATS_CREDS=") || strings.HasPrefix(kv, "NATS_TLS_CA=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"NATS_URL="+s.url,
		"CHOREO_DATA_DIR="+s.DataDir(),
		"CHOREO_LOG_LEVEL="+s.cfg.LogLevel,
		"CHOREO_HTTP_ADDR=off",
	)
	if e, err := s.entry(name); err == nil {
		env = append(env, s.toolEnv(e)...)
		env = append(env, s.secureEnv(e)...)
		env = append(env, e.Env...)
	}
	if len(s.nodes) > 1 {
		env = append(env, "CHOREO_STREAM_REPLICAS="+strconv.Itoa(min(3, len(s.nodes))))
	}
	env = append(env, s.cfg.Env...)
	return append(env, s.env[name]...)
}

// toolEnv is what the stack's tools settings add to an entry's
// environment: a service's HTTP address, or a tool's own address (any free
// port) and the services' (CHOREO_CONSOLE_ADDR, CHOREO_CONSOLE_SERVICES:
// the console's settings).
func (s *Stack) toolEnv(e Entry) []string {
	switch {
	case e.Service() && s.http[e.Name] != "":
		return []string{"CHOREO_HTTP_ADDR=" + s.http[e.Name]}
	case e.Tool():
		var svcs []string
		for _, name := range s.Services() {
			svcs = append(svcs, name+"="+s.http[name])
		}
		return []string{"CHOREO_CONSOLE_ADDR=127.0.0.1:0", "CHOREO_CONSOLE_SERVICES=" + strings.Join(svcs, ",")}
	}
	return nil
}

// Proc is the current run of the named entry (nil if never started).
func (s *Stack) Proc(name string) *Proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.procs[name]
}

// Procs is every run started so far, extras included, in start order.
func (s *Stack) Procs() []*Proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Proc(nil), s.all...)
}

// Running reports whether the named entry's current run has not ended
// (a paused process is running).
func (s *Stack) Running(name string) bool {
	p := s.Proc(name)
	return p != nil && !p.Exited()
}

// running is the current run of name, or ErrNotRunning.
func (s *Stack) running(name string) (*Proc, error) {
	if _, err := s.entry(name); err != nil {
		return nil, err
	}
	p := s.Proc(name)
	if p == nil || p.Exited() {
		return nil, fmt.Errorf("%s: %w", name, ErrNotRunning)
	}
	return p, nil
}

// WaitReady waits until the named entry's current run is ready (see ready
// for the rule), for at most Config.ReadyTimeout. It fails at once if the
// process ends first.
func (s *Stack) WaitReady(ctx context.Context, name string) error {
	if _, err := s.entry(name); err != nil {
		return err
	}
	p := s.Proc(name)
	if p == nil {
		return fmt.Errorf("%s: %w (never started)", name, ErrNotRunning)
	}
	deadline := time.Now().Add(s.cfg.ReadyTimeout)
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		if p.Exited() {
			return fmt.Errorf("%s: %w (%v):\n%s", name, ErrExited, p.err, lastLines(p.Output(), 20))
		}
		err := s.ready(ctx, p)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %w within %v (%v):\n%s", name, ErrNotReady, s.cfg.ReadyTimeout, err, lastLines(p.Output(), 20))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", name, ctx.Err())
		case <-t.C:
		}
	}
}

// Kill sends SIGKILL to the named process and waits for it to end.
func (s *Stack) Kill(name string) error {
	p, err := s.running(name)
	if err != nil {
		return fmt.Errorf("kill %w", err)
	}
	if err := p.signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill %s: %w", name, err)
	}
	if !p.Wait(10 * time.Second) {
		return fmt.Errorf("kill %s: still running 10s after SIGKILL", name)
	}
	return nil
}

// Signal sends sig to the named process and returns: SIGUSR2 puts a
// nats-server in lame duck mode, say, which ends it in its own time.
func (s *Stack) Signal(name string, sig syscall.Signal) error {
	p, err := s.running(name)
	if err != nil {
		return fmt.Errorf("signal %w", err)
	}
	if err := p.signal(sig); err != nil {
		return fmt.Errorf("signal %s: %w", name, err)
	}
	return nil
}

// Stop sends SIGTERM to the named process and waits up to timeout for it to
// exit; after that it SIGKILLs it and the error wraps ErrStopTimeout.
func (s *Stack) Stop(name string, timeout time.Duration) (Exit, error) {
	p, err := s.running(name)
	if err != nil {
		return Exit{Name: name}, fmt.Errorf("stop %w", err)
	}
	ex := p.stop(timeout)
	if ex.Killed {
		return ex, fmt.Errorf("%s: %w within %v, killed", name, ErrStopTimeout, timeout)
	}
	return ex, nil
}

// StopAll stops every process as Stop does, the services (and extras) in
// parallel first and nats-server last, so the services drain against a
// live server. It reports how each entry's current run ended, those that
// had ended already included.
func (s *Stack) StopAll(timeout time.Duration) []Exit {
	var services, nats []*Proc
	for _, p := range s.Procs() {
		current := s.Proc(p.Name) == p
		if !current && p.Exited() {
			continue // an earlier run, or an extra that has ended
		}
		if p.Entry.NATS() {
			nats = append(nats, p)
		} else {
			services = append(services, p)
		}
	}
	var (
		mu  sync.Mutex
		out []Exit
	)
	for _, group := range [][]*Proc{services, nats} {
		var wg sync.WaitGroup
		for _, p := range group {
			wg.Go(func() {
				ex := p.stop(timeout)
				mu.Lock()
				out = append(out, ex)
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	return out
}

// Pause stops the named process with SIGSTOP and, where /proc tells, waits
// until every thread of it has stopped: the kernel stops each only as it
// next runs, and until then the process may still answer a request.
func (s *Stack) Pause(name string) error {
	p, err := s.signal("pause", name, syscall.SIGSTOP)
	if err != nil {
		return err
	}
	if err := p.waitStopped(10 * time.Second); err != nil {
		return fmt.Errorf("pause %s: %w", name, err)
	}
	return nil
}

// Cont resumes a paused process with SIGCONT.
func (s *Stack) Cont(name string) error {
	_, err := s.signal("cont", name, syscall.SIGCONT)
	return err
}

func (s *Stack) signal(op, name string, sig syscall.Signal) (*Proc, error) {
	p, err := s.running(name)
	if err != nil {
		return nil, fmt.Errorf("%s %w", op, err) // err names the process
	}
	if err := p.signal(sig); err != nil {
		return nil, fmt.Errorf("%s %s: %w", op, name, err)
	}
	return p, nil
}

// Usage reads the CPU time and memory of each entry's running process.
func (s *Stack) Usage() map[string]Usage {
	out := map[string]Usage{}
	for _, e := range s.entries {
		if p := s.Proc(e.Name); p != nil && !p.Exited() {
			if u, err := ReadUsage(p.Pid()); err == nil {
				out[e.Name] = u
			}
		}
	}
	return out
}

// Dead returns an error naming every entry whose current run has ended.
func (s *Stack) Dead() error {
	var errs []error
	for _, e := range s.entries {
		if p := s.Proc(e.Name); p != nil && p.Exited() {
			errs = append(errs, fmt.Errorf("%s exited (%v):\n%s", e.Name, p.err, lastLines(p.Output(), 20)))
		}
	}
	return errors.Join(errs...)
}

// Close SIGKILLs every process still running, waits for them, and removes
// the run directory unless Config.Keep. Nothing can be launched after it.
func (s *Stack) Close() error {
	s.mu.Lock()
	s.closed = true
	all := s.all
	s.mu.Unlock()
	var errs []error
	for _, p := range all {
		_ = p.signal(syscall.SIGKILL)
		if !p.Wait(10 * time.Second) {
			errs = append(errs, fmt.Errorf("close: %s (pid %d) still running 10s after SIGKILL", p.Name, p.Pid()))
		}
	}
	if !s.cfg.Keep {
		errs = append(errs, os.RemoveAll(s.dir))
	}
	return errors.Join(errs...)
}
