// Package natscreds connects a Choreo process to NATS under its identity in
// the secure profile: it reads a credentials file (NATS_CREDS: an nkey seed
// file as `choreo secure init` writes them, or a JWT .creds file) and the CA
// that signed the server's certificate (NATS_TLS_CA), and returns the
// nats.go options for them.
//
// Every identity has an inbox prefix of its own, _INBOX_<identity>, and may
// subscribe only to it, so no identity can read another's replies (its
// PubAcks, its JetStream API answers, the events its pull consumers fetch).
// A seed file says whose it is on a first line "# choreo identity: NAME";
// Options sets the inbox prefix from it.
package natscreds

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// header starts the first line of a seed file written by SeedFile.
const header = "# choreo identity: "

// ErrBadCreds is a credentials file that holds neither a user nkey seed nor a
// user JWT and its seed.
var ErrBadCreds = errors.New("not a NATS credentials or nkey seed file")

// name is what an identity may be called: a NATS subject token.
var name = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidName reports whether s may name an identity (and so an inbox prefix).
func ValidName(s string) bool { return name.MatchString(s) }

// InboxPrefix is the inbox prefix of an identity: _INBOX_<identity>.
func InboxPrefix(identity string) string { return "_INBOX_" + identity }

// SeedFile is the content of identity's seed file: the header naming it,
// then the user nkey seed.
func SeedFile(identity string, seed []byte) []byte {
	var b bytes.Buffer
	b.WriteString(header + identity + "\n")
	b.WriteString("# A NATS user nkey seed: the private key of this identity. Keep it secret (mode 0600).\n")
	b.Write(seed)
	b.WriteString("\n")
	return b.Bytes()
}

// WriteSeed makes a new user nkey for identity and writes its seed file to
// path, mode 0600 (replacing what was there), and returns its public key:
// what the server's configuration lists.
func WriteSeed(path, identity string) (string, error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", err
	}
	defer kp.Wipe()
	seed, err := kp.Seed()
	if err != nil {
		return "", err
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return "", err
	}
	return pub, WriteSecret(path, SeedFile(identity, seed))
}

// WriteSecret writes data to path with mode 0600, replacing it atomically
// (a crash leaves the old file or the new one); an unchanged file is left
// as it is, but for its mode.
func WriteSecret(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return os.Chmod(path, 0o600)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Identity is the identity a seed file names on its header line, "" if it
// names none.
func Identity(contents []byte) string {
	first, _, _ := bytes.Cut(contents, []byte("\n"))
	id, ok := strings.CutPrefix(strings.TrimSpace(string(first)), header)
	if !ok || !ValidName(id) {
		return ""
	}
	return id
}

// Options returns the connection options for the credentials file creds
// and the CA file ca, and the identity the credentials name ("" if none).
// Either may be empty: no credentials, or no TLS. With a CA the connection
// requires TLS and verifies the server's certificate against that CA only;
// there is no fallback to plain text. Errors name the variable to fix.
func Options(creds, ca string) ([]nats.Option, string, error) {
	var opts []nats.Option
	var identity string
	if ca != "" {
		if _, err := os.Stat(ca); err != nil {
			return nil, "", fmt.Errorf("NATS_TLS_CA: %w", err)
		}
		o := nats.RootCAs(ca)
		// RootCAs checks the file parses as soon as it is applied.
		if err := o(&nats.Options{}); err != nil {
			return nil, "", fmt.Errorf("NATS_TLS_CA: %w", err)
		}
		opts = append(opts, o)
	}
	if creds != "" {
		contents, err := os.ReadFile(creds)
		if err != nil {
			return nil, "", fmt.Errorf("NATS_CREDS: %w", err)
		}
		switch {
		case bytes.Contains(contents, []byte("BEGIN NATS USER JWT")):
			if _, err := nkeys.ParseDecoratedJWT(contents); err != nil {
				return nil, "", fmt.Errorf("NATS_CREDS %s: %w", creds, err)
			}
			opts = append(opts, nats.UserCredentials(creds))
		default:
			kp, err := nkeys.ParseDecoratedNKey(contents)
			if err != nil {
				return nil, "", fmt.Errorf("NATS_CREDS %s: %w: %w", creds, ErrBadCreds, err)
			}
			kp.Wipe()
			o, err := nats.NkeyOptionFromSeed(creds)
			if err != nil {
				return nil, "", fmt.Errorf("NATS_CREDS %s: %w: %w", creds, ErrBadCreds, err)
			}
			opts = append(opts, o)
		}
		if identity = Identity(contents); identity != "" {
			opts = append(opts, nats.CustomInboxPrefix(InboxPrefix(identity)))
		}
	}
	return opts, identity, nil
}
