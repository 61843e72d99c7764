// Package failpoint lets crash tests kill a service process at a named line:
// the moments between two steps where a crash is most dangerous (after a
// commit and before the ack, after a PubAck and before the outbox delete).
// Random SIGKILLs land there only by luck; a failpoint lands there every
// time.
//
// It is armed by the environment, and costs one comparison otherwise:
//
//	CHOREO_FAILPOINT=payment/consumer.after-commit@3,order/outbox.after-publish@2
//
// makes the payment process SIGKILL itself the 3rd time it reaches
// Crash("payment", "consumer.after-commit"), and so on. Each failpoint fires
// once per data directory (CHOREO_DATA_DIR): it leaves a marker file there,
// so the restarted process runs on.
package failpoint

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// The failpoints the kernel has.
const (
	// ConsumerAfterCommit: a consumed event's effects and inbox mark are
	// committed; the message is not acknowledged yet.
	ConsumerAfterCommit = "consumer.after-commit"
	// OutboxAfterPublish: JetStream acknowledged a batch of outbox entries;
	// they are not deleted from the outbox yet.
	OutboxAfterPublish = "outbox.after-publish"
	// ConsumerAfterSetAside: messages of a hot order are committed to the
	// store, set aside; they are not acknowledged yet.
	ConsumerAfterSetAside = "consumer.after-set-aside"
	// StoreAfterCommit: a write transaction committed; its caller (a command
	// about to reply, a handler about to ack) has not heard so yet.
	StoreAfterCommit = "store.after-commit"
)

type point struct {
	at   int64
	hits atomic.Int64
}

var points = parse(os.Getenv("CHOREO_FAILPOINT"))

func parse(spec string) map[string]*point {
	m := map[string]*point{}
	for _, item := range strings.Split(spec, ",") {
		name, n, ok := strings.Cut(strings.TrimSpace(item), "@")
		at, err := strconv.ParseInt(n, 10, 64)
		if !ok || err != nil || at < 1 || name == "" {
			continue
		}
		m[name] = &point{at: at}
	}
	return m
}

// Crash kills the process with SIGKILL if the failpoint service/name is armed
// and this is its n-th hit, and it has not fired before in this data
// directory.
func Crash(service, name string) {
	if len(points) == 0 {
		return
	}
	key := service + "/" + name
	p := points[key]
	if p == nil || p.hits.Add(1) != p.at {
		return
	}
	dir := os.Getenv("CHOREO_DATA_DIR")
	if dir == "" {
		dir = "data"
	}
	marker := filepath.Join(dir, "failpoint."+strings.ReplaceAll(key, "/", "."))
	f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return // fired before (or cannot tell): run on
	}
	_ = f.Sync()
	_ = f.Close()
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // SIGKILL is not handled: never returns
}

// Fired reports whether the failpoint service/name has fired in dataDir.
func Fired(dataDir, service, name string) bool {
	_, err := os.Stat(filepath.Join(dataDir, "failpoint."+service+"."+name))
	return err == nil
}
