// Command fakesvc stands in for a service the harness has never heard of in
// the stack package's tests. It logs JSON lines as the services do and, by
// default, "service started" at once; then it waits for SIGTERM, logs
// "stopped" and exits 0.
//
// The file <CHOREO_DATA_DIR>/<name>.mode, read at start, changes that:
// "silent" never logs "service started"; "fail" exits 3 at once.
package main

import (
	"encoding/json"
	"flag"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

func main() {
	name := flag.String("name", "fakesvc", "the name it logs as")
	flag.Parse()
	log := func(msg string) {
		b, _ := json.Marshal(map[string]string{"level": "info", "service": *name, "message": msg})
		os.Stderr.Write(append(b, '\n'))
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	mode, _ := os.ReadFile(filepath.Join(os.Getenv("CHOREO_DATA_DIR"), *name+".mode"))
	switch strings.TrimSpace(string(mode)) {
	case "fail":
		log("cannot start: told to fail")
		os.Exit(3)
	case "silent":
		log("starting, and never ready")
	default:
		log("service started")
	}
	<-term
	log("stopped")
}
