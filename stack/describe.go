package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/choreo-dev/choreo/shared/saga"
)

// Describe asks every service of a Procfile for its saga declaration: it
// runs each service entry's command with -describe, in dir (where the
// Procfile's relative paths, bin/… say, resolve), and decodes what it
// prints (nats-server and the tools, choreo's own commands, are not
// asked). It is how tools that must know every service — `choreo check`,
// provisioning — learn them without importing any: a service added to the
// Procfile is included.
func Describe(ctx context.Context, procfile, dir string) ([]saga.Description, error) {
	f, err := os.Open(procfile)
	if err != nil {
		return nil, err
	}
	entries, err := ParseProcfile(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", procfile, err)
	}
	var out []saga.Description
	for _, e := range entries {
		if !e.Service() {
			continue
		}
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", "exec "+e.Command+" -describe")
		cmd.Dir = dir
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("%s -describe (in %s): %w\n%s", e.Command, filepath.Clean(dir), err, stderr.Bytes())
		}
		var d saga.Description
		if err := json.Unmarshal(stdout.Bytes(), &d); err != nil {
			return nil, fmt.Errorf("%s -describe: %w", e.Command, err)
		}
		if d.Service != e.Name {
			return nil, fmt.Errorf("procfile entry %s runs service %q: the names must match", e.Name, d.Service)
		}
		out = append(out, d)
	}
	return out, nil
}
