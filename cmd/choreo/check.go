package main

import (
	"fmt"
	"path/filepath"

	"github.com/choreo-dev/choreo/shared/saga"
	"github.com/choreo-dev/choreo/stack"
	"github.com/spf13/cobra"
)

func (c *cli) checkCmd() *cobra.Command {
	var procfile string
	var mermaid bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "check the services' saga declarations together",
		Long: `Asks every service of the Procfile for its saga declaration (bin/<service> -describe) and checks
them as one saga: every published event has a consumer or is declared terminal, every failure leads to a
cancellation, and every effect has a compensation that the cancellation reaches. Exits 1 naming each problem.
-mermaid prints the saga as a Mermaid flowchart instead.`,
		Args:              args(0, 0),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			descs, err := stack.Describe(cmd.Context(), procfile, filepath.Dir(procfile))
			if err != nil {
				return err
			}
			if mermaid {
				fmt.Fprint(c.stdout, saga.Mermaid(descs...))
				return nil
			}
			problems := saga.Check(descs...)
			if c.isJSON() {
				if err := c.printJSON(map[string]any{"services": len(descs), "problems": nonNil(problems)}); err != nil {
					return err
				}
			} else {
				for _, p := range problems {
					fmt.Fprintln(c.stdout, p)
				}
				if len(problems) == 0 {
					fmt.Fprintf(c.stdout, "the saga of %d services is sound\n", len(descs))
				}
			}
			if len(problems) > 0 {
				return fmt.Errorf("the saga check found %d problem(s)", len(problems))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&procfile, "procfile", "Procfile", "the Procfile naming the services (their binaries must be built: make build)")
	cmd.Flags().BoolVar(&mermaid, "mermaid", false, "print the saga as a Mermaid flowchart")
	return cmd
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
