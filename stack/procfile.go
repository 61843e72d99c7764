package stack

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
// is nats-server. Every other entry is a service.
func (e Entry) NATS() bool {
	f := strings.Fields(e.Command)
	return len(f) > 0 && filepath.Base(f[0]) == "nats-server"
}

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
