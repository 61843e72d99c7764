package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	bolt "go.etcd.io/bbolt"
)

// StackConfig says where the stack's programs and configuration are.
type StackConfig struct {
	// Repo is the repository root: its Procfile and nats.conf are used.
	Repo string
	// Bin is the directory of the binaries the Procfile names as bin/...;
	// default Repo/bin. The run directory gets a `bin` symlink to it.
	Bin string
	// WorkDir is where the run directory is made; default Repo/bench/out
	// (git-ignored, and on the same file system as a `make run`'s data/).
	WorkDir string
	// Sync is SyncAlways or SyncDefault.
	Sync string
	// SagaTimeout is CHOREO_SAGA_TIMEOUT; default 60s.
	SagaTimeout time.Duration
	// LogLevel is CHOREO_LOG_LEVEL; default warn.
	LogLevel string
	// ReadyTimeout bounds the start of each process; default 30s.
	ReadyTimeout time.Duration
	// Keep leaves the run directory (data, logs) in place after Close.
	Keep bool
	// Pprof gives each service CHOREO_PPROF_ADDR on a free loopback port
	// (Process.PprofAddr).
	Pprof bool
}

// Stack is the Procfile's processes running in a fresh directory of their
// own: a copy of nats.conf, an empty data/, and bin -> the binaries. Each
// command line runs as the Procfile writes it, through /bin/sh as goreman
// does (with exec, so the pid is the program's).
type Stack struct {
	// Dir is the run directory, the processes' working directory.
	Dir string
	// NATSURL is the client URL, MonitorURL nats-server's HTTP endpoint.
	NATSURL, MonitorURL string
	// Procs are the processes, in Procfile order.
	Procs []*Process
	cfg   StackConfig
}

