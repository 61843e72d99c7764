package stack

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Sync settings of the JetStream store (Config.Sync).
const (
	// SyncAsWritten runs nats.conf's own setting.
	SyncAsWritten = ""
	// SyncAlways sets sync_interval: always: fsync before every PubAck.
	SyncAlways = "always"
	// SyncDefault removes sync_interval: nats-server's default (fsync every
	// 2 minutes).
	SyncDefault = "default"
)

// defaultStoreDir is where JetStream keeps its files when nats.conf names no
// store directory: data/nats in the run directory, as `make run` has it.
const defaultStoreDir = "data/nats"

// confOptions say how to rewrite nats.conf for a run.
type confOptions struct {
	// Sync is SyncAsWritten, SyncAlways (sync_interval: always in the
	// jetstream block, added if missing) or SyncDefault (every sync_interval
	// line removed).
	Sync string
	// Listen and HTTP replace the top-level client and monitoring addresses
	// (listen/port/host, http/http_port/monitor_port), so a run collides
	// with neither another run nor a `make run` on the same machine.
	Listen, HTTP string
	// StoreDir, if set, replaces the store directory (a cluster's nodes
	// each have their own).
	StoreDir string
	// Cluster, if set, replaces the top-level server_name and cluster
	// block: a node's name and its routes on the run's ports.
	Cluster string
}

// runConf returns nats.conf rewritten for a run: its addresses and sync
// setting replaced as o says, and everything else — limits, comments — as
// written. The store directory must be relative, and so inside the run
// directory nats-server starts in; where there is none, data/nats is added.
// It understands the layout of nats.conf: one key per line, a block's
// opening brace on the line of its key.
func runConf(conf string, o confOptions) (string, error) {
	if o.Sync != SyncAsWritten && o.Sync != SyncAlways && o.Sync != SyncDefault {
		return "", fmt.Errorf("nats.conf: sync must be %q or %q, not %q", SyncAlways, SyncDefault, o.Sync)
	}
	var out []string
	var stack []string // keys of the open blocks
	sawJetStream, sawStoreDir := false, false
	inCluster := false // within a cluster block being replaced
	for n, line := range strings.Split(conf, "\n") {
		key := confKey(line)
		depth := len(stack)
		inJS := depth == 1 && stack[0] == "jetstream"
		drop := inCluster
		switch {
		case o.Cluster != "" && depth == 0 && (key == "server_name" || key == "cluster"):
			drop, inCluster = true, key == "cluster"
		case depth == 0 && (key == "listen" || key == "port" || key == "host" || key == "net"):
			drop = true
		case depth == 0 && (key == "http" || key == "http_port" || key == "monitor_port" || key == "https" || key == "https_port"):
			drop = true
		case inJS && (key == "sync_interval" || key == "sync"):
			drop = o.Sync != SyncAsWritten // re-added below for SyncAlways
		case depth == 0 && (key == "store_dir" || key == "storedir"),
			inJS && (key == "store" || key == "store_dir" || key == "storedir"):
			sawStoreDir = true
			if dir := confValue(line, key); dir == "" || filepath.IsAbs(dir) || !filepath.IsLocal(dir) {
				return "", fmt.Errorf("nats.conf line %d: store directory %q must be a relative path inside the directory nats-server starts in", n+1, dir)
			}
			drop = o.StoreDir != ""
		}
		if drop {
			out = append(out, "# "+strings.TrimSpace(line)+"   # (replaced for this run)")
		} else {
			out = append(out, line)
		}
		opens, closes := braces(line)
		for range opens {
			stack = append(stack, key)
			key = ""
		}
		if depth == 0 && len(stack) == 1 && stack[0] == "jetstream" {
			sawJetStream = true
			if o.Sync == SyncAlways {
				out = append(out, "  sync_interval: always")
			}
		}
		for range closes {
			if len(stack) == 0 {
				return "", fmt.Errorf("nats.conf line %d: unbalanced '}'", n+1)
			}
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 {
			inCluster = false
		}
	}
	if len(stack) != 0 {
		return "", fmt.Errorf("nats.conf: unclosed block %q", stack[len(stack)-1])
	}
	if !sawJetStream {
		return "", fmt.Errorf("nats.conf: no `jetstream { … }` block")
	}
	res := strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n\n# addresses chosen for this run\n"
	res += "listen: " + o.Listen + "\nhttp: " + o.HTTP + "\n"
	switch {
	case o.StoreDir != "":
		res += "store_dir: " + `"` + o.StoreDir + `"` + "\n"
	case !sawStoreDir:
		res += "store_dir: " + `"` + defaultStoreDir + `"` + "\n"
	}
	if o.Cluster != "" {
		res += o.Cluster
	}
	return res, nil
}

// confKey is the key a config line starts with ("" for none).
func confKey(line string) string {
	s := strings.TrimSpace(line)
	i := 0
	for i < len(s) && (s[i] == '_' || s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9') {
		i++
	}
	if i == 0 {
		return ""
	}
	return strings.ToLower(s[:i])
}

// confValue is the value of a `key: value` (or `key = value`, `key value`)
// line: the contents of a quoted string, or the first word.
func confValue(line, key string) string {
	v := strings.TrimSpace(line)[len(key):]
	v = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(v), ":="))
	if v != "" && (v[0] == '"' || v[0] == '\'') {
		if end := strings.IndexByte(v[1:], v[0]); end >= 0 {
			return v[1 : 1+end]
		}
		return v[1:]
	}
	if i := strings.IndexAny(v, " \t#;,"); i >= 0 {
		v = v[:i]
	}
	return v
}

// braces counts the braces of a line outside comments and quoted strings.
func braces(line string) (opens, closes int) {
	for _, r := range stripComment(line) {
		switch r {
		case '{':
			opens++
		case '}':
			closes++
		}
	}
	return opens, closes
}

// stripComment removes a trailing # or // comment and the contents of quoted
// strings.
func stripComment(line string) string {
	var b strings.Builder
	var quote rune
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
				b.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote = r
			b.WriteRune(r)
		case r == '#', r == '/' && i+1 < len(rs) && rs[i+1] == '/':
			return b.String()
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
