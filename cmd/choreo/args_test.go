package main

import (
	"io"
	"slices"
	"strings"
	"testing"
)

// TestCanonical checks how command lines are rewritten for pflag: long flags
// with one dash, flags anywhere, negative numbers as arguments.
func TestCanonical(t *testing.T) {
	t.Parallel()
	root := (&cli{stdout: io.Discard, stderr: io.Discard}).root()
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, tc := range []struct {
		in, want, early []string
	}{
		{in: []string{"place", "-customer", "bob", "-item", "g:1:2", "-name", "Bob Smith", "-wait", "-timeout", "10s"},
			want: []string{"place", "--customer=bob", "--item=g:1:2", "--name=Bob Smith", "--wait", "--timeout=10s"}},
		{in: []string{"-o", "json", "balance", "bob"}, want: []string{"balance", "--output=json", "bob"}},
		{in: []string{"balance", "bob", "-o", "json"}, want: []string{"balance", "--output=json", "bob"}},
		{in: []string{"balance", "-ojson", "bob"}, want: []string{"balance", "--output=json", "bob"}},
		{in: []string{"-o=json", "balance", "bob"}, want: []string{"balance", "--output=json", "bob"}},
		{in: []string{"--output", "json", "balance", "bob"}, want: []string{"balance", "--output=json", "bob"}},
		{in: []string{"-json", "balance", "bob"}, want: []string{"balance", "--json", "bob"}},
		{in: []string{"-s", "nats://x:1", "-server=nats://y:2", "get", "X"}, want: []string{"get", "--server=nats://x:1", "--server=nats://y:2", "X"}},
		{in: []string{"deposit", "bob", "-5"}, want: []string{"deposit", "--", "bob", "-5"}},
		{in: []string{"deposit", "bob", "-5", "-o", "json"}, want: []string{"deposit", "--output=json", "--", "bob", "-5"}},
		{in: []string{"restock", "sku", "--", "-3"}, want: []string{"restock", "--", "sku", "-3"}},
		{in: []string{"cancel", "X", "-reason", "-late-"}, want: []string{"cancel", "--reason=-late-", "X"}},
		{in: []string{"cancel", "X", "-bogus"}, want: []string{"cancel", "--bogus", "X"}},
		{in: []string{"cancel", "X", "-reason"}, want: []string{"cancel", "--reason", "X"}},
		{in: []string{"get", "list"}, want: []string{"get", "list"}},
		{in: []string{"help", "dlq"}, want: []string{"help", "dlq"}},
		{in: []string{"place", "-h"}, want: []string{"place", "--help"}},
		{in: []string{"place", "-help"}, want: []string{"place", "--help"}},
		{in: []string{"dlq", "redrive", "-all", "-service", "payment"}, want: []string{"dlq", "redrive", "--all", "--service=payment"}},
		{in: []string{"dlq", "purge", "3", "-yes"}, want: []string{"dlq", "purge", "--yes", "3"}},
		{in: []string{"dlq", "list"}, want: []string{"dlq", "list"}},
		{in: []string{"-timeout", "1s", "bench", "-duration", "5s", "-o", "json"},
			want: []string{"bench", "-duration", "5s", "-o", "json"}, early: []string{"--timeout=1s"}},
		{in: []string{"-o", "json", "bench"}, want: []string{"bench"}, early: []string{"--output=json"}},
		{in: []string{"__complete", "place", "-customer", "bob", "-wa"}, want: []string{"__complete", "place", "--customer=bob", "-wa"}},
	} {
		got, early := canonical(root, tc.in)
		if !slices.Equal(got, tc.want) || !slices.Equal(early, tc.early) {
			t.Errorf("canonical(%q) = %q, %q; want %q, %q", tc.in, got, early, tc.want, tc.early)
		}
	}
}

// TestCompletion checks the completion scripts and what they complete.
func TestCompletion(t *testing.T) {
	t.Parallel()
	contains(t, "completion bash", ok(t, nil, "completion", "bash"), "__start_choreo", "__complete")
	contains(t, "completion zsh", ok(t, nil, "completion", "zsh"), "#compdef choreo", "__complete")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{""}, []string{"deposit", "place", "dlq", "watch", "completion"}},
		{[]string{"dlq", ""}, []string{"ls", "show", "redrive", "purge"}},
		{[]string{"place", "--wa"}, []string{"--wait"}},
		{[]string{"place", "-customer", "bob", "-item", "g:1:2", "--"}, []string{"--wait", "--country", "--output"}},
		{[]string{"dlq", "ls", "--service", ""}, []string{"order", "payment", "inventory", "shipping"}},
		{[]string{"balance", "-o", ""}, []string{"text", "json"}},
		{[]string{"list", "--status", ""}, []string{"pending", "completed", "cancelled"}},
	} {
		out := ok(t, nil, append([]string{"__complete"}, tc.args...)...)
		var words []string
		for _, line := range strings.Split(out, "\n") {
			words = append(words, strings.SplitN(line, "\t", 2)[0])
		}
		for _, w := range tc.want {
			if !slices.Contains(words, w) {
				t.Errorf("completing %q: no %q in\n%s", tc.args, w, out)
			}
		}
	}
}
