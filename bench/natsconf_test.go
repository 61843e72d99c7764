package bench_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/choreo-dev/choreo/bench"
)

const sampleConf = `# comment mentioning sync_interval: 2m and port: 1
listen: 127.0.0.1:4222
http: 127.0.0.1:8222 # monitoring

jetstream {
  store_dir: "data/nats" # a { brace in a comment
  sync_interval: always
}

cluster {
  listen: 127.0.0.1:6222
}
`

func TestRewriteNATSConf(t *testing.T) {
	t.Parallel()
	def, err := bench.RewriteNATSConf(sampleConf, bench.ConfOptions{Sync: bench.SyncDefault, Listen: "127.0.0.1:1111", HTTP: "127.0.0.1:2222"})
	if err != nil {
		t.Fatal(err)
	}
	if got := bench.ConfSync(def); got != bench.SyncDefault {
		t.Errorf("default: ConfSync = %q\n%s", got, def)
	}
	for _, want := range []string{`store_dir: "data/nats"`, "listen: 127.0.0.1:1111\n", "http: 127.0.0.1:2222\n", "  listen: 127.0.0.1:6222"} {
		if !strings.Contains(def, want) {
			t.Errorf("default: missing %q in\n%s", want, def)
		}
	}
	for _, gone := range []string{"\nlisten: 127.0.0.1:4222", "\nhttp: 127.0.0.1:8222", "\n  sync_interval: always"} {
		if strings.Contains(def, gone) {
			t.Errorf("default: %q left in\n%s", gone, def)
		}
	}

	always, err := bench.RewriteNATSConf(sampleConf, bench.ConfOptions{Sync: bench.SyncAlways})
	if err != nil {
		t.Fatal(err)
	}
	if got := bench.ConfSync(always); got != bench.SyncAlways {
		t.Errorf("always: ConfSync = %q\n%s", got, always)
	}
	if n := strings.Count(always, "\n  sync_interval: always"); n != 1 {
		t.Errorf("always: %d sync_interval lines, want 1\n%s", n, always)
	}
	if !strings.Contains(always, "\nlisten: 127.0.0.1:4222") {
		t.Errorf("always without addresses changed the listen line:\n%s", always)
	}

	// Always is added where the config has none.
	added, err := bench.RewriteNATSConf(def, bench.ConfOptions{Sync: bench.SyncAlways})
	if err != nil {
		t.Fatal(err)
	}
	if got := bench.ConfSync(added); got != bench.SyncAlways {
		t.Errorf("added: ConfSync = %q\n%s", got, added)
	}
}

func TestRewriteNATSConfErrors(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		conf string
		o    bench.ConfOptions
	}{
		"bad sync":     {sampleConf, bench.ConfOptions{Sync: "sometimes"}},
		"no jetstream": {"listen: 127.0.0.1:4222\n", bench.ConfOptions{Sync: bench.SyncAlways}},
		"unbalanced":   {"jetstream {\n", bench.ConfOptions{Sync: bench.SyncAlways}},
	} {
		if _, err := bench.RewriteNATSConf(tc.conf, tc.o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// The repository's nats.conf is what the stack runs with: it must say
// always, and the rewrite must be able to take it away.
func TestRepoNATSConf(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "nats.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if got := bench.ConfSync(string(b)); got != bench.SyncAlways {
		t.Errorf("nats.conf sync = %q, want always", got)
	}
	def, err := bench.RewriteNATSConf(string(b), bench.ConfOptions{Sync: bench.SyncDefault, Listen: "127.0.0.1:1", HTTP: "127.0.0.1:2"})
	if err != nil {
		t.Fatal(err)
	}
	if got := bench.ConfSync(def); got != bench.SyncDefault {
		t.Errorf("rewritten sync = %q, want default", got)
	}
}
