package stack

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
)

// Usage is what the kernel reports about one process.
type Usage struct {
	// CPUSeconds is user + system time so far (utime + stime).
	CPUSeconds float64
	// PeakRSSMiB is the high-water mark of the resident set (VmHWM).
	PeakRSSMiB float64
	// RSSMiB is the resident set now (VmRSS), the sum of AnonRSSMiB,
	// FileRSSMiB and shared memory.
	RSSMiB float64
	// AnonRSSMiB is the anonymous part of the resident set now (RssAnon):
	// the Go heap, stacks and runtime.
	AnonRSSMiB float64
	// FileRSSMiB is the file-backed part now (RssFile): the binary's pages and
	// the pages of bbolt's memory-mapped file that the process has touched.
	// They belong to the kernel's page cache, which reclaims them under
	// memory pressure.
	FileRSSMiB float64
}

var clkTck = sync.OnceValue(func() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && n > 0 {
			return float64(n)
		}
	}
	return 100 // USER_HZ on every mainstream Linux build
})

// ReadUsage reads /proc/<pid>/stat and /proc/<pid>/status (Linux only).
// pid 0 means this process.
func ReadUsage(pid int) (Usage, error) {
	dir := "/proc/self"
	if pid != 0 {
		dir = "/proc/" + strconv.Itoa(pid)
	}
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return Usage{}, fmt.Errorf("read usage: %w", err)
	}
	cpu, err := parseStatCPU(string(stat), clkTck())
	if err != nil {
		return Usage{}, err
	}
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return Usage{}, fmt.Errorf("read usage: %w", err)
	}
	mib := func(key string) float64 { return float64(parseStatusKiB(string(status), key)) / 1024 }
	return Usage{CPUSeconds: cpu, PeakRSSMiB: mib("VmHWM"), RSSMiB: mib("VmRSS"),
		AnonRSSMiB: mib("RssAnon"), FileRSSMiB: mib("RssFile")}, nil
}

// parseStatCPU returns utime+stime in seconds from a /proc/<pid>/stat line.
// The command name (field 2) may hold spaces and parentheses, so fields are
// counted from the last ')'.
func parseStatCPU(stat string, ticks float64) (float64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc stat: no command field in %q", stat)
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("parse /proc stat: %d fields", len(f)+2)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse /proc stat: utime %q stime %q", f[11], f[12])
	}
	return float64(ut+st) / ticks, nil
}

// parseStatusKiB returns a "Key:   123 kB" value of /proc/<pid>/status.
func parseStatusKiB(status, key string) int64 {
	for _, line := range strings.Split(status, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != key {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		return n
	}
	return 0
}
