package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/config"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnv(t *testing.T) {
	t.Parallel()
	c, err := config.FromEnv(env(nil))
	if err != nil || c.NATSURL != "nats://127.0.0.1:4222" || c.DataDir != "./data" || c.LogLevel.String() != "info" {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	c, err = config.FromEnv(env(map[string]string{"CHOREO_LOG_LEVEL": "debug", "CHOREO_PPROF_ADDR": "127.0.0.1:6061", "CHOREO_HTTP_ADDR": "0.0.0.0:9101"}))
	if err != nil || c.LogLevel.String() != "debug" || c.PprofAddr != "127.0.0.1:6061" || c.HTTPAddr != "0.0.0.0:9101" {
		t.Fatalf("set: %+v %v", c, err)
	}
	if c.Provisioning != config.ProvisionSelf || c.NATSCreds != "" {
		t.Errorf("without credentials: provisioning %q, creds %q", c.Provisioning, c.NATSCreds)
	}
	// Credentials imply external provisioning, unless told otherwise.
	c, err = config.FromEnv(env(map[string]string{"NATS_CREDS": "x.nk", "NATS_TLS_CA": "ca.pem"}))
	if err != nil || c.Provisioning != config.ProvisionExternal || c.NATSCreds != "x.nk" || c.NATSTLSCA != "ca.pem" {
		t.Fatalf("with credentials: %+v %v", c, err)
	}
	c, err = config.FromEnv(env(map[string]string{"NATS_CREDS": "x.nk", "CHOREO_PROVISIONING": "self"}))
	if err != nil || c.Provisioning != config.ProvisionSelf {
		t.Fatalf("CHOREO_PROVISIONING=self: %+v %v", c, err)
	}
	if c, err = config.FromEnv(env(map[string]string{"CHOREO_HTTP_ADDR": "off"})); err != nil || c.HTTPAddr != "off" {
		t.Fatalf("http off: %+v %v", c, err)
	}
	// Every problem is reported at once.
	_, err = config.FromEnv(env(map[string]string{"CHOREO_LOG_LEVEL": "loud", "CHOREO_PPROF_ADDR": "6061", "CHOREO_PROVISIONING": "nobody",
		"CHOREO_HTTP_ADDR": "9101"}))
	for _, want := range []string{"CHOREO_LOG_LEVEL", "CHOREO_PPROF_ADDR", `CHOREO_PROVISIONING: "nobody"`, "CHOREO_HTTP_ADDR"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

func TestEnv(t *testing.T) {
	t.Parallel()
	upper := func(s string) (string, error) {
		if len(s) != 2 {
			return "", &badCode{s}
		}
		return strings.ToUpper(s), nil
	}
	e := config.NewEnv(env(nil))
	if d := e.Duration("X_TIMEOUT", 3*time.Second); d != 3*time.Second {
		t.Errorf("default duration %v", d)
	}
	if l := e.List("X_LIST", []string{"AA"}, upper); strings.Join(l, ",") != "AA" {
		t.Errorf("default list %v", l)
	}
	if e.Err() != nil {
		t.Fatal(e.Err())
	}
	e = config.NewEnv(env(map[string]string{"X_TIMEOUT": "2s", "X_LIST": "us, de,,"}))
	if d := e.Duration("X_TIMEOUT", time.Second); d != 2*time.Second {
		t.Errorf("duration %v", d)
	}
	if l := e.List("X_LIST", nil, upper); strings.Join(l, ",") != "US,DE" {
		t.Errorf("list %v", l)
	}
	// Every problem is reported at once, naming its variable.
	e = config.NewEnv(env(map[string]string{"X_TIMEOUT": "soon", "Y_TIMEOUT": "-1s", "X_LIST": "usa"}))
	e.Duration("X_TIMEOUT", time.Second)
	e.Duration("Y_TIMEOUT", time.Second)
	e.List("X_LIST", nil, upper)
	for _, want := range []string{"X_TIMEOUT", "Y_TIMEOUT must be positive", "X_LIST: usa"} {
		if err := e.Err(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}

type badCode struct{ s string }

func (b *badCode) Error() string { return b.s + " is not a two-letter code" }
