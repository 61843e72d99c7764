package bench_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/choreo-dev/choreo/bench"
)

func TestParseProcfile(t *testing.T) {
	t.Parallel()
	in := `# the stack
nats: bin/nats-server -c nats.conf

order:   bin/order -flag=a:b
  payment:bin/payment
`
	got, err := bench.ParseProcfile(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []bench.ProcfileEntry{
		{Name: "nats", Command: "bin/nats-server -c nats.conf"},
		{Name: "order", Command: "bin/order -flag=a:b"}, // only the first colon splits
		{Name: "payment", Command: "bin/payment"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries %v, want %v", len(got), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
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
		"duplicate":     "a: bin/x\na: bin/y\n",
		"no entries":    "# nothing\n\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got, err := bench.ParseProcfile(strings.NewReader(in)); err == nil {
				t.Errorf("ParseProcfile(%q) = %v, want an error", in, got)
			}
		})
	}
}

// The repository's own Procfile: nats first, then the four services.
func TestRepoProcfile(t *testing.T) {
	t.Parallel()
	repo := repoRoot(t)
	f, err := os.Open(filepath.Join(repo, "Procfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, err := bench.ParseProcfile(f)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
	}
	if got := strings.Join(names, " "); got != "nats order payment inventory shipping" {
		t.Errorf("Procfile names = %q", got)
	}
}

func repoRoot(t testing.TB) string {
	t.Helper()
	repo, err := bench.FindRepo(".")
	if err != nil {
		t.Fatal(err)
	}
	return repo
}
