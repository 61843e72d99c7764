package bench

import (
	"io"
	"strings"
	"testing"
)

// TestOutputFlag: -o json (or -output json, or -json) prints the results as
// JSON, as every choreo command does.
func TestOutputFlag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		json bool
		err  string
	}{
		{nil, false, ""},
		{[]string{"-o", "text"}, false, ""},
		{[]string{"-o", "json"}, true, ""},
		{[]string{"--output=json"}, true, ""},
		{[]string{"-json"}, true, ""},
		{[]string{"-o", "json", "-o", "text"}, false, ""},
		{[]string{"-o", "yaml"}, false, `-o must be text or json, not "yaml"`},
	} {
		o, err := parseFlags(tc.args, io.Discard)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseFlags(%q) = %v, want %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || o.JSON != tc.json {
			t.Errorf("parseFlags(%q): JSON %v, %v; want %v", tc.args, o.JSON, err, tc.json)
		}
	}
}
