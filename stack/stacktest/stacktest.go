// Package stacktest helps tests that run a stack: it finds the repository
// and builds the Procfile's programs once per test binary.
//
//	func TestMain(m *testing.M) { stacktest.Main(m) }
//
//	func TestX(t *testing.T) {
//		s, err := stack.New(stack.Config{Repo: stacktest.Repo(t), Bin: stacktest.Bin(t), WorkDir: t.TempDir()})
//		…
//	}
package stacktest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"

	"github.com/choreo-dev/choreo/stack"
	"github.com/nats-io/nats-server/v2/server"
)

var (
	binDir    string
	buildOnce sync.Once
	buildErr  error
)

// Main runs the tests, then removes what Bin built. Call it from TestMain.
func Main(m *testing.M) {
	dir, err := os.MkdirTemp("", "choreo-stack-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Repo is the repository root, found from the test's directory.
func Repo(t testing.TB) string {
	t.Helper()
	repo, err := stack.FindRepo(".")
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

// Bin builds, on its first call in a test binary (unless CHOREO_TEST_BIN
// names a directory of binaries to use instead), the packages pkgs
// (stack.Build's default, every command of the module, without any) and
// nats-server, and returns their directory; later calls return it at once,
// whatever their pkgs (the go build cache keeps even the first one quick
// after a first run). It needs Main.
func Bin(t testing.TB, pkgs ...string) string {
	t.Helper()
	if dir := os.Getenv("CHOREO_TEST_BIN"); dir != "" {
		// Binaries built elsewhere — another commit's, to run today's
		// tests against yesterday's code.
		return dir
	}
	if binDir == "" {
		t.Fatal("stacktest.Bin needs stacktest.Main in TestMain")
	}
	buildOnce.Do(func() { buildErr = stack.Build(context.Background(), Repo(t), binDir, pkgs...) })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// Varz is nats-server's /varz at monitorURL (Stack.MonitorURL).
func Varz(t testing.TB, monitorURL string) *server.Varz {
	t.Helper()
	resp, err := http.Get(monitorURL + "/varz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v server.Varz
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return &v
}
