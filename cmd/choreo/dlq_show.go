package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/choreo-dev/choreo/shared/deadletter"
	"github.com/spf13/cobra"
)

func (c *cli) dlqShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "show SEQ",
		Short:             "print one dead letter's headers and body",
		Args:              args(1, 1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, a []string) error {
			seq, err := parseSeq(a[0])
			if err != nil {
				return err
			}
			js, err := c.jetStream()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), c.timeout)
			defer cancel()
			l, err := deadletter.Get(ctx, js, seq)
			if err != nil {
				return dlqError(err)
			}
			return c.show(toJSON(l), func() { c.printLetter(l) })
		},
	}
}

func (c *cli) printLetter(l deadletter.Letter) {
	fmt.Fprintf(c.stdout, "seq %d  %s  %s\n\n", l.Seq, l.Subject, stamp(l.Time))
	keys := make([]string, 0, len(l.Header))
	for k := range l.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range l.Header[k] {
			if v == "" {
				v = "(none)" // letters written before the consumer left empty ones out
			}
			fmt.Fprintf(c.stdout, "%s: %s\n", k, v)
		}
	}
	fmt.Fprintln(c.stdout)
	var body bytes.Buffer
	if json.Indent(&body, l.Data, "", "  ") != nil {
		body.Reset()
		body.Write(l.Data)
	}
	fmt.Fprintf(c.stdout, "%s\n", body.Bytes())
}
