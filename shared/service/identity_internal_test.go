package service

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/choreo-dev/choreo/shared/config"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/natscreds"
	"github.com/choreo-dev/choreo/shared/saga"
)

// A service given another identity's credentials, or credentials that are
// not, refuses to start and says which variable is wrong (exit 2).
func TestRefusesAnotherIdentity(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bank := filepath.Join(dir, "bank.nk")
	if _, err := natscreds.WriteSeed(bank, "bank"); err != nil {
		t.Fatal(err)
	}
	reg := envelope.NewRegistry()
	envelope.RegisterPublic[counted](reg, "shop")
	spec := Spec{Saga: saga.Service{Name: "shop", Publishes: []saga.Event{saga.Publishes[counted](saga.Outside, saga.Terminal())}}, Registry: reg}
	for creds, want := range map[string]string{
		bank:                          "holds the identity of bank, not of shop",
		filepath.Join(dir, "none.nk"): "NATS_CREDS: open",
	} {
		var stderr bytes.Buffer
		getenv := func(k string) string {
			return map[string]string{"NATS_CREDS": creds, "CHOREO_DATA_DIR": dir, "NATS_URL": "nats://127.0.0.1:1"}[k]
		}
		if code := main(func(*config.Env) Spec { return spec }, nil, getenv, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), want) {
			t.Errorf("NATS_CREDS=%s: exit %d, stderr %q, want 2 and %q", creds, code, stderr.String(), want)
		}
	}
}
