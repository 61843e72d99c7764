package stack

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Entry is one line of a Procfile: a process name and the command line that
// starts it, as written.
type Entry struct {
	Name    string
	Command string
	// Env is what a run adds to the entry's environment (a partition's
	// CHOREO_PARTITION, say); a Procfile's entries have none.
	Env []string
}

// NATS reports whether the entry runs nats-server: its program's base name
// is nats-server.
func (e Entry) NATS() bool { return e.program() == "nats-server" }

// Tool reports whether the entry runs a tool rather than a service: its
// program is choreo (`console: bin/choreo console`). A tool is no part of
// the saga: it is not described, not partitioned, has no durables, and is
// ready once it listens (see ready).
func (e Entry) Tool() bool { return e.program() == "choreo" }

// Service reports whether the entry runs a service: neither nats-server
// nor a tool. Nothing else names the services: a line added to the
// Procfile is one.
func (e Entry) Service() bool { return !e.NATS() && !e.Tool() }

// program is the base name of the entry's program: its command's first
// word after any KEY=value settings (as the generated Procfiles of the
// cluster and the secure profile write them).
func (e Entry) program() string {
	for _, w := range strings.Fields(e.Command) {
		if !envSetting.MatchString(w) {
			return filepath.Base(w)
		}
	}
	return ""
}

// envSetting is a shell's KEY=value before a command.
var envSetting = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// ParseProcfile reads a Procfile the way goreman does: one `name: command`
// per line; blank lines and lines starting with # are skipped. Names must be
// unique and commands non-empty.
func ParseProcfile(r io.Reader) ([]Entry, error) {
	var entries []Entry
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, cmd, ok := strings.Cut(line, ":")
		name, cmd = strings.TrimSpace(name), strings.TrimSpace(cmd)
		switch {
		case !ok:
			return nil, fmt.Errorf("procfile line %d: want `name: command`, got %q", n, line)
		case name == "" || strings.ContainsAny(name, " \t/"):
			return nil, fmt.Errorf("procfile line %d: bad process name %q", n, name)
		case cmd == "":
			return nil, fmt.Errorf("procfile line %d: process %s has no command", n, name)
		case seen[name]:
			return nil, fmt.Errorf("procfile line %d: process %s defined twice", n, name)
		}
		seen[name] = true
		entries = append(entries, Entry{Name: name, Command: cmd})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read procfile: %w", err)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("procfile: no entries")
	}
	return entries, nil
}

// ReadProcfile parses the Procfile at path and checks it names exactly one
// nats-server.
func ReadProcfile(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := ParseProcfile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var nats []string
	for _, e := range entries {
		if e.NATS() {
			nats = append(nats, e.Name)
		}
	}
	switch len(nats) {
	case 0:
		return nil, fmt.Errorf("%s: %w", path, ErrNoNATS)
	case 1:
		return entries, nil
	}
	return nil, fmt.Errorf("%s: %d nats-server entries (%s), want one", path, len(nats), strings.Join(nats, ", "))
}
