package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/config"
)

func TestFromEnv(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := config.FromEnv(env(nil))
	if err != nil || c.NATSURL != "nats://127.0.0.1:4222" || c.DataDir != "./data" || c.SagaTimeout != 30*time.Second || len(c.ShippingCountries) != 8 {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	c, err = config.FromEnv(env(map[string]string{"CHOREO_SAGA_TIMEOUT": "2s", "CHOREO_SHIPPING_COUNTRIES": "us, de", "CHOREO_LOG_LEVEL": "debug",
		"CHOREO_PPROF_ADDR": "127.0.0.1:6061"}))
	if err != nil || c.SagaTimeout != 2*time.Second || strings.Join(c.ShippingCountries, ",") != "US,DE" || c.LogLevel.String() != "debug" ||
		c.PprofAddr != "127.0.0.1:6061" {
		t.Fatalf("set: %+v %v", c, err)
	}
	// Every problem is reported at once.
	_, err = config.FromEnv(env(map[string]string{"CHOREO_SAGA_TIMEOUT": "soon", "CHOREO_SHIPPING_COUNTRIES": "USA", "CHOREO_LOG_LEVEL": "loud",
		"CHOREO_PPROF_ADDR": "6061"}))
	for _, want := range []string{"CHOREO_SAGA_TIMEOUT", "CHOREO_SHIPPING_COUNTRIES", "CHOREO_LOG_LEVEL", "CHOREO_PPROF_ADDR"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}
