package stack_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/stack"
	"github.com/choreo-dev/choreo/stack/stacktest"
	"github.com/nats-io/nats.go"
)

// orphanEnv makes the test binary the helper of TestPdeathsig.
const orphanEnv = "STACK_TEST_ORPHAN_PROCFILE"

func TestMain(m *testing.M) {
	if procfile := os.Getenv(orphanEnv); procfile != "" {
		orphan(procfile)
		return
	}
	stacktest.Main(m)
}

// binaries builds every command of the module, fakesvc and nats-server
// once per test binary.
func binaries(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and starts real processes")
	}
	return stacktest.Bin(t, "./cmd/...", "./stack/testdata/fakesvc")
}

// procfile writes a Procfile of lines into a temp dir.
func procfile(t testing.TB, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "Procfile")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// newStack makes a stack closed in t.Cleanup.
func newStack(t testing.TB, cfg stack.Config) *stack.Stack {
	t.Helper()
	if cfg.Repo == "" {
		cfg.Repo = stacktest.Repo(t)
	}
	if cfg.Bin == "" {
		cfg.Bin = binaries(t)
	}
	if cfg.WorkDir == "" {
		cfg.WorkDir = t.TempDir()
	}
	s, err := stack.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range s.Procs() {
				t.Logf("--- %s ---\n%s", p.Name, p.Tail(30))
			}
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// environ is a running process's environment, from /proc.
func environ(t testing.TB, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, kv := range strings.Split(string(b), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}

func ping(nc *nats.Conn, service string) error {
	_, err := nc.Request("$SRV.PING."+service, nil, 2*time.Second)
	return err
}

// answers waits until service answers $SRV.PING (a loaded machine may
// make one ping time out).
func answers(t testing.TB, nc *nats.Conn, service string) {
	t.Helper()
	natstest.Eventually(t, 30*time.Second, func() error { return ping(nc, service) })
}

// The repository's Procfile with a fifth line the harness has never heard
// of: StartAll starts and waits for all of them, each with the run's
// environment, and the stack kills, pauses, restarts and stops them by
// name.
func TestStackRunsTheProcfile(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	repo := stacktest.Repo(t)
	repoProcfile, err := os.ReadFile(filepath.Join(repo, "Procfile"))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := stack.ParseProcfile(strings.NewReader(string(repoProcfile)))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range entries {
		if e.Service() {
			want = append(want, e.Name)
		}
	}
	want = append(want, "audit")
	s := newStack(t, stack.Config{
		Procfile: procfile(t, string(repoProcfile), "audit: bin/fakesvc -name audit"),
		Env:      []string{"CHOREO_SAGA_TIMEOUT=7s", "STACK_TEST_RUN=yes"},
	})
	if err := s.Setenv("audit", "STACK_TEST_ONLY=audit"); err != nil {
		t.Fatal(err)
	}
	if got := s.Services(); !slices.Equal(got, want) {
		t.Fatalf("Services() = %v, want %v", got, want)
	}
	if got := s.Tools(); len(got) != 0 {
		t.Fatalf("Tools() = %v without Config.Tools", got)
	}
	ctx := t.Context()
	begin := time.Now()
	step := func(what string) { t.Logf("%v: %s", time.Since(begin).Round(time.Millisecond), what) }
	if err := s.StartAll(ctx); err != nil {
		t.Fatal(err)
	}
	step("started")
	nc, err := nats.Connect(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	// Every entry runs with the run's environment; Setenv reaches one only.
	for _, name := range append([]string{s.NATS()}, want...) {
		if !s.Running(name) {
			t.Fatalf("%s is not running after StartAll", name)
		}
		env := environ(t, s.Proc(name).Pid())
		for k, v := range map[string]string{"NATS_URL": s.URL(), "CHOREO_DATA_DIR": s.DataDir(),
			"CHOREO_LOG_LEVEL": "info", "CHOREO_SAGA_TIMEOUT": "7s", "STACK_TEST_RUN": "yes"} {
			if env[k] != v {
				t.Errorf("%s: %s=%q, want %q", name, k, env[k], v)
			}
		}
		if got, want := env["STACK_TEST_ONLY"], map[bool]string{true: "audit"}[name == "audit"]; got != want {
			t.Errorf("%s: STACK_TEST_ONLY=%q, want %q", name, got, want)
		}
	}
	// The real services answer on the run's NATS, and keep their files and
	// JetStream's in the run directory.
	for _, name := range want[:len(want)-1] {
		answers(t, nc, name)
		if _, err := os.Stat(filepath.Join(s.DataDir(), name+".db")); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(s.DataDir(), "nats", "jetstream")); err != nil {
		t.Errorf("JetStream's store is not in the run directory: %v", err)
	}
	for name, u := range s.Usage() {
		if u.PeakRSSMiB <= 0 || u.CPUSeconds < 0 || u.AnonRSSMiB <= 0 {
			t.Errorf("usage of %s: %+v", name, u)
		}
	}
	if n := len(s.Usage()); n != len(want)+1 {
		t.Errorf("usage of %d processes, want %d", n, len(want)+1)
	}

	step("checked environment, answers, files and usage")

	// Kill and restart: a new process, ready again.
	svc := want[0]
	old := s.Proc(svc)
	if err := s.Kill(svc); err != nil {
		t.Fatal(err)
	}
	if s.Running(svc) || old.ExitCode() != -1 {
		t.Fatalf("%s after SIGKILL: running %v, exit code %d", svc, s.Running(svc), old.ExitCode())
	}
	if err := s.Kill(svc); !errors.Is(err, stack.ErrNotRunning) {
		t.Errorf("second Kill: %v, want ErrNotRunning", err)
	}
	if err := s.Restart(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if s.Proc(svc) == old || s.Proc(svc).Pid() == old.Pid() {
		t.Errorf("Restart kept the old process")
	}
	if _, err := s.Launch(svc); !errors.Is(err, stack.ErrRunning) {
		t.Errorf("Launch of a running process: %v, want ErrRunning", err)
	}
	answers(t, nc, svc)

	step("killed and restarted")

	// Paused, it cannot answer; resumed, it does.
	if err := s.Pause(svc); err != nil {
		t.Fatal(err)
	}
	if err := ping(nc, svc); !errors.Is(err, nats.ErrTimeout) {
		t.Errorf("paused %s answered: %v", svc, err)
	}
	if err := s.Cont(svc); err != nil {
		t.Fatal(err)
	}
	answers(t, nc, svc)

	step("paused and resumed")

	// A second instance on the same data directory fails on the store's
	// lock, and logs to a file of its own.
	second, err := s.LaunchExtra(svc+"-second", svc)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Wait(20 * time.Second) {
		t.Fatalf("a second %s is still running", svc)
	}
	if second.ExitCode() == 0 || !strings.Contains(second.Output(), "locked") || filepath.Base(second.Log) != svc+"-second.log" {
		t.Errorf("second %s: exit %d, log %s:\n%s", svc, second.ExitCode(), second.Log, second.Output())
	}
	if !s.Running(svc) {
		t.Errorf("the first %s stopped", svc)
	}

	step("second instance failed")

	// SIGTERM: each service drains and exits 0.
	ex, err := s.Stop(svc, 30*time.Second)
	if err != nil || ex.Code != 0 || ex.Killed {
		t.Errorf("Stop(%s) = %+v, %v", svc, ex, err)
	}
	if !strings.Contains(s.Proc(svc).Output(), `"message":"stopped"`) {
		t.Errorf("%s did not log that it stopped:\n%s", svc, s.Proc(svc).Output())
	}
	if _, err := s.Stop(svc, time.Second); !errors.Is(err, stack.ErrNotRunning) {
		t.Errorf("Stop of a stopped process: %v, want ErrNotRunning", err)
	}
	if err := s.Dead(); err == nil || !strings.Contains(err.Error(), svc) {
		t.Errorf("Dead() = %v, want %s named", err, svc)
	}
	exits := s.StopAll(30 * time.Second)
	step("stopped")
	if len(exits) != len(want)+1 {
		t.Errorf("StopAll reported %d processes, want %d: %+v", len(exits), len(want)+1, exits)
	}
	for _, ex := range exits {
		if ex.Code != 0 || ex.Killed || ex.Err != nil {
			t.Errorf("StopAll: %+v", ex)
		}
	}
}

// With Config.Tools the console runs too: ready once it listens, on a free
// port, told where each service's HTTP endpoint is, each on a free port of
// its own.
func TestToolsRunWithTheServices(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	s := newStack(t, stack.Config{Tools: true,
		Procfile: procfile(t, "console: bin/choreo console", "fake: bin/fakesvc -name fake", "nats: bin/nats-server -c nats.conf")})
	if got := s.Tools(); !slices.Equal(got, []string{"console"}) || !slices.Equal(s.Services(), []string{"fake"}) {
		t.Fatalf("Tools() = %v, Services() = %v", got, s.Services())
	}
	if err := s.StartAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	addr := s.Addr("console")
	resp, err := http.Get("http://" + addr + "/api/overview")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the console at %q: %s", addr, resp.Status)
	}
	fake, console := environ(t, s.Proc("fake").Pid()), environ(t, s.Proc("console").Pid())
	if http := s.HTTPAddr("fake"); http == "" || fake["CHOREO_HTTP_ADDR"] != http || console["CHOREO_CONSOLE_SERVICES"] != "fake="+http ||
		console["CHOREO_CONSOLE_ADDR"] != "127.0.0.1:0" || console["NATS_URL"] != s.URL() {
		t.Errorf("fake's HTTP %q; fake's environment %v; the console's %v", http, fake, console)
	}
	if ex, err := s.Stop("console", 10*time.Second); err != nil || ex.Code != 0 {
		t.Errorf("stop the console: %+v, %v", ex, err)
	}
}

// A service is ready once this run has logged "service started": not while
// it runs without saying so, however long, nor because an earlier run of the
// same name said so in the same log file; and one that exits first is
// reported with its last lines.
func TestReadinessIsPerRun(t *testing.T) {
	s := newStack(t, stack.Config{
		Procfile:     procfile(t, "nats: bin/nats-server -c nats.conf", "fake: bin/fakesvc -name fake"),
		ReadyTimeout: 2 * time.Second,
	})
	ctx := t.Context()
	mode := func(m string) {
		if err := os.WriteFile(filepath.Join(s.DataDir(), "fake.mode"), []byte(m), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Start(ctx, "fake"); err != nil {
		t.Fatal(err)
	}
	if err := s.Kill("fake"); err != nil {
		t.Fatal(err)
	}
	mode("silent")
	if err := s.Start(ctx, "fake"); !errors.Is(err, stack.ErrNotReady) {
		t.Errorf("silent run: %v, want ErrNotReady", err)
	}
	if !s.Running("fake") {
		t.Fatal("the silent run ended")
	}
	if err := s.Kill("fake"); err != nil {
		t.Fatal(err)
	}
	mode("fail")
	err := s.Start(ctx, "fake")
	if !errors.Is(err, stack.ErrExited) || !strings.Contains(err.Error(), "told to fail") {
		t.Errorf("failing run: %v, want ErrExited with its log", err)
	}
	if code := s.Proc("fake").ExitCode(); code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
	if n := strings.Count(s.Proc("fake").Tail(100), "=== stack: starting fake"); n != 3 {
		t.Errorf("the log file shows %d runs, want 3", n)
	}
}

// nats-server runs the config's sync setting: nats.conf's own by default,
// or the one asked for.
func TestSync(t *testing.T) {
	for sync, want := range map[string]bool{stack.SyncAsWritten: true, stack.SyncDefault: false} {
		s := newStack(t, stack.Config{Sync: sync})
		if err := s.Start(t.Context(), s.NATS()); err != nil {
			t.Fatal(err)
		}
		js := stacktest.Varz(t, s.MonitorURL()).JetStream.Config
		if js == nil || js.SyncAlways != want {
			t.Errorf("Sync %q: JetStream config %+v, want sync_always %v", sync, js, want)
		}
	}
}

// Close kills every process, extras included, and removes the run
// directory.
func TestCloseKillsEverything(t *testing.T) {
	s := newStack(t, stack.Config{Procfile: procfile(t, "nats: bin/nats-server -c nats.conf", "fake: bin/fakesvc -name fake")})
	if err := s.StartAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	extra, err := s.LaunchExtra("fake-2", "fake")
	if err != nil {
		t.Fatal(err)
	}
	procs := s.Procs()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range append(procs, extra) {
		if !p.Exited() {
			t.Errorf("%s still running after Close", p.Name)
		}
	}
	if _, err := os.Stat(s.Dir()); !os.IsNotExist(err) {
		t.Errorf("run directory left: %v", err)
	}
	if _, err := s.Launch("fake"); !errors.Is(err, stack.ErrClosed) {
		t.Errorf("Launch after Close: %v, want ErrClosed", err)
	}
}

func TestNewErrors(t *testing.T) {
	bin := binaries(t)
	for name, tc := range map[string]struct {
		cfg  stack.Config
		want string
	}{
		"log level":   {stack.Config{Procfile: procfile(t, "nats: bin/nats-server -c nats.conf"), LogLevel: "warn"}, "LogLevel"},
		"env":         {stack.Config{Procfile: procfile(t, "nats: bin/nats-server -c nats.conf"), Env: []string{"NOEQUALS"}}, "Env[0]"},
		"sync":        {stack.Config{Procfile: procfile(t, "nats: bin/nats-server -c nats.conf"), Sync: "sometimes"}, "Sync"},
		"no nats":     {stack.Config{Procfile: procfile(t, "fake: bin/fakesvc")}, "no nats-server entry"},
		"two nats":    {stack.Config{Procfile: procfile(t, "a: bin/nats-server", "b: bin/nats-server")}, "2 nats-server entries"},
		"no binary":   {stack.Config{Procfile: procfile(t, "nats: bin/nats-server -c nats.conf", "ghost: bin/ghost")}, "Procfile entry ghost"},
		"no procfile": {stack.Config{Procfile: filepath.Join(t.TempDir(), "Procfile")}, "Procfile"},
	} {
		tc.cfg.Repo, tc.cfg.Bin, tc.cfg.WorkDir = stacktest.Repo(t), bin, t.TempDir()
		s, err := stack.New(tc.cfg)
		if err == nil {
			s.Close()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New error %v, want one naming %q", name, err, tc.want)
		}
		if entries, _ := os.ReadDir(tc.cfg.WorkDir); len(entries) != 0 {
			t.Errorf("%s: a failed New left %d files in WorkDir", name, len(entries))
		}
	}
	s := newStack(t, stack.Config{Procfile: procfile(t, "nats: bin/nats-server -c nats.conf")})
	for _, err := range []error{s.Setenv("nope", "A=1"), s.Kill("nope"), s.WaitReady(t.Context(), "nope")} {
		if !errors.Is(err, stack.ErrUnknown) {
			t.Errorf("unknown name: %v, want ErrUnknown", err)
		}
	}
	if _, err := s.LaunchExtra("nats", "nats"); err == nil {
		t.Error("LaunchExtra with an entry's own name: no error")
	}
}

// When the harness dies, its processes die with it (Linux's Pdeathsig):
// the test binary runs itself as a harness that starts fakesvc, and is
// SIGKILLed.
func TestPdeathsig(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Pdeathsig is Linux only")
	}
	bin := binaries(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), orphanEnv+"="+procfile(t, "nats: bin/nats-server -c nats.conf", "fake: bin/fakesvc -name fake"),
		"STACK_TEST_BIN="+bin, "STACK_TEST_WORK="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("the harness said nothing: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("the harness said %q", line)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) }) // should it have survived
	if !alive(pid) {
		t.Fatalf("fakesvc (pid %d) is not running while the harness is", pid)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("fakesvc (pid %d) outlived its harness by 10s", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	st := stack.ProcState("/proc/" + strconv.Itoa(pid) + "/stat")
	return st != 0 && st != 'Z'
}

// orphan is TestPdeathsig's harness: it starts the fake service, prints its
// pid and waits to be killed.
func orphan(procfile string) {
	s, err := stack.New(stack.Config{Procfile: procfile,
		NATSConf: filepath.Join(must(stack.FindRepo(".")), "nats.conf"),
		Bin:      os.Getenv("STACK_TEST_BIN"), WorkDir: os.Getenv("STACK_TEST_WORK")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := s.Start(context.Background(), "fake"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(s.Proc("fake").Pid())
	select {}
}

func must(s string, err error) string {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return s
}
