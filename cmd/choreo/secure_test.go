package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/choreo-dev/choreo/shared/natstest"
)

// secure init writes the profile and its Procfile from a Procfile whose
// services describe themselves; nats-server runs the configuration it
// wrote; provision, as admin over TLS, makes the streams and durables, and
// a second run changes nothing.
func TestSecureInitAndProvision(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Services that only describe themselves: `exec echo … # -describe`.
	shop := `{"service":"shop","publishes":[{"type":"Sold","role":"start"}],"reactions":[{"on":"Paid","from":"bank","emits":[]}]}`
	bank := `{"service":"bank","publishes":[{"type":"Paid","role":"effect"}],"reactions":[{"on":"Sold","from":"shop","emits":["Paid"]}]}`
	procfile := filepath.Join(dir, "Procfile")
	// The console is a tool: not described (bin/choreo is not even there),
	// run with the console identity.
	write(t, procfile, "console: bin/choreo console\nnats: bin/nats-server -c nats.conf\nshop: echo '"+shop+"' #\nbank: echo '"+bank+"' #\n")
	natsConf := filepath.Join(dir, "nats.conf")
	write(t, natsConf, fmt.Sprintf("host: 127.0.0.1\nport: -1\njetstream {\n  store_dir: %q\n}\n", filepath.Join(dir, "js")))
	sec := filepath.Join(dir, "secure")

	var out map[string]any
	if err := json.Unmarshal([]byte(ok(t, nil, "secure", "init", "-procfile", procfile, "-nats-conf", natsConf, "-dir", sec, "-o", "json")), &out); err != nil {
		t.Fatal(err)
	}
	pf, err := os.ReadFile(filepath.Join(sec, "Procfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"nats: bin/nats-server -c " + filepath.Join(sec, "nats.conf") + "\n",
		"provision: NATS_CREDS=" + filepath.Join(sec, "admin.nk") + " NATS_TLS_CA=" + filepath.Join(sec, "ca.pem"),
		"shop: NATS_CREDS=" + filepath.Join(sec, "shop.nk") + " NATS_TLS_CA=" + filepath.Join(sec, "ca.pem") + " echo '",
		"console: NATS_CREDS=" + filepath.Join(sec, "console.nk") + " NATS_TLS_CA=" + filepath.Join(sec, "ca.pem") + " bin/choreo console\n",
	} {
		if !strings.Contains(string(pf), want) {
			t.Errorf("the secure Procfile has no %q:\n%s", want, pf)
		}
	}

	url := natstest.RunConfigFile(t, filepath.Join(sec, "nats.conf"))
	as := func(identity string, args ...string) result {
		return choreo(t, nil, append([]string{"-server", url, "-creds", filepath.Join(sec, identity+".nk"), "-tlsca", filepath.Join(sec, "ca.pem")}, args...)...)
	}
	r := as("admin", "provision", "-procfile", procfile)
	if r.code != 0 {
		t.Fatalf("provision as admin: %+v", r)
	}
	contains(t, "provision", r.out, "stream DLQ: ready", "stream SHOP_EVENTS: ready", "durable shop on BANK_EVENTS: created", "durable bank on SHOP_EVENTS: created")
	if r = as("admin", "provision", "-procfile", procfile); r.code != 0 || !strings.Contains(r.out, "durable bank on SHOP_EVENTS: updated") {
		t.Errorf("second provision: %+v", r)
	}
	if r = as("shop", "-timeout", "1s", "provision", "-procfile", procfile); r.code == 0 {
		t.Errorf("a service identity provisioned: %+v", r)
	}
	if r = choreo(t, nil, "-server", url, "-tlsca", filepath.Join(sec, "ca.pem"), "-creds", filepath.Join(sec, "nope.nk"), "dlq", "ls"); r.code != 1 || !strings.Contains(r.err, "NATS_CREDS: open") {
		t.Errorf("missing creds file: %+v", r)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
