package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// profileServices fetches a CPU profile of d from every service of stack that
// serves pprof, concurrently, into dir/<service>.pprof. It returns at once;
// wait blocks until every profile is written and joins their errors.
func profileServices(ctx context.Context, stack *Stack, dir string, d time.Duration) (wait func() error) {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	secs := max(1, int(d.Seconds()))
	for _, p := range stack.Services() {
		if p.PprofAddr == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fetchProfile(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.PprofAddr, secs),
				filepath.Join(dir, p.Name+".pprof")); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("profile %s: %w", p.Name, err))
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
