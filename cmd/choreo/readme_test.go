package main

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/natstest"
)

// readmeCmd is a bin/choreo command line of README.md: its words as a shell
// would split them, and, when the line after it is a comment showing an
// error ("# choreo: invalid_argument (400): …"), the error it must fail
// with.
type readmeCmd struct {
	args    []string
	wantErr string
}

// readmeCommands returns the bin/choreo command lines of README.md:
// continuation lines joined, comments dropped, quotes removed.
func readmeCommands(t *testing.T) []readmeCmd {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var cmds []readmeCmd
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if !strings.HasPrefix(line, "bin/choreo ") {
			continue
		}
		for strings.HasSuffix(strings.TrimSpace(line), `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(strings.TrimSpace(line), `\`) + " " + lines[i]
		}
		var words []string
		var word strings.Builder
		var quote rune // the quote a quoted part opened with, 0 outside
		inWord := false
		for _, r := range line {
			switch {
			case quote == 0 && (r == '"' || r == '\''):
				quote, inWord = r, true
			case r == quote:
				quote = 0
			case r == '#' && quote == 0 && !inWord:
				goto done
			case (r == ' ' || r == '\t') && quote == 0:
				if inWord {
					words, inWord = append(words, word.String()), false
					word.Reset()
				}
			default:
				word.WriteRune(r)
				inWord = true
			}
		}
	done:
		if inWord {
			words = append(words, word.String())
		}
		c := readmeCmd{args: words[1:]}
		if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "# choreo: ") {
			c.wantErr = strings.TrimPrefix(lines[i+1], "# ")
		}
		cmds = append(cmds, c)
	}
	return cmds
}

// TestReadme runs the README's walk-through as written: every command
// succeeds, but those shown failing, which fail with the error shown.
func TestReadme(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	cmds := readmeCommands(t)
	if len(cmds) < 10 {
		t.Fatalf("found %d choreo commands in README.md: %q", len(cmds), cmds)
	}
	failing := 0
	for _, c := range cmds {
		args := c.args
		switch args[0] {
		case "watch": // runs until interrupted: TestWatch
			continue
		case "dlq":
			natstest.Eventually(t, wait, s.Quiet)
		}
		for i, a := range args {
			switch a {
			case "ORDER_ID":
				args[i] = "order-1"
			case "SEQ":
				ls := letters(t, s)
				if len(ls) == 0 {
					t.Fatalf("choreo %q: no dead letter left", args)
				}
				args[i] = strconv.FormatUint(ls[0].Seq, 10)
			}
		}
		if c.wantErr != "" {
			failing++
			r := choreo(t, s, args...)
			if r.code != 1 || !strings.Contains(r.err, c.wantErr) {
				t.Errorf("choreo %q: exit %d, stderr %q; README shows it failing with %q", args, r.code, r.err, c.wantErr)
			}
			continue
		}
		out := ok(t, s, args...)
		if args[0] == "place" {
			contains(t, "README place -wait", out, "order-")
		}
	}
	if failing == 0 {
		t.Error("README shows no command failing: the bad-input examples are gone, or no longer recognised")
	}
	// The walk-through's two orders ended as it says.
	for id, want := range map[string]string{"order-1": "completed", "order-2": "cancelled"} {
		v, err := client.New(s.NC).Get(t.Context(), id)
		if err != nil || v.Status != want {
			t.Errorf("%s: %+v, %v; README says %s", id, v, err, want)
		}
	}
}
