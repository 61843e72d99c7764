package stack_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/choreo-dev/choreo/stack"
	"github.com/choreo-dev/choreo/stack/stacktest"
)

func TestParseProcfile(t *testing.T) {
	t.Parallel()
	in := `# the stack
nats: bin/nats-server -c nats.conf

order:   bin/order -flag=a:b
  payment:bin/payment
`
	got, err := stack.ParseProcfile(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []stack.Entry{
		{Name: "nats", Command: "bin/nats-server -c nats.conf"},
		{Name: "order", Command: "bin/order -flag=a:b"}, // only the first colon splits
		{Name: "payment", Command: "bin/payment"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries %v, want %v", len(got), got, want)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseProcfileErrors(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"no colon":      "nats bin/nats-server\n",
		"empty command": "nats:\n",
		"empty name":    ": bin/x\n",
		"space in name": "my proc: bin/x\n",
		"slash in name": "a/b: bin/x\n",
		"duplicate":     "a: bin/x\na: bin/y\n",
		"no entries":    "# nothing\n\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got, err := stack.ParseProcfile(strings.NewReader(in)); err == nil {
				t.Errorf("ParseProcfile(%q) = %v, want an error", in, got)
			}
		})
	}
}

// The repository's own Procfile: one nats-server, and every other entry a
// program of ./cmd, which Build builds.
func TestRepoProcfile(t *testing.T) {
	t.Parallel()
	repo := stacktest.Repo(t)
	f, err := os.Open(filepath.Join(repo, "Procfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, err := stack.ParseProcfile(f)
	if err != nil {
		t.Fatal(err)
	}
	nats := 0
	for _, e := range entries {
		if e.NATS() {
			nats++
			continue
		}
		prog := strings.Fields(e.Command)[0]
		if !strings.HasPrefix(prog, "bin/") {
			t.Errorf("entry %s runs %s, want a bin/ program", e.Name, prog)
			continue
		}
		if _, err := os.Stat(filepath.Join(repo, "cmd", strings.TrimPrefix(prog, "bin/"))); err != nil {
			t.Errorf("entry %s: no ./cmd package builds %s: %v", e.Name, prog, err)
		}
	}
	if nats != 1 {
		t.Errorf("%d nats-server entries, want 1", nats)
	}
}

func TestEntryNATS(t *testing.T) {
	t.Parallel()
	for cmd, want := range map[string]bool{
		"bin/nats-server -c nats.conf": true,
		"/usr/local/bin/nats-server":   true,
		"nats-server":                  true,
		"bin/nats sub x":               false,
		"bin/order":                    false,
	} {
		if got := (stack.Entry{Name: "x", Command: cmd}).NATS(); got != want {
			t.Errorf("NATS() of %q = %v, want %v", cmd, got, want)
		}
	}
}

// An entry is nats-server, a tool (choreo's own commands: the console) or
// a service, whatever settings its command line starts with.
func TestEntryKinds(t *testing.T) {
	t.Parallel()
	for cmd, want := range map[string]string{
		"bin/nats-server -c nats.conf":                    "nats",
		"bin/choreo console":                              "tool",
		"NATS_URL=nats://x:1 bin/choreo console -addr :0": "tool",
		"NATS_CREDS=a.nk NATS_TLS_CA=ca.pem bin/order":    "service",
		"bin/order":                   "service",
		"bin/choreography":            "service",
		"CHOREO_X=1 /opt/nats-server": "nats",
	} {
		e := stack.Entry{Name: "x", Command: cmd}
		got := map[bool]string{true: "nats"}[e.NATS()] + map[bool]string{true: "tool"}[e.Tool()] + map[bool]string{true: "service"}[e.Service()]
		if got != want {
			t.Errorf("%q is %q, want %q", cmd, got, want)
		}
	}
}
