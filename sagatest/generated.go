package sagatest

import (
	"os"
	"strings"
	"testing"
)

// CheckGenerated checks that the block of the file at path between the
// marker lines begin and end is want — a table or diagram generated from
// the declarations and committed in a document. With update it rewrites
// the block instead; otherwise a difference fails the test with how to
// update it.
func CheckGenerated(t testing.TB, path, begin, end, want string, update bool, how string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no generated block (%q … %q)", path, begin, end)
	}
	if s[i+len(begin):j] == want {
		return
	}
	if update {
		if err := os.WriteFile(path, []byte(s[:i+len(begin)]+want+s[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("%s is out of date: %s", path, how)
}
