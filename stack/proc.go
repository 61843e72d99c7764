package stack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Proc is one run of a process: a Procfile entry started once. A restart is
// a new Proc that logs to the same file.
type Proc struct {
	// Name is what the process logs as: its Procfile name, or the id
	// LaunchExtra was given.
	Name string
	// Entry is the Procfile entry it runs.
	Entry Entry
	// Log is the log file, shared by every run of Name; each run begins with
	// a "=== stack: starting" line.
	Log string

	cmd  *exec.Cmd
	from int64 // where this run's output begins in Log
	done chan struct{}
	err  error // cmd.Wait's, once done is closed
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits up to timeout for the process to end and reports whether it
// did.
func (p *Proc) Wait(timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return true
	case <-t.C:
		return false
	}
}

// ExitCode is the exit code of an ended process; -1 if a signal ended it or
// it has not ended.
func (p *Proc) ExitCode() int {
	if !p.Exited() {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// Output is what this run has logged so far.
func (p *Proc) Output() string {
	f, err := os.Open(p.Log)
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

// Tail is the last n lines of the log file: of this run and the earlier
// ones of the same name.
func (p *Proc) Tail(n int) string {
	b, err := os.ReadFile(p.Log)
	if err != nil {
		return err.Error()
	}
	return lastLines(string(b), n)
}

// signal sends sig unless the process has ended.
func (p *Proc) signal(sig syscall.Signal) error {
	if p.Exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

// waitStopped waits up to timeout until every thread of the process is
// stopped by a signal (state T in /proc/<pid>/task/*/stat), or the process
// has ended. Without /proc it returns at once.
func (p *Proc) waitStopped(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(p.Pid()) + "/task/*/stat")
		running := ""
		for _, task := range tasks {
			if st := procState(task); st != 'T' && st != 0 {
				running = task
				break
			}
		}
		if running == "" || p.Exited() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("thread %s not stopped %v after SIGSTOP", filepath.Base(filepath.Dir(running)), timeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// procState is the state field of a /proc stat file: R, S, T, Z …; 0 if
// it cannot be read (the thread or process has ended).
func procState(path string) byte {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')') // the command name may hold anything
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}

// Exit is how a process ended.
type Exit struct {
	Name string
	// Code is the exit code; -1 if a signal ended the process.
	Code int
	// Killed: the process needed SIGKILL after the SIGTERM timeout.
	Killed bool
	// Err is an error waiting for the process other than its exit status.
	Err error
}

// stop sends SIGTERM (unless the process has ended already), waits up to
// timeout, then SIGKILLs it.
func (p *Proc) stop(timeout time.Duration) Exit {
	ex := Exit{Name: p.Name}
	if !p.Exited() {
		_ = p.signal(syscall.SIGTERM)
		_ = p.signal(syscall.SIGCONT) // a paused process acts on it only once resumed
		if !p.Wait(timeout) {
			ex.Killed = true
			_ = p.signal(syscall.SIGKILL)
			<-p.done
		}
	}
	ex.Code = p.cmd.ProcessState.ExitCode()
	var ee *exec.ExitError
	if p.err != nil && !errors.As(p.err, &ee) {
		ex.Err = p.err
	}
	return ex
}

// lastLines is the last n lines of text.
func lastLines(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
