package main

import (
	"context"
	"fmt"

	"github.com/choreo-dev/choreo/shared/deadletter"
	"github.com/spf13/cobra"
)

// redriven is one republished letter as -o json prints it.
type redriven struct {
	Seq       uint64 `json:"seq"`
	Subject   string `json:"subject"`
	MsgID     string `json:"msg_id"`
	Stream    string `json:"stream"`
	StreamSeq uint64 `json:"stream_seq"`
	Duplicate bool   `json:"duplicate"`
}

func (c *cli) dlqRedriveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:               "redrive SEQ|-all [-service S]",
		Short:             "republish dead letters on their original subjects, then delete them",
		Long:              "See choreo help dlq.",
		Args:              args(0, 1),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	sel := newSelection(cmd)
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		seq, err := sel.seq(cmd, a)
		if err != nil {
			return err
		}
		js, err := c.jetStream()
		if err != nil {
			return err
		}
		done := []redriven{}
		err = c.eachLetter(cmd.Context(), js, seq, *sel.service, func(ctx context.Context, l deadletter.Letter) error {
			ack, err := deadletter.Redrive(ctx, js, l)
			if err != nil {
				return err
			}
			r := redriven{l.Seq, l.OriginalSubject, l.RedriveMsgID(), ack.Stream, ack.Sequence, ack.Duplicate}
			done = append(done, r)
			if !c.isJSON() {
				dup := ""
				if r.Duplicate {
					dup = ", already republished: the duplicate was dropped"
				}
				fmt.Fprintf(c.stdout, "redriven %d: %s -> %s/%d (Nats-Msg-Id %s%s)\n", r.Seq, r.Subject, r.Stream, r.StreamSeq, r.MsgID, dup)
			}
			return nil
		})
		switch {
		case c.isJSON():
			if jerr := c.printJSON(done); err == nil {
				err = jerr
			}
		case seq == 0:
			fmt.Fprintf(c.stdout, "%d dead letter(s) redriven\n", len(done))
		}
		return err
	}
	return cmd
}
