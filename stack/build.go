package stack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Build builds into dir what the Procfile names as bin/...: the packages
// pkgs (default: every command of the module — the services, the CLI, and a
// service added later in a folder of its own, as `make build` does) and
// nats-server, a tool dependency in go.mod, from the module's own sources
// and go.sum. The go build cache makes a second build cheap; callers that
// run many stacks build once.
func Build(ctx context.Context, repo, dir string, pkgs ...string) error {
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if len(pkgs) == 0 {
		cmd := exec.CommandContext(ctx, "go", "list", "-f", "{{if eq .Name \"main\"}}{{.ImportPath}}{{end}}", "./...")
		cmd.Dir = repo
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("go list the module's commands: %w", err)
		}
		pkgs = strings.Fields(string(out))
	}
	if err := run(append([]string{"build", "-o", dir + string(filepath.Separator)}, pkgs...)...); err != nil {
		return err
	}
	return run("build", "-o", filepath.Join(dir, "nats-server"), "github.com/nats-io/nats-server/v2")
}

// FindRepo returns the nearest directory at or above dir with a go.mod and
// a Procfile.
func FindRepo(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		_, e1 := os.Stat(filepath.Join(d, "go.mod"))
		_, e2 := os.Stat(filepath.Join(d, "Procfile"))
		if e1 == nil && e2 == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod with a Procfile at or above %s", dir)
		}
		d = parent
	}
}