// Process is one running Procfile entry.
type Process struct {
	Name, Command string
	// NATS is set for the nats-server entry; the others are services.
	NATS    bool
	LogPath string
	// PprofAddr is where the service serves net/http/pprof, if
	// StackConfig.Pprof.
	PprofAddr string
	cmd       *exec.Cmd
	done      chan struct{}
	err       error
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// StopResult is how a process ended.
type StopResult struct {
	Name     string
	ExitCode int  // -1 if a signal ended it
	Killed   bool // needed SIGKILL after the SIGTERM timeout
	Err      error
}

// StartStack starts nats-server, waits until JetStream answers, then starts
// the services and waits until each answers its micro ping. On error
// everything started is stopped again.
func StartStack(ctx context.Context, cfg StackConfig) (*Stack, error) {
	if cfg.Bin == "" {
		cfg.Bin = filepath.Join(cfg.Repo, "bin")
	}
	if cfg.WorkDir == "" {
		cfg.WorkDir = filepath.Join(cfg.Repo, "bench", "out")
	}
	if cfg.SagaTimeout <= 0 {
		cfg.SagaTimeout = 60 * time.Second
	}
	if cfg.LogLevel == "" {
		cfg.LogLevel = "warn"
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 30 * time.Second
	}
	f, err := os.Open(filepath.Join(cfg.Repo, "Procfile"))
	if err != nil {
		return nil, fmt.Errorf("start stack: %w", err)
	}
	entries, err := ParseProcfile(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("start stack: %w", err)
	}
	conf, err := os.ReadFile(filepath.Join(cfg.Repo, "nats.conf"))
	if err != nil {
		return nil, fmt.Errorf("start stack: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	listen, httpAddr := "127.0.0.1:"+strconv.Itoa(port), "127.0.0.1:"+strconv.Itoa(httpPort)
	runConf, err := RewriteNATSConf(string(conf), ConfOptions{Sync: cfg.Sync, Listen: listen, HTTP: httpAddr})
	if err != nil {
		return nil, err
	}
	bin, err := filepath.Abs(cfg.Bin)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("start stack: %w", err)
	}
	dir, err := os.MkdirTemp(cfg.WorkDir, "run-"+cfg.Sync+"-")
	if err != nil {
		return nil, fmt.Errorf("start stack: %w", err)
	}
	s := &Stack{Dir: dir, NATSURL: "nats://" + listen, MonitorURL: "http://" + httpAddr, cfg: cfg}
	for _, step := range []func() error{
		func() error { return os.WriteFile(filepath.Join(dir, "nats.conf"), []byte(runConf), 0o644) },
		func() error { return os.Mkdir(filepath.Join(dir, "data"), 0o755) },
		func() error { return os.Mkdir(filepath.Join(dir, "logs"), 0o755) },
		func() error { return os.Symlink(bin, filepath.Join(dir, "bin")) },
	} {
		if err := step(); err != nil {
			s.Close()
			return nil, fmt.Errorf("start stack: %w", err)
		}
	}
	fail := func(err error) (*Stack, error) {
		s.Stop(5 * time.Second)
		s.Close()
		return nil, err
	}
	// nats-server first, then the services.
	var services []*Process
	for _, e := range entries {
		p := &Process{Name: e.Name, Command: e.Command, LogPath: filepath.Join(dir, "logs", e.Name+".log"),
			NATS: isNATSServer(e.Command), done: make(chan struct{})}
		if cfg.Pprof && !p.NATS {
			port, err := freePort()
			if err != nil {
				return fail(err)
			}
			p.PprofAddr = fmt.Sprintf("127.0.0.1:%d", port)
		}
		s.Procs = append(s.Procs, p)
		if !p.NATS {
			services = append(services, p)
		}
	}
	for _, p := range s.Procs {
		if p.NATS {
			if err := s.launch(p); err != nil {
				return fail(err)
			}
			if err := s.waitNATS(ctx, p); err != nil {
				return fail(err)
			}
		}
	}
	for _, p := range services {
		if err := s.launch(p); err != nil {
			return fail(err)
		}
	}
	for _, p := range services {
		if err := s.waitService(ctx, p); err != nil {
			return fail(err)
		}
	}
	return s, nil
}

func isNATSServer(command string) bool {
	f := strings.Fields(command)
	return len(f) > 0 && filepath.Base(f[0]) == "nats-server"
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// env is the processes' environment: ours without any Choreo or NATS_URL
// setting (so a user's CHOREO_DATA_DIR cannot point a run at real data),
// plus the run's.
func (s *Stack) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CHOREO_") || strings.HasPrefix(kv, "NATS_URL=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"NATS_URL="+s.NATSURL,
		"CHOREO_SAGA_TIMEOUT="+s.cfg.SagaTimeout.String(),
		"CHOREO_LOG_LEVEL="+s.cfg.LogLevel,
		"CHOREO_SHIPPING_COUNTRIES="+strings.Join(ServedCountries, ","),
	)
}

func (s *Stack) launch(p *Process) error {
	logf, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	defer logf.Close()
	cmd := exec.Command("/bin/sh", "-c", "exec "+p.Command)
	cmd.Dir = s.Dir
	cmd.Env = s.env()
	if p.PprofAddr != "" {
		cmd.Env = append(cmd.Env, "CHOREO_PPROF_ADDR="+p.PprofAddr)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s (%s): %w", p.Name, p.Command, err)
	}
	p.cmd = cmd
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return nil
}

func (s *Stack) waitNATS(ctx context.Context, p *Process) error {
	deadline := time.Now().Add(s.cfg.ReadyTimeout)
	var last error
	for time.Now().Before(deadline) {
		if p.Exited() {
			return fmt.Errorf("%s exited before it was ready (%v):\n%s", p.Name, p.err, Tail(p.LogPath, 20))
		}
		last = func() error {
			nc, err := nats.Connect(s.NATSURL, nats.Timeout(time.Second))
			if err != nil {
				return err
			}
			defer nc.Close()
			js, err := jetstream.New(nc)
			if err != nil {
				return err
			}
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			_, err = js.AccountInfo(cctx)
			return err
		}()
		if last == nil {
			return nil
		}
		if !sleepCtx(ctx, 50*time.Millisecond) {
			return ctx.Err()
		}
	}
	return fmt.Errorf("%s not ready within %v (%v):\n%s", p.Name, s.cfg.ReadyTimeout, last, Tail(p.LogPath, 20))
}

// waitService waits until the service answers $SRV.PING.<name>: its
// endpoints serve. Its consumers bind right after; the first saga of a run
// (see Main's warm-up) proves the whole chain.
func (s *Stack) waitService(ctx context.Context, p *Process) error {
	nc, err := nats.Connect(s.NATSURL, nats.Timeout(2*time.Second))
	if err != nil {
		return fmt.Errorf("wait for %s: %w", p.Name, err)
	}
	defer nc.Close()
	deadline := time.Now().Add(s.cfg.ReadyTimeout)
	var last error
	for time.Now().Before(deadline) {
		if p.Exited() {
			return fmt.Errorf("%s exited before it was ready (%v):\n%s", p.Name, p.err, Tail(p.LogPath, 20))
		}
		cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		_, last = nc.RequestWithContext(cctx, "$SRV.PING."+p.Name, nil)
		cancel()
		if last == nil {
			return nil
		}
		if !sleepCtx(ctx, 50*time.Millisecond) {
			return ctx.Err()
		}
	}
	return fmt.Errorf("%s did not answer $SRV.PING.%s within %v (%v):\n%s", p.Name, p.Name, s.cfg.ReadyTimeout, last, Tail(p.LogPath, 20))
}

// Services are the non-NATS processes.
func (s *Stack) Services() []*Process {
	var out []*Process
	for _, p := range s.Procs {
		if !p.NATS {
			out = append(out, p)
		}
	}
	return out
}

// Usage reads CPU time and memory of every running process.
func (s *Stack) Usage() map[string]ProcUsage {
	out := map[string]ProcUsage{}
	for _, p := range s.Procs {
		if p.cmd == nil || p.Exited() {
			continue
		}
		if u, err := ReadUsage(p.Pid()); err == nil {
			out[p.Name] = u
		}
	}
	return out
}

// Dead returns an error naming every process that has exited.
func (s *Stack) Dead() error {
	var errs []error
	for _, p := range s.Procs {
		if p.cmd != nil && p.Exited() {
			errs = append(errs, fmt.Errorf("%s exited (%v):\n%s", p.Name, p.err, Tail(p.LogPath, 20)))
		}
	}
	return errors.Join(errs...)
}

// Stop sends SIGTERM to the services and waits up to timeout for each, then
// SIGKILLs what is left; then the same for nats-server, so the services can
// drain against a live server.
func (s *Stack) Stop(timeout time.Duration) []StopResult {
	var res []StopResult
	var mu sync.Mutex
	stop := func(ps []*Process) {
		var wg sync.WaitGroup
		for _, p := range ps {
			if p.cmd == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := StopResult{Name: p.Name}
				if !p.Exited() {
					_ = p.cmd.Process.Signal(syscall.SIGTERM)
					select {
					case <-p.done:
					case <-time.After(timeout):
						r.Killed = true
						_ = p.cmd.Process.Kill()
						<-p.done
					}
				}
				r.ExitCode = p.cmd.ProcessState.ExitCode()
				var ee *exec.ExitError
				if p.err != nil && !errors.As(p.err, &ee) {
					r.Err = p.err
				}
				mu.Lock()
				res = append(res, r)
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	var natsProcs []*Process
	for _, p := range s.Procs {
		if p.NATS {
			natsProcs = append(natsProcs, p)
		}
	}
	stop(s.Services())
	stop(natsProcs)
	return res
}

// BoltCommits opens each service's bbolt file (data/<name>.db) read-only and
// returns the number of write transactions ever committed to it: the last
// transaction id minus the one a new file starts with. Call it after Stop.
func (s *Stack) BoltCommits() (map[string]int64, error) {
	out := map[string]int64{}
	var errs []error
	for _, p := range s.Services() {
		path := filepath.Join(s.Dir, "data", p.Name+".db")
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
		if err != nil {
			errs = append(errs, fmt.Errorf("open %s: %w", path, err))
			continue
		}
		_ = db.View(func(tx *bolt.Tx) error {
			// A new file's two meta pages hold transaction ids 0 and 1.
			out[p.Name] = int64(tx.ID()) - 1
			return nil
		})
		db.Close()
	}
	return out, errors.Join(errs...)
}

// Close removes the run directory unless the config said Keep.
func (s *Stack) Close() {
	if s.cfg.Keep || s.Dir == "" {
		return
	}
	_ = os.RemoveAll(s.Dir)
}

// Tail returns the last n lines of a file.
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
