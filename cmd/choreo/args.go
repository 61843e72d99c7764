package main

import (
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The command line is written the way Go's flag package and the README have
// always taken it: long flags with one dash (-wait, -timeout 10s), anywhere
// on the line (choreo -o json balance bob, choreo balance bob -o json), and
// negative numbers as arguments (choreo deposit bob -5, which the service
// then refuses with its range error). pflag, under cobra, reads -wait as the
// shorthands -w -a -i -t and -5 as an unknown shorthand, so canonical
// rewrites the line into the form pflag reads unambiguously before cobra
// sees it.

// canonical rewrites args for root: the command path first, then every flag
// in its --name=value form, then the arguments (after "--" if one of them
// starts with a dash). A command with DisableFlagParsing (bench) gets the
// rest of the line verbatim; the flags before its name are returned as
// early, for the caller to parse into root's persistent flags.
func canonical(root *cobra.Command, args []string) (out, early []string) {
	if len(args) > 0 && strings.HasPrefix(args[0], cobra.ShellCompRequestCmd) {
		// Completion: the last word is the one being completed, as typed.
		if len(args) < 2 {
			return args, nil
		}
		mid, _ := canonical(root, args[1:len(args)-1])
		return append(append([]string{args[0]}, mid...), args[len(args)-1]), nil
	}
	cmd := root
	var path, flags, pos []string
	dashed := false // an argument starts with "-"
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case cmd.DisableFlagParsing:
			return append(path, args[i:]...), flags
		case a == "--":
			pos = append(pos, args[i+1:]...)
			dashed = true
			i = len(args)
		case isFlag(cmd, a):
			f, value, ok := splitFlag(cmd, a)
			switch {
			case f == nil && !strings.HasPrefix(a, "--"):
				flags = append(flags, "-"+a) // unknown: pflag names it whole
			case f == nil:
				flags = append(flags, a)
			case ok:
				flags = append(flags, "--"+f.Name+"="+value)
			case f.NoOptDefVal != "":
				flags = append(flags, "--"+f.Name)
			case i+1 < len(args):
				i++
				flags = append(flags, "--"+f.Name+"="+args[i])
			default:
				flags = append(flags, "--"+f.Name) // pflag: needs an argument
			}
		default:
			if sub := subcommand(cmd, a); sub != nil && len(pos) == 0 {
				cmd, path = sub, append(path, a)
				continue
			}
			dashed = dashed || strings.HasPrefix(a, "-")
			pos = append(pos, a)
		}
	}
	if cmd.DisableFlagParsing {
		return path, flags
	}
	out = append(path, flags...)
	if dashed {
		out = append(out, "--")
	}
	return append(out, pos...), nil
}

var number = regexp.MustCompile(`^-[0-9.]`)

// isFlag reports whether a is a flag rather than an argument: it starts
// with a dash, and is not a negative number unless cmd has a shorthand for
// that digit.
func isFlag(cmd *cobra.Command, a string) bool {
	if len(a) < 2 || a[0] != '-' {
		return false
	}
	if number.MatchString(a) {
		return lookupShort(cmd, a[1:2]) != nil
	}
	return true
}

// splitFlag finds the flag a names (-name, --name, -n, with or without
// =value or, for a shorthand, an attached value) and its value if a carries
// one; nil if cmd has no such flag.
func splitFlag(cmd *cobra.Command, a string) (f *pflag.Flag, value string, ok bool) {
	name := strings.TrimLeft(a, "-")
	if k := strings.IndexByte(name, '='); k >= 0 {
		name, value, ok = name[:k], name[k+1:], true
	}
	if f = lookup(cmd, name); f != nil {
		return f, value, ok
	}
	if !strings.HasPrefix(a, "--") && name != "" {
		if f = lookupShort(cmd, name[:1]); f != nil && (len(name) == 1 || f.NoOptDefVal == "") {
			// -o, -o=json, -ojson
			if rest := strings.TrimPrefix(a[2:], "="); rest != "" {
				return f, rest, true
			}
			return f, "", false
		}
	}
	return nil, "", false
}

// lookup finds a long flag of cmd, its own or inherited. help is every
// command's, though cobra adds it only when the command runs.
func lookup(cmd *cobra.Command, name string) *pflag.Flag {
	if len(name) < 2 {
		return nil
	}
	cmd.InitDefaultHelpFlag()
	if f := cmd.Flags().Lookup(name); f != nil {
		return f
	}
	return cmd.InheritedFlags().Lookup(name)
}

func lookupShort(cmd *cobra.Command, short string) *pflag.Flag {
	cmd.InitDefaultHelpFlag()
	if f := cmd.Flags().ShorthandLookup(short); f != nil {
		return f
	}
	return cmd.InheritedFlags().ShorthandLookup(short)
}

func subcommand(cmd *cobra.Command, name string) *cobra.Command {
	for _, sub := range cmd.Commands() {
		if sub.Name() == name || sub.HasAlias(name) {
			return sub
		}
	}
	return nil
}
