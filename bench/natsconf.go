package bench

import (
	"fmt"
	"strings"
)

// Sync settings of the JetStream store, as results.json names them.
const (
	SyncAlways  = "always"  // sync_interval: always — fsync before every PubAck
	SyncDefault = "default" // no sync_interval: nats-server's default (fsync every 2 minutes)
)

// ConfOptions say how to rewrite the repository's nats.conf for a run.
type ConfOptions struct {
	// Sync is SyncAlways (sync_interval: always in the jetstream block, added
	// if missing) or SyncDefault (every sync_interval line removed).
	Sync string
	// Listen and HTTP, if set, replace the top-level client and monitoring
	// addresses (listen/port/host, http/http_port/monitor_port), so a run
	// does not collide with a `make run` on the same machine.
	Listen, HTTP string
}

// RewriteNATSConf returns conf with the sync setting and the addresses of o.
// Everything else — the store directory, limits, comments — stays as written.
// It understands the layout of nats.conf: one key per line, a block's opening
// brace on the line of its key.
func RewriteNATSConf(conf string, o ConfOptions) (string, error) {
	if o.Sync != SyncAlways && o.Sync != SyncDefault {
		return "", fmt.Errorf("rewrite nats.conf: sync must be %q or %q, not %q", SyncAlways, SyncDefault, o.Sync)
	}
	var out []string
	var stack []string // keys of the open blocks
	sawJetStream := false
	for _, line := range strings.Split(conf, "\n") {
		key := confKey(line)
		depth := len(stack)
		inJS := depth == 1 && stack[0] == "jetstream"
		drop := false
		switch {
		case depth == 0 && o.Listen != "" && (key == "listen" || key == "port" || key == "host" || key == "net"):
			drop = true
		case depth == 0 && o.HTTP != "" && (key == "http" || key == "http_port" || key == "monitor_port" || key == "https" || key == "https_port"):
			drop = true
		case inJS && key == "sync_interval" || inJS && key == "sync":
			drop = true // re-added below for SyncAlways
		}
		if drop {
			out = append(out, "# "+strings.TrimSpace(line)+"   # (replaced by choreo bench)")
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
				return "", fmt.Errorf("rewrite nats.conf: unbalanced '}' in %q", line)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 0 {
		return "", fmt.Errorf("rewrite nats.conf: unclosed block %q", stack[len(stack)-1])
	}
	if !sawJetStream {
		return "", fmt.Errorf("rewrite nats.conf: no `jetstream { … }` block")
	}
	res := strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"
	if o.Listen != "" || o.HTTP != "" {
		res += "\n# choreo bench: addresses chosen for this run\n"
		if o.Listen != "" {
			res += "listen: " + o.Listen + "\n"
		}
		if o.HTTP != "" {
			res += "http: " + o.HTTP + "\n"
		}
	}
	return res, nil
}

// ConfSync reports the sync setting of a nats.conf: SyncAlways if its
// jetstream block says sync_interval: always, SyncDefault if it has none,
// otherwise the value as written.
func ConfSync(conf string) string {
	var stack []string
	for _, line := range strings.Split(conf, "\n") {
		key := confKey(line)
		if len(stack) == 1 && stack[0] == "jetstream" && (key == "sync_interval" || key == "sync") {
			v := strings.TrimSpace(stripComment(line))[len(key):]
			v = strings.Trim(strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(v), ":=")), `"'`)
			if v == "always" {
				return SyncAlways
			}
			return v
		}
		opens, closes := braces(line)
		for range opens {
			stack = append(stack, key)
			key = ""
		}
		for range closes {
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	return SyncDefault
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
