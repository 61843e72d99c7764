package main

import (
	"fmt"
	"strconv"

	"github.com/choreo-dev/choreo/client/dlq"
	"github.com/spf13/cobra"
)

func (c *cli) dlqLsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:               "ls [-service S]",
		Aliases:           []string{"list"},
		Short:             "list the dead letters",
		Args:              args(0, 0),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	service := serviceFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := checkService(*service); err != nil {
			return err
		}
		js, err := c.jetStream()
		if err != nil {
			return err
		}
		all, err := dlq.List(cmd.Context(), js, *service, 0)
		if err != nil {
			return dlq.Explain(err)
		}
		letters := []dlq.Letter{}
		rows := [][]string{{"SEQ", "SUBJECT", "ORIGINAL", "DELIVERIES", "TIME", "ERROR"}}
		for _, l := range all {
			letters = append(letters, dlq.View(l))
			rows = append(rows, []string{
				strconv.FormatUint(l.Seq, 10), l.Subject, fmt.Sprintf("%s/%d", l.Stream, l.StreamSeq),
				strconv.FormatUint(l.Deliveries, 10), stamp(l.Time), l.Error,
			})
		}
		return c.show(letters, func() {
			if len(letters) == 0 {
				fmt.Fprintln(c.stdout, "no dead letters")
				return
			}
			table(c.stdout, rows...)
		})
	}
	return cmd
}
