package bench

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// ProcfileEntry is one line of a Procfile: a process name and the command
// line that starts it, as written.
type ProcfileEntry struct {
	Name    string
	Command string
}

// ParseProcfile reads a Procfile the way goreman does: one `name: command`
// per line; blank lines and lines starting with # are skipped. Names must be
// unique and commands non-empty.
func ParseProcfile(r io.Reader) ([]ProcfileEntry, error) {
	var entries []ProcfileEntry
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
		case name == "" || strings.ContainsAny(name, " \t"):
			return nil, fmt.Errorf("procfile line %d: bad process name %q", n, name)
		case cmd == "":
			return nil, fmt.Errorf("procfile line %d: process %s has no command", n, name)
		case seen[name]:
			return nil, fmt.Errorf("procfile line %d: process %s defined twice", n, name)
		}
		seen[name] = true
		entries = append(entries, ProcfileEntry{Name: name, Command: cmd})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read procfile: %w", err)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("procfile: no entries")
	}
	return entries, nil
}
