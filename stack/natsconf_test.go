package stack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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

// confSync is the sync setting of a config: SyncAlways if its jetstream
// block says sync_interval: always, SyncDefault if it has none, otherwise
// the value as written.
func confSync(conf string) string {
	var blocks []string
	for _, line := range strings.Split(conf, "\n") {
		key := confKey(line)
		if len(blocks) == 1 && blocks[0] == "jetstream" && (key == "sync_interval" || key == "sync") {
			if v := confValue(line, key); v != "always" {
				return v
			}
			return SyncAlways
		}
		opens, closes := braces(line)
		for range opens {
			blocks = append(blocks, key)
			key = ""
		}
		blocks = blocks[:max(0, len(blocks)-closes)]
	}
	return SyncDefault
}

func TestRunConf(t *testing.T) {
	t.Parallel()
	addrs := confOptions{Listen: "127.0.0.1:1111", HTTP: "127.0.0.1:2222"}
	def, err := runConf(sampleConf, confOptions{Sync: SyncDefault, Listen: addrs.Listen, HTTP: addrs.HTTP})
	if err != nil {
		t.Fatal(err)
	}
	if got := confSync(def); got != SyncDefault {
		t.Errorf("default: sync = %q\n%s", got, def)
	}
	for _, want := range []string{`store_dir: "data/nats"`, "\nlisten: 127.0.0.1:1111\n", "\nhttp: 127.0.0.1:2222\n", "  listen: 127.0.0.1:6222"} {
		if !strings.Contains(def, want) {
			t.Errorf("default: missing %q in\n%s", want, def)
		}
	}
	for _, gone := range []string{"\nlisten: 127.0.0.1:4222", "\nhttp: 127.0.0.1:8222", "\n  sync_interval: always"} {
		if strings.Contains(def, gone) {
			t.Errorf("default: %q left in\n%s", gone, def)
		}
	}
	if n := strings.Count(def, "store_dir"); n != 1 {
		t.Errorf("default: %d store_dir lines, want nats.conf's one\n%s", n, def)
	}

	always, err := runConf(sampleConf, confOptions{Sync: SyncAlways, Listen: addrs.Listen, HTTP: addrs.HTTP})
	if err != nil {
		t.Fatal(err)
	}
	if got := confSync(always); got != SyncAlways {
		t.Errorf("always: sync = %q\n%s", got, always)
	}
	if n := strings.Count(always, "\n  sync_interval: always"); n != 1 {
		t.Errorf("always: %d sync_interval lines, want 1\n%s", n, always)
	}

	// Always is added where the config has none; as written keeps either.
	added, err := runConf(def, confOptions{Sync: SyncAlways, Listen: addrs.Listen, HTTP: addrs.HTTP})
	if err != nil {
		t.Fatal(err)
	}
	if got := confSync(added); got != SyncAlways {
		t.Errorf("added: sync = %q\n%s", got, added)
	}
	for conf, want := range map[string]string{sampleConf: SyncAlways, def: SyncDefault} {
		kept, err := runConf(conf, confOptions{Sync: SyncAsWritten, Listen: addrs.Listen, HTTP: addrs.HTTP})
		if err != nil {
			t.Fatal(err)
		}
		if got := confSync(kept); got != want {
			t.Errorf("as written: sync = %q, want %q\n%s", got, want, kept)
		}
	}
}

// A config without a store directory gets one inside the run directory:
// nats-server's default is a shared temp dir.
func TestRunConfAddsStoreDir(t *testing.T) {
	t.Parallel()
	got, err := runConf("jetstream {\n  max_mem: 1G\n}\n", confOptions{Listen: "127.0.0.1:1", HTTP: "127.0.0.1:2"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "\nstore_dir: \"data/nats\"\n") {
		t.Errorf("no store_dir added:\n%s", got)
	}
}

// A cluster node's own configuration keeps its settings (lame duck mode,
// say) and gets the run's name, routes and store directory instead of its
// own.
func TestRunConfReplacesTheClusterBlock(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../cluster/nats-2.conf")
	if err != nil {
		t.Fatal(err)
	}
	got, err := runConf(string(b), confOptions{Listen: "127.0.0.1:1", HTTP: "127.0.0.1:2", StoreDir: "data/nats-2",
		Cluster: "server_name: n2\ncluster {\n  name: choreo\n  listen: 127.0.0.1:3\n}\n"})
	if err != nil {
		t.Fatal(err)
	}
	var live []string // the lines nats-server reads
	for _, line := range strings.Split(got, "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			live = append(live, l)
		}
	}
	text := strings.Join(live, "\n")
	for _, want := range []string{"lame_duck_duration: 30s", "sync_interval: always", "listen: 127.0.0.1:1",
		"store_dir: \"data/nats-2\"", "listen: 127.0.0.1:3"} {
		if !strings.Contains(text, want) {
			t.Errorf("%q missing from the live lines:\n%s", want, text)
		}
	}
	for _, gone := range []string{"4223", "6222", "6223", "6224", "data/cluster/n2"} {
		if strings.Contains(text, gone) {
			t.Errorf("%q is still live:\n%s", gone, text)
		}
	}
	if n := strings.Count(text, "cluster {"); n != 1 {
		t.Errorf("%d cluster blocks, want 1:\n%s", n, text)
	}
}

func TestRunConfErrors(t *testing.T) {
	t.Parallel()
	addrs := func(sync string) confOptions {
		return confOptions{Sync: sync, Listen: "127.0.0.1:1", HTTP: "127.0.0.1:2"}
	}
	for name, tc := range map[string]struct {
		conf string
		o    confOptions
		want string
	}{
		"bad sync":          {sampleConf, addrs("sometimes"), "sometimes"},
		"no jetstream":      {"listen: 127.0.0.1:4222\n", addrs(SyncAlways), "jetstream"},
		"unbalanced":        {"jetstream {\n", addrs(SyncAlways), "unclosed"},
		"absolute store":    {"jetstream {\n  store_dir: \"/var/lib/nats\"\n}\n", addrs(""), "/var/lib/nats"},
		"escaping store":    {"jetstream {\n  store_dir: ../nats\n}\n", addrs(""), "../nats"},
		"top-level store":   {"store_dir: /tmp/js\njetstream {\n}\n", addrs(""), "/tmp/js"},
		"unbalanced closer": {"jetstream {\n}\n}\n", addrs(""), "line 3"},
	} {
		_, err := runConf(tc.conf, tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %q", name, err, tc.want)
		}
	}
}

// The repository's nats.conf is what the stack runs: it says always, and a
// run can take it away.
func TestRepoNATSConf(t *testing.T) {
	t.Parallel()
	repo, err := FindRepo(".")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(repo, "nats.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if got := confSync(string(b)); got != SyncAlways {
		t.Errorf("nats.conf sync = %q, want always", got)
	}
	def, err := runConf(string(b), confOptions{Sync: SyncDefault, Listen: "127.0.0.1:1", HTTP: "127.0.0.1:2"})
	if err != nil {
		t.Fatal(err)
	}
	if got := confSync(def); got != SyncDefault {
		t.Errorf("rewritten sync = %q, want default", got)
	}
}
