package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// describer writes a script that prints a declaration for -describe.
func describer(t *testing.T, dir, name, json string) {
	t.Helper()
	script := "#!/bin/sh\ncat <<'EOF'\n" + json + "\nEOF\n"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// choreo check asks each Procfile service for its declaration and names
// what is wrong with the saga they make: here, an effect nobody compensates.
func TestCheckNamesABrokenDeclaration(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	describer(t, dir, "shop", `{"service":"shop","publishes":[{"type":"Sold","role":"start"},{"type":"Voided","role":"cancel"}],
"reactions":[{"on":"Declined","from":"bank","emits":["Voided"]},{"on":"Charged","from":"bank","emits":[]}]}`)
	describer(t, dir, "bank", `{"service":"bank","publishes":[{"type":"Charged","role":"effect","compensated_by":"Returned"},
{"type":"Declined","role":"failure"},{"type":"Returned","role":"compensation","terminal":true}],
"reactions":[{"on":"Sold","from":"shop","emits":["Charged","Declined"]},{"on":"Voided","from":"shop","emits":[]}]}`)
	procfile := filepath.Join(dir, "Procfile")
	if err := os.WriteFile(procfile, []byte("nats: bin/nats-server -c nats.conf\nshop: ./shop\nbank: ./bank\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	err := run(t.Context(), []string{"check", "-procfile", procfile}, &out, &errOut)
	if err == nil {
		t.Fatalf("check passed a saga with an uncompensated effect:\n%s", out.String())
	}
	want := "effect Charged (bank) is never compensated: no reaction of bank to a cancellation (Voided) emits Returned"
	if !strings.Contains(out.String(), want) {
		t.Fatalf("check said:\n%s\nwant %q", out.String(), want)
	}
}
