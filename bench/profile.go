package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/choreo-dev/choreo/stack"
)

// servePprof gives each service of st CHOREO_PPROF_ADDR on a free loopback
// port, from its next start on, and returns the addresses by service.
func servePprof(st *stack.Stack) (map[string]string, error) {
	addrs := map[string]string{}
	for _, name := range st.Services() {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pprof port: %w", err)
		}
		addrs[name] = l.Addr().String()
		l.Close()
		if err := st.Setenv(name, "CHOREO_PPROF_ADDR="+addrs[name]); err != nil {
			return nil, err
		}
	}
	return addrs, nil
}

// profileServices fetches a CPU profile of d from every service in addrs
// (name to pprof address), concurrently, into dir/<service>.pprof. It
// returns at once; wait blocks until every profile is written and joins
// their errors.
func profileServices(ctx context.Context, addrs map[string]string, dir string, d time.Duration) (wait func() error) {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	secs := max(1, int(d.Seconds()))
	for name, addr := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fetchProfile(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs),
				filepath.Join(dir, name+".pprof")); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("profile %s: %w", name, err))
				mu.Unlock()
			}
		}()
	}
	return func() error {
		wg.Wait()
		return errors.Join(errs...)
	}
}

func fetchProfile(ctx context.Context, url, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s", resp.Status, body)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
