package natscreds_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/choreo-dev/choreo/shared/natscreds"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

func TestOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	creds := filepath.Join(dir, "order.nk")
	pub, err := natscreds.WriteSeed(creds, "order")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(creds); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("seed file mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	opts, id, err := natscreds.Options(creds, "")
	if err != nil || id != "order" {
		t.Fatalf("Options = %v, %q", err, id)
	}
	var o nats.Options
	for _, f := range opts {
		if err := f(&o); err != nil {
			t.Fatal(err)
		}
	}
	if o.Nkey != pub || o.InboxPrefix != "_INBOX_order" || o.Secure {
		t.Errorf("options: nkey %q inbox prefix %q secure %v", o.Nkey, o.InboxPrefix, o.Secure)
	}

	// A bare seed (no header) works, with the default inbox.
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	bare := writeFile(t, dir, "bare.nk", string(seed)+"\n")
	if _, id, err := natscreds.Options(bare, ""); err != nil || id != "" {
		t.Errorf("bare seed: %v, identity %q", err, id)
	}

	for name, tc := range map[string]struct{ creds, ca, want string }{
		"missing creds": {filepath.Join(dir, "nope.nk"), "", "NATS_CREDS: open"},
		"not a seed":    {writeFile(t, dir, "junk", "hello"), "", "not a NATS credentials or nkey seed file"},
		"missing ca":    {"", filepath.Join(dir, "nope.pem"), "NATS_TLS_CA: stat"},
		"not a ca":      {"", writeFile(t, dir, "ca.pem", "hello"), "NATS_TLS_CA: nats: failed to parse root certificate"},
	} {
		if _, _, err := natscreds.Options(tc.creds, tc.ca); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, tc.want)
		}
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
