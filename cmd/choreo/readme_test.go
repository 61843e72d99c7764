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

// readmeCommands returns the bin/choreo command lines of README.md, split
// into words as a shell would: continuation lines joined, comments dropped,
// double quotes removed.
func readmeCommands(t *testing.T) [][]string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var cmds [][]string
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
		quoted, inWord := false, false
		for _, r := range line {
			switch {
			case r == '"':
				quoted, inWord = !quoted, true
			case r == '#' && !quoted && !inWord:
				goto done
			case (r == ' ' || r == '\t') && !quoted:
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
		cmds = append(cmds, words[1:])
	}
	return cmds
}

// TestReadme runs the README's walk-through as written.
func TestReadme(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	cmds := readmeCommands(t)
	if len(cmds) < 10 {
		t.Fatalf("found %d choreo commands in README.md: %q", len(cmds), cmds)
	}
	// A dead letter for the dlq commands: undecodable, so inventory and
	// order give up on it at once, and again after each redrive.
	publish(t, s, "payment.events.PaymentCompleted.readme", "", []byte("not json"))
	var orderID string
	for _, args := range cmds {
		switch args[0] {
		case "watch": // runs until interrupted: TestWatch
			continue
		case "dlq":
			natstest.Eventually(t, wait, s.Quiet)
		}
		for i, a := range args {
			switch a {
			case "ORDER_ID":
				args[i] = orderID
			case "SEQ":
				ls := letters(t, s)
				if len(ls) == 0 {
					t.Fatalf("choreo %q: no dead letter left", args)
				}
				args[i] = strconv.FormatUint(ls[0].Seq, 10)
			}
		}
		out := ok(t, s, args...)
		if args[0] == "place" {
			contains(t, "README place -wait", out, "completed", "gadget x1 @ 25.00")
			orders, err := client.New(s.NC).List(t.Context(), client.ListRequest{CustomerID: "bob"})
			if err != nil || len(orders) != 1 {
				t.Fatalf("bob's orders: %+v, %v", orders, err)
			}
			orderID = orders[0].OrderID
		}
	}
}
