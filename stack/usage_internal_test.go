package stack

import (
	"runtime"
	"testing"
)

func TestParseStatCPU(t *testing.T) {
	t.Parallel()
	// Field 2 may hold spaces and parentheses; utime=150 stime=50 ticks.
	stat := "1234 (my (odd) prog) S 1 1234 1234 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 8 0 100 1000000 500 18446744073709551615"
	got, err := parseStatCPU(stat, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got != 2.0 {
		t.Errorf("parseStatCPU = %v, want 2.0", got)
	}
	if _, err := parseStatCPU("garbage", 100); err == nil {
		t.Error("parseStatCPU(garbage): no error")
	}
}

func TestParseStatusKiB(t *testing.T) {
	t.Parallel()
	status := "Name:\tx\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n"
	if got := parseStatusKiB(status, "VmHWM"); got != 20480 {
		t.Errorf("VmHWM = %d", got)
	}
	if got := parseStatusKiB(status, "VmSwap"); got != 0 {
		t.Errorf("missing key = %d", got)
	}
}

func TestReadUsageSelf(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	u, err := ReadUsage(0)
	if err != nil {
		t.Fatal(err)
	}
	if u.PeakRSSMiB <= 0 || u.PeakRSSMiB < u.RSSMiB || u.CPUSeconds < 0 {
		t.Errorf("ReadUsage(self) = %+v", u)
	}
	// RssAnon + RssFile (+ RssShmem) = VmRSS, read in one go.
	if u.AnonRSSMiB <= 0 || u.FileRSSMiB <= 0 || u.AnonRSSMiB+u.FileRSSMiB > u.RSSMiB+0.01 {
		t.Errorf("ReadUsage(self): anon %v + file %v vs rss %v", u.AnonRSSMiB, u.FileRSSMiB, u.RSSMiB)
	}
}
