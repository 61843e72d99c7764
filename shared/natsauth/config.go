package natsauth

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/choreo-dev/choreo/shared/natscreds"
)

// configMarker starts what ServerConfig adds to the base configuration.
const configMarker = "# ---- the secure profile"

// ServerConfig returns base (a nats-server configuration: nats.conf, or the
// stack's rewrite of it) with the secure profile added: TLS with f's server
// certificate, required of every client connection, and an authorization
// block with one nkey user per identity holding exactly its grants. A
// client without TLS, or without the private key of one of these users, is
// refused; a user is refused everything it was not granted.
//
// Why nkeys in the server's configuration rather than decentralized JWT
// accounts: there is one account and one deployment, and the configuration
// is generated with the keys; nkeys already keep every private key with its
// client (the server holds public keys and checks a signed nonce), and the
// permissions sit readable in one file. Accounts, an operator and a resolver
// would add signing chains and a revocation mechanism nothing here needs.
func ServerConfig(base string, f Files, ids []Identity, keys Keys) (string, error) {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	certFile, err := filepath.Abs(f.ServerCert())
	if err != nil {
		return "", err
	}
	keyFile, err := filepath.Abs(f.ServerKey())
	if err != nil {
		return "", err
	}
	b.WriteString(strings.TrimRight(base, "\n"))
	w("\n\n%s: TLS, authentication, least privilege (generated; do not edit) ----\n\n", configMarker)
	w("tls {\n  cert_file: %s\n  key_file: %s\n  min_version: \"1.3\"\n  timeout: 2\n}\n\n", quote(certFile), quote(keyFile))
	w("authorization {\n  users: [\n")
	for _, id := range ids {
		key, ok := keys[id.Name]
		if !ok {
			return "", fmt.Errorf("natsauth: no public key for identity %s", id.Name)
		}
		w("    # %s (%s)\n", id.Name, id.Kind)
		w("    {\n      nkey: %s\n      allowed_connection_types: [\"STANDARD\"]\n      permissions: {\n", quote(key))
		w("        publish: { allow: %s }\n", subjects(id.Publish))
		w("        subscribe: { allow: %s }\n", subjects(id.Subscribe))
		if id.AllowResponses {
			w("        allow_responses: true\n")
		}
		w("      }\n    }\n")
	}
	w("  ]\n}\n")
	return b.String(), nil
}

// WriteConfig writes ServerConfig(base, …) to f.Config(), mode 0600.
func WriteConfig(base string, f Files, ids []Identity, keys Keys) error {
	conf, err := ServerConfig(base, f, ids, keys)
	if err != nil {
		return err
	}
	return natscreds.WriteSecret(f.Config(), []byte(conf))
}

func subjects(gs []Grant) string {
	if len(gs) == 0 {
		return "[]"
	}
	q := make([]string, len(gs))
	for i, g := range gs {
		q[i] = quote(g.Subject)
	}
	return "[\n          " + strings.Join(q, ",\n          ") + "\n        ]"
}

// quote is a double-quoted string of the configuration language, in which
// nothing ($ included) is interpolated.
func quote(s string) string { return strconv.Quote(s) }
